"""Data shared by the filterset, selector, API and public-page tests of projects."""

import pytest

from partners.models import Partner
from projects.models import Field, Program
from tests.conftest import make_project


@pytest.fixture
def world(db):
    """Three partners, three fields, two programs and four projects."""
    vn = Partner.objects.create(
        name="Vietnam", slug="vietnam", country="VN", region="southeast_asia", asean_member=True
    )
    ph = Partner.objects.create(
        name="Philippines", slug="philippines", country="PH", region="southeast_asia", asean_member=True
    )
    png = Partner.objects.create(
        name="Papua New Guinea", name_ja="パプアニューギニア", slug="png", country="PG", region="oceania"
    )
    hadr = Field.objects.create(name="HA/DR", slug="ha-dr")
    medicine = Field.objects.create(name="Underwater medicine", slug="underwater-medicine")
    band = Field.objects.create(name="Military band", slug="military-band")
    cba = Program.objects.create(name="Capacity building assistance", slug="capacity-building-assistance")
    vv = Program.objects.create(name="Vientiane Vision", slug="vientiane-vision")

    return {
        "vn_medicine": make_project("vn-medicine", "Underwater medicine", cba, [vn], [medicine], 2012, 2015),
        "vn_ph_hadr": make_project(
            "hadr-seminar", "Joint HA/DR seminar", cba, [vn, ph], [hadr], 2016, 2016, cooperating_countries=["GB"]
        ),
        "png_band": make_project("png-band", "Military band", cba, [png], [band], 2018, 2018),
        "balikatan": make_project(
            "balikatan",
            "Balikatan",
            vv,
            [ph],
            [hadr],
            2017,
            None,
            status="ongoing",
            as_of=2020,
            cooperating_countries=["US", "AU"],
        ),  # fmt: skip
    }
