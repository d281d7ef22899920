"""Need-to-know, proved on every surface: a generated leak matrix.

A world of records of every releasability (public, releasable to partner A, to partner
B, internal) and publication state (published, draft, in review), of every kind that
carries one (partner, project, activity, status report, citation), beside a public
control. Each audience (anonymous, the liaison officers of A and of B, a viewer, an
editor, a reviewer) walks every
public page and every API endpoint, found from the URL resolver, in English and
Japanese, with the real slugs and ids of every record, searches naming each record,
filters, CSV, IATI, the sitemap and error pages. What an audience may see is worked out
here from the rule as the README states it (`may_see`), not from the code under test;
every text, slug and id of every record it may not see must be absent from every
response (none listed by hand), and what it may see must be there (the controls). Side
channels too: list counts, report totals, the partner page's count, the home page's
figures, a 404 (never a 403) for a record one may not see, JSON ETags that do not move
when a hidden record is written, and the project's derived status and years."""

import dataclasses
import itertools

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from core.models import Releasability
from partners.models import Partner
from projects.models import Activity, Citation, Field, Program, Project, StatusReport
from tests.conftest import make_liaison
from tests.fuzz.site import api_routes, body, public_routes, urls_for

pytestmark = pytest.mark.django_db

PUBLIC, PARTNERS, INTERNAL = Releasability.PUBLIC, Releasability.PARTNERS, Releasability.INTERNAL
# The ways a record may be released: (releasability, the partners it names).
RELEASES = {"pub": (PUBLIC, ()), "relA": (PARTNERS, ("A",)), "relB": (PARTNERS, ("B",)), "int": (INTERNAL, ())}
AUDIENCES = ("anonymous", "liaison_a", "liaison_b", "viewer", "editor", "reviewer")
STAFF = {"viewer", "editor", "reviewer"}
STATES = ("published", "draft", "in_review")
STAFF_NOTE = "Quokkanote staff only remark"


@dataclasses.dataclass
class Record:
    """A record of the world and what it must never show to whoever may not see it."""

    kind: str
    token: str  # a made-up word in its title or text, found nowhere else
    slug: str
    pk: int
    release: str  # a key of RELEASES
    state: str  # a publication state (its parent's, for a part)
    parent: "Record | None" = None

    def pages(self):
        """The record's own page on the public site, which staff may preview."""
        if self.kind == "project":
            return {f"/projects/{self.slug}/", f"/ja/projects/{self.slug}/"}
        if self.kind == "partner":
            return {f"/partners/{self.slug}/", f"/ja/partners/{self.slug}/"}
        return set()

    def secrets(self):
        found = {f"{self.kind} {self.token} token": self.token, f"{self.kind} {self.token} id": str(self.pk)}
        if self.slug:
            found[f"{self.kind} {self.token} slug"] = self.slug
        return found


def _released(record, audience) -> bool:
    releasability, names = RELEASES[record.release]
    if releasability == PUBLIC:
        return True
    if releasability == INTERNAL:
        return False
    return audience in {f"liaison_{name.lower()}" for name in names}


def may_see(audience, record, *, on_site) -> bool:
    """The README's rule: staff see everything through the API and, on the public pages,
    what the public sees; a liaison officer of P sees the published records that are
    public or releasable to P; everyone else the published public records. A record is
    never wider than its parent."""
    if audience in STAFF and not on_site:
        return True
    reader = "anonymous" if audience in STAFF else audience
    chain = []
    while record is not None:
        chain.append(record)
        record = record.parent
    return all(r.state == "published" and _released(r, reader) for r in chain)


# Eight-digit ids, which no timestamp in a body can hold.
_ids = itertools.count(97_531_001)


