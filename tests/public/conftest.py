"""A small published world with one draft of each kind, for the public pages' tests."""

import pytest

from partners.models import Partner
from projects.models import Activity, Citation, Field, Program, Source
from tests.conftest import make_project


@pytest.fixture
def site(db):
    """Two published partners and a draft one; two fields; two programs; three published
    projects and a draft one (whose title must never reach a public page)."""
    source = Source.objects.create(slug="nids-2015", title="Japan's Security Cooperation with ASEAN", year=2015)
    vn = Partner.objects.create(
        name="Vietnam", name_ja="ベトナム", slug="vietnam", country="VN", region="southeast_asia", asean_member=True
    )
    ph = Partner.objects.create(
        name="Philippines",
        name_ja="フィリピン",
        slug="philippines",
        country="PH",
        region="southeast_asia",
        asean_member=True,
    )
    png = Partner.objects.create(
        name="Papua New Guinea", name_ja="パプアニューギニア", slug="png", country="PG", region="oceania"
    )
    hidden = Partner.objects.create(
        name="Hidden Partner Force",
        slug="hidden-partner",
        country="KH",
        region="southeast_asia",
        asean_member=True,
        publication_state="draft",
    )
    hadr = Field.objects.create(name="HA/DR", name_ja="人道支援・災害救援", slug="ha-dr")
    medicine = Field.objects.create(name="Underwater medicine", name_ja="潜水医学", slug="underwater-medicine")
    cba = Program.objects.create(name="Capacity building assistance", name_ja="能力構築支援", slug="cba")
    vv = Program.objects.create(name="Vientiane Vision", name_ja="ビエンチャン・ビジョン", slug="vientiane-vision")

    vn_medicine = make_project("vn-medicine", "Vietnam: underwater medicine", cba, [vn], [medicine], 2012, 2015)
    seminar = make_project(
        "hadr-seminar", "Joint HA/DR seminar", cba, [vn, ph, hidden], [hadr], 2016, 2016, cooperating_countries=["GB"]
    )
    balikatan = make_project("balikatan", "Balikatan", vv, [ph], [hadr], 2017, None, status="ongoing", as_of=2020)
    band = make_project("png-band", "Military band training", cba, [png], [], 2018, 2019)
    draft = make_project("secret-draft", "Secret draft plan", cba, [vn], [hadr, medicine], 2021, None, published=False)

    Citation.objects.create(
        source=source, section="Table", excerpt="Vietnam Underwater medicine (2012-5)", project=vn_medicine
    )
    Citation.objects.create(source=source, section="Partners", excerpt="Vietnam, an ASEAN member", partner=vn)
    activity = Activity.objects.create(
        project=vn_medicine,
        title="Diving medicine seminar in Hanoi",
        kind=Activity.Kind.SEMINAR,
        year=2013,
        month=3,
        day=5,
        location="Hanoi",
    )
    Citation.objects.create(
        source=source, section="Activities", excerpt="a seminar in Hanoi in March 2013", activity=activity
    )
    Activity.objects.create(project=vn_medicine, title="First survey", kind=Activity.Kind.DIALOGUE, year=2012)
    Activity.objects.create(project=draft, title="Secret draft activity", kind=Activity.Kind.SEMINAR, year=2021)
    return {
        "source": source,
        "vn": vn,
        "ph": ph,
        "png": png,
        "hidden": hidden,
        "hadr": hadr,
        "medicine": medicine,
        "cba": cba,
        "vv": vv,
        "vn_medicine": vn_medicine,
        "seminar": seminar,
        "balikatan": balikatan,
        "band": band,
        "draft": draft,
    }