def _world(source):
    program = Program.objects.create(name="Capacity building assistance", slug="capacity-building", start_year=2012)
    field = Field.objects.create(name="HA/DR", slug="ha-dr")
    alpha = Partner.objects.create(name="Alphaland", slug="alphaland", country="TH", region="southeast_asia")
    bravo = Partner.objects.create(name="Bravoland", slug="bravoland", country="MY", region="southeast_asia")
    named = {"A": alpha.pk, "B": bravo.pk}
    records = []

    def release(key):
        releasability, names = RELEASES[key]
        return {"releasability": releasability, "releasable_to": [named[n] for n in names]}

    control = Project.objects.create(
        title="Open seminars for Alphaland", slug="open-seminars", program=program, start_year=2013, end_year=2016,
        publication_state="published", description="Public control project", staff_note=STAFF_NOTE,
    )  # fmt: skip
    control.partners.set([alpha, bravo])
    control.fields.set([field])
    StatusReport.objects.create(project=control, status="ongoing", year=2014)
    Citation.objects.create(source=source, section="Table", excerpt="Open seminar passage", project=control)
    parent = Record("project", "Opencontrol", "open-seminars", control.pk, "pub", "published")

    words = iter(
        "Wombat Narwhal Axolotl Pangolin Tapir Okapi Gharial Saola Fossa Dhole Kinkajou Margay Numbat Quoll "  # noqa: SIM905
        "Binturong Caracal Jerboa Tarsier Zorilla Bongo Serval Vaquita Olingo Babirusa Quetzal Hoatzin".split()
    )
    for key, state in itertools.product(RELEASES, STATES):
        if key == "pub" and state == "published":
            continue  # the control
        word = next(words)
        pk = next(_ids)
        project = Project.objects.create(
            pk=pk, title=f"{word} cooperation", slug=f"{word.lower()}-cooperation", program=program,
            start_year=2015, end_year=2017, publication_state=state, description=f"{word} description",
            **release(key),
        )  # fmt: skip
        project.partners.set([alpha])
        project.fields.set([field])
        records.append(Record("project", word, project.slug, pk, key, state))
    for key in ("relA", "relB", "int"):
        word = next(words)
        pk = next(_ids)
        Activity.objects.create(
            pk=pk, project=control, title=f"{word} workshop", slug=f"{word.lower()}-workshop", kind="seminar",
            year=2014, location=f"{word} base", **release(key),
        )  # fmt: skip
        records.append(Record("activity", word, f"{word.lower()}-workshop", pk, key, "published", parent))
        pk = next(_ids)  # a report has no text of its own the public would see: its id is its token
        StatusReport.objects.create(pk=pk, project=control, status="suspended", year=2016, **release(key))
        records.append(Record("status report", str(pk), "", pk, key, "published", parent))
        word = next(words)
        pk = next(_ids)
        Citation.objects.create(
            pk=pk, source=source, section="Table", excerpt=f"{word} passage", project=control, **release(key)
        )
        records.append(Record("citation", word, "", pk, key, "published", parent))
        word = next(words)
        pk = next(_ids)
        partner = Partner.objects.create(
            pk=pk, name=f"{word} Command", name_ja=f"{word}司令部", slug=f"{word.lower()}-command", country="PH",
            region="southeast_asia", description=f"{word} unit", **release(key),
        )  # fmt: skip
        control.partners.add(partner)
        records.append(Record("partner", word, partner.slug, pk, key, "published"))
    for state in ("draft", "in_review"):  # public partners not yet published
        word = next(words)
        pk = next(_ids)
        partner = Partner.objects.create(
            pk=pk, name=f"{word} Command", name_ja=f"{word}司令部", slug=f"{word.lower()}-command", country="PH",
            region="southeast_asia", description=f"{word} unit", publication_state=state,
        )  # fmt: skip
        control.partners.add(partner)
        records.append(Record("partner", word, partner.slug, pk, "pub", state))
    Project.objects.get(pk=control.pk).refresh_latest()
    return {"records": records, "control": control, "alpha": alpha, "bravo": bravo}


@pytest.fixture
def world(source):
    return _world(source)


@pytest.fixture
def clients(world, viewer, editor, reviewer):
    def logged_in(user):
        client = APIClient()
        client.force_login(user)
        return client

    return {
        "anonymous": APIClient(),
        "liaison_a": logged_in(make_liaison("lia", [world["alpha"]])),
        "liaison_b": logged_in(make_liaison("lib", [world["bravo"]])),
        "viewer": logged_in(viewer),
        "editor": logged_in(editor),
        "reviewer": logged_in(reviewer),
    }


def _requests(records, *, api=True):
    """Every (url, headers) of the walk: each route with every real value of its
    parameters (the hidden records' slugs and ids included), lists probed with searches
    and filters naming each record. `api`: the API's routes too (staff read everything
    there, so their walk is of the pages; the counts test reads their API)."""
    probes = [{"q": r.token} for r in records] + [{"partner": r.slug} for r in records if r.kind == "partner"]
    probes += [{"project": r.slug} for r in records if r.kind == "project"] + [{"page_size": "500"}]
    # Every ordering, each way, and the cursor pages (a keyset that must not skip to a hidden row).
    orderings = ("title", "start_year", "end_year", "status", "updated")
    probes += [{"ordering": f"{sign}{key}", "page_size": "2"} for key in orderings for sign in ("", "-")]
    probes += [{"cursor": "", "page_size": "2"}]
    reports = [{"group_by": g} for g in ("partner", "country", "field", "program", "status", "year")]
    extra = {"slug": [r.slug for r in records if r.slug], "pk": [str(r.pk) for r in records]}
    walk = []
    for route in public_routes():
        for url in urls_for(route, extra):
            walk.append((url, ()))
            if not route.params:
                walk += [(f"{url}?{_query(p)}", ()) for p in probes]
    for route in api_routes() if api else []:
        for url in urls_for(route, extra):
            walk += [(url, ()), (url, (("HTTP_ACCEPT", "text/csv"),))]
            if not route.params:
                asked = [*probes, {"format": "csv"}, *(reports if "report" in route.name else [])]
                walk += [(f"{url}{'&' if '?' in url else '?'}{_query(p)}", ()) for p in asked]
    walk += [(url, ()) for url in ("/no-such-page/", "/ja/no-such-page/", "/api/v1/no-such-endpoint/")]
    return list(dict.fromkeys(walk))


def _query(params):
    return "&".join(f"{k}={v}" for k, v in params.items())


def _forbidden(audience, records, *, on_site):
    """{what: secret} the audience may not be shown, and for each the pages where it may
    be after all (staff previewing the record's own page)."""
    secrets = {}
    for record in records:
        if not may_see(audience, record, on_site=on_site):
            previews = record.pages() if audience in STAFF and on_site else set()
            secrets.update({what: (secret, previews) for what, secret in record.secrets().items()})
    if audience not in STAFF or on_site:
        secrets["staff note"] = (STAFF_NOTE, set())
    return secrets


@pytest.mark.parametrize("audience", AUDIENCES)
def test_no_audience_sees_what_it_may_not_anywhere(world, clients, audience):
    client, records = clients[audience], world["records"]
    walk = _requests(records, api=audience not in STAFF)
    on_site, in_api = _forbidden(audience, records, on_site=True), _forbidden(audience, records, on_site=False)
    cache.clear()
    leaks, errors, seen = [], [], set()
    for url, headers in walk:
        response = client.get(url, **dict(headers))
        if response.status_code >= 500:
            errors.append(f"{url}: {response.status_code}")
            continue
        text = body(response)
        secrets = in_api if url.startswith("/api/") else on_site
        for what, (secret, previews) in secrets.items():
            if secret in url or url in previews:
                continue  # a page may echo what it was asked (a search term, a 404's path)
            if secret in text:
                at = text.index(secret)
                leaks.append(f"{what} in {url} ({response.status_code}): …{text[max(at - 60, 0) : at + 60]}…")
        seen.update(r.token for r in records if r.token in text)
    assert not errors, "\n".join(errors)
    assert not leaks, f"{len(leaks)} leaks:\n" + "\n".join(leaks[:40])
    # The controls: the walk was wide, and every record this audience may see was shown
    # to it somewhere (so a rule that hid everything would fail).
    assert len(walk) > 300
    expected = {r.token for r in records if may_see(audience, r, on_site=audience in STAFF)}
    assert expected - seen == set(), f"{audience} was never shown {sorted(expected - seen)}"


@pytest.mark.parametrize("audience", AUDIENCES)
def test_counts_and_totals_count_only_what_the_audience_may_see(world, clients, audience):
    client, records = clients[audience], world["records"]
    projects = [r for r in records if r.kind == "project"]
    visible = {r.slug for r in projects if may_see(audience, r, on_site=False)} | {"open-seminars"}
    answer = client.get("/api/v1/projects/", {"page_size": 500}).json()
    assert answer["count"] == len(visible)
    assert {p["slug"] for p in answer["results"]} == visible
    counts = client.get("/api/v1/reports/counts/", {"group_by": "partner"}).json()
    alpha = next(row for row in counts["results"] if row["partner"] == "alphaland")
    assert alpha["count"] == len(visible)  # every project of the world has Alphaland
    # Every project of the world is active in 2015 (the control from 2013 to 2016 too).
    years = client.get("/api/v1/reports/counts/", {"group_by": "year"}).json()["results"]
    assert {row["year"]: row["count"] for row in years}[2015] == len(visible)
    timeline = client.get("/api/v1/reports/timeline/").json()
    assert {row["year"]: row["total"] for row in timeline["rows"]}[2015] == len(visible)
    # The cursor pages give every visible project once, and nothing else.
    seen, url = [], "/api/v1/projects/?cursor=&page_size=2"
    while url:
        page = client.get(url).json()
        seen += [p["slug"] for p in page["results"]]
        url = page["next"]
    assert sorted(seen) == sorted(visible)
    # A detail is a 404 (not a 403) for a record the audience may not see.
    for record in projects:
        status = client.get(f"/api/v1/projects/{record.slug}/").status_code
        assert status == (200 if may_see(audience, record, on_site=False) else 404), record
        page = client.get(f"/projects/{record.slug}/")
        previewed = audience in STAFF and not may_see(audience, record, on_site=True)
        assert page.status_code == (200 if may_see(audience, record, on_site=True) or previewed else 404), record
        # Staff preview what the public cannot see, told so, and no cache keeps the page.
        assert ("Preview for staff" in page.content.decode()) == previewed, record
        assert ("no-store" in page.get("Cache-Control", "")) == previewed, record
    # The pages: the partner page's count and the home page's figures.
    on_site = {r.slug for r in projects if may_see(audience, r, on_site=True)} | {"open-seminars"}
    page = client.get("/partners/alphaland/")
    assert len(page.context["projects"]) == len(on_site)
    assert client.get("/").context["headline"]["projects"] == len(on_site)
    # The list page's partner filter takes exactly the partners the reader may see there
    # (a liaison's releasable partner too), and offers them.
    for record in records:
        if record.kind == "partner":
            shown = may_see(audience, record, on_site=True)
            listed = client.get("/projects/", {"partner": record.slug})
            assert listed.status_code == (200 if shown else 400), record
            offered = {o["value"] for o in listed.context["options"]["partner"]}
            assert (record.slug in offered) == shown, record
    # Nested lists: the control project's activities, reports and citations.
    control = client.get("/api/v1/projects/open-seminars/").json()
    shown_activities = {a["slug"] for a in client.get("/api/v1/activities/", {"page_size": 500}).json()["results"]}
    for record in records:
        if record.kind == "activity":
            titles = {a["title"] for a in control["activities"]}
            assert (f"{record.token} workshop" in titles) == may_see(audience, record, on_site=False)
            assert (record.slug in shown_activities) == may_see(audience, record, on_site=False)
        if record.kind == "citation":
            excerpts = {c["excerpt"] for c in control["citations"]}
            assert (f"{record.token} passage" in excerpts) == may_see(audience, record, on_site=False)


def test_the_derived_status_and_years_tell_nothing_of_a_hidden_report(world, clients):
    """The control project's latest reports (2016, "suspended") are all releasable to
    partners or internal: its status, for everyone who sees the project, is its latest
    public report's (ongoing, as of 2014), and its years do not reach past what is public."""
    for audience in AUDIENCES:
        control = clients[audience].get("/api/v1/projects/open-seminars/").json()
        assert (control["status"], control["status_as_of"]) == ("ongoing", "2014"), audience
        assert control["active_until"] == 2016


def test_a_hidden_record_written_moves_no_anonymous_json_etag(world, clients, source):
    """The anonymous lists' and details' ETags are digests of their bytes: writing a
    record the public may not see (a new internal project, a change to one releasable to
    partners) leaves every one of them as it was."""
    client = clients["anonymous"]
    urls = [
        "/api/v1/projects/", "/api/v1/projects/open-seminars/", "/api/v1/partners/", "/api/v1/activities/",
        "/api/v1/status-reports/", "/api/v1/reports/counts/?group_by=partner", "/api/v1/reports/matrix/",
        "/api/v1/reports/timeline/",
    ]  # fmt: skip
    before = {url: client.get(url)["ETag"] for url in urls}
    hidden = Project.objects.create(
        title="Ocelot plan", slug="ocelot-plan", program=world["control"].program, start_year=2015,
        publication_state="published",
        releasability=INTERNAL,
    )  # fmt: skip
    hidden.partners.set([world["alpha"]])
    Activity.objects.create(
        project=world["control"], title="Ocelot drill", kind="seminar", year=2015, releasability=INTERNAL
    )
    released = Project.objects.get(slug="wombat-cooperation")
    released.title = "Wombat cooperation renamed"
    released.save()
    cache.clear()
    assert {url: client.get(url)["ETag"] for url in urls} == before
