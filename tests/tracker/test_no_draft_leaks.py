"""Drafts (and records in review) reach nobody who may not see them: an anonymous visitor walks every public URL
and every API endpoint, found from the URL resolver (so pages added later are walked
too), in English and Japanese, with the real slugs and ids of published and draft
records, searches and filters naming the drafts, CSV, IATI, the sitemap and 404 pages,
and no draft's title, name, slug, id or text appears in any response."""

import pytest
from django.core.cache import cache

from partners.models import Partner
from projects.models import Activity, Citation, Field, Program, Project
from tests.fuzz.site import api_routes, body, public_routes, urls_for

pytestmark = pytest.mark.django_db

# Distinctive ids, so that an id in a body is this record's and nothing else's: eight
# digits, which no timestamp in a body can hold (six-digit ids matched the microseconds
# of a response's own datetime, .987654, once in a CI run).
DRAFT_PROJECT_ID, DRAFT_ACTIVITY_ID, DRAFT_CITATION_ID, DRAFT_PARTNER_ID = 98765401, 98765402, 98765403, 98765404
REVIEW_PROJECT_ID = 98765405

# What a draft must never show: every text of the draft records, and their ids.
SECRETS = {
    "draft project title": "Kestrel Contingency Plan",
    "draft project slug": "kestrel-contingency-plan",
    "draft project id": str(DRAFT_PROJECT_ID),
    "draft project description": "Undisclosed Nightjar arrangements",
    "draft activity title": "Nightjar Covert Seminar",
    "draft activity slug": "nightjar-covert-seminar",
    "draft activity id": str(DRAFT_ACTIVITY_ID),
    "draft activity location": "Hidden Cove Base",
    "draft citation excerpt": "Passage on the Kestrel contingency",
    "draft citation id": str(DRAFT_CITATION_ID),
    "draft partner name": "Osprey Reserve Flotilla",
    "draft partner Japanese name": "オスプレイ予備艦隊",
    "draft partner slug": "osprey-reserve-flotilla",
    "draft partner id": str(DRAFT_PARTNER_ID),
    "draft partner description": "Partner not yet announced",
    "review project title": "Harrier Awaiting Approval",
    "review project slug": "harrier-awaiting-approval",
    "review project id": str(REVIEW_PROJECT_ID),
    "review project description": "Submitted Lapwing programme",
}

# Searches and filters that name the drafts by a word of their titles (not the whole
# title: a page may echo the search term, and that is not a leak).
PROBES = [
    {"q": "Kestrel"},
    {"q": "Nightjar"},
    {"q": "Osprey"},
    {"q": "Harrier"},
    {"project": "harrier-awaiting-approval"},
    {"publication_state": "in_review"},
    {"publication_state": "draft"},
    {"search": "Kestrel"},
    {"partner": "osprey-reserve-flotilla"},
    {"project": "kestrel-contingency-plan"},
    {"published": "false"},
    {"page_size": "500"},
    {"status": "planned"},
]
API_PROBES = [{"format": "csv"}, {"format": "json"}]
REPORT_PROBES = [{"group_by": g} for g in ("partner", "country", "field", "program", "status", "year")]
NOT_FOUND = ["/no-such-page/", "/ja/no-such-page/", "/api/v1/no-such-endpoint/", "/projects/no-such-project/"]


@pytest.fixture
def published_and_drafts(source):
    """A small published world, and drafts of every kind beside it: a draft project with
    its activity and citations, and a draft partner of the draft project."""
    program = Program.objects.create(name="Capacity building assistance", slug="capacity-building", start_year=2012)
    field = Field.objects.create(name="HA/DR", slug="ha-dr")
    vietnam = Partner.objects.create(name="Vietnam", slug="vietnam", country="VN", region="southeast_asia")
    hidden = Partner.objects.create(
        pk=DRAFT_PARTNER_ID,
        name=SECRETS["draft partner name"],
        name_ja=SECRETS["draft partner Japanese name"],
        slug=SECRETS["draft partner slug"],
        country="PH",
        region="southeast_asia",
        description=SECRETS["draft partner description"],
        publication_state="draft",
    )
    published = Project.objects.create(
        title="HA/DR seminars for Vietnam", slug="hadr-vietnam", program=program, start_year=2013, end_year=2015,
        status="completed", publication_state="published",
    )  # fmt: skip
    published.partners.set([vietnam])
    published.fields.set([field])
    Citation.objects.create(source=source, section="Table", excerpt="HA/DR seminar (2014)", project=published)
    seminar = Activity.objects.create(project=published, title="HA/DR seminar", kind="seminar", year=2014)
    Citation.objects.create(source=source, section="Table", excerpt="seminar", activity=seminar)

    draft = Project.objects.create(
        pk=DRAFT_PROJECT_ID,
        title=SECRETS["draft project title"],
        slug=SECRETS["draft project slug"],
        description=SECRETS["draft project description"],
        program=program,
        start_year=2021,
        status="planned",
        publication_state="draft",
    )
    draft.partners.set([vietnam, hidden])
    draft.fields.set([field])
    activity = Activity.objects.create(
        pk=DRAFT_ACTIVITY_ID,
        project=draft,
        title=SECRETS["draft activity title"],
        slug=SECRETS["draft activity slug"],
        kind="seminar",
        year=2021,
        location=SECRETS["draft activity location"],
    )
    Citation.objects.create(
        pk=DRAFT_CITATION_ID, source=source, section="Plans", excerpt=SECRETS["draft citation excerpt"], project=draft
    )
    Citation.objects.create(source=source, section="Plans", excerpt="Kestrel activity passage", activity=activity)
    Citation.objects.create(source=source, section="Plans", excerpt="Osprey partner passage", partner=hidden)
    in_review = Project.objects.create(
        pk=REVIEW_PROJECT_ID, title=SECRETS["review project title"], slug=SECRETS["review project slug"],
        description=SECRETS["review project description"], program=program, start_year=2020,
        publication_state="in_review",
    )  # fmt: skip
    in_review.partners.set([vietnam])
    in_review.fields.set([field])
    return published


def _query(params):
    return "?" + "&".join(f"{k}={v}" for k, v in params.items())


def _walk_list(extra):
    """Every (url, headers) pair to request anonymously."""
    requests = []
    for route in public_routes():
        for url in urls_for(route, extra):
            requests.append((url, {}))
            if not route.params:
                requests += [(url + _query(p), {}) for p in PROBES]
    for route in api_routes():
        for url in urls_for(route, extra):
            requests.append((url, {}))
            requests.append((url, {"HTTP_ACCEPT": "text/csv"}))
            if not route.params:
                reports = REPORT_PROBES if "report" in route.name else []
                requests += [(url + _query(p), {}) for p in [*PROBES, *API_PROBES, *reports]]
    requests += [(url, {}) for url in NOT_FOUND]
    return list(dict.fromkeys((url, tuple(headers.items())) for url, headers in requests))


def _walk(client, secrets):
    """Requests every URL of the walk anonymously; returns (requests, leaks, server
    errors, pages that showed the published project)."""
    extra = {
        "slug": [
            SECRETS[f"{kind} slug"] for kind in ("draft project", "draft partner", "draft activity", "review project")
        ]
    }
    requests = _walk_list(extra)
    # Anonymous API answers are cached per data version, which a test's writes (never
    # committed) do not move on: start from an empty cache, so every answer is this data's.
    cache.clear()
    leaks, errors, seen_published = [], [], 0
    for url, headers in requests:
        response = client.get(url, **dict(headers))
        if response.status_code >= 500:
            errors.append(f"{url} {dict(headers)}: {response.status_code}")
            continue
        text = body(response)
        seen_published += "HA/DR seminars for Vietnam" in text or "hadr-vietnam" in text
        for what, secret in secrets.items():
            # A page may echo what the visitor asked for (a 404 naming the path it was asked).
            if secret in url:
                continue
            if secret in text:
                at = text.index(secret)
                context = text[max(at - 80, 0) : at + 80]
                leaks.append(f"{what} in {url} {dict(headers)} ({response.status_code}): …{context}…")
    print(f"walked {len(requests)} anonymous requests; {len(leaks)} leaks, {len(errors)} server errors")
    return requests, leaks, errors, seen_published


def test_no_draft_appears_anywhere_an_anonymous_visitor_can_look(client, published_and_drafts):
    requests, leaks, errors, seen_published = _walk(client, SECRETS)
    assert not errors, "\n".join(errors)
    assert not leaks, "\n".join(leaks)
    # The control: the walk reached real pages that show published data.
    assert len(requests) > 100
    assert seen_published > 20


def test_a_draft_partner_of_a_published_project_appears_nowhere(client, published_and_drafts):
    """A partner not yet announced, already named on a published project: the project is
    public, the partner is not, and nothing shows it (the project appears without it)."""
    published_and_drafts.partners.add(DRAFT_PARTNER_ID)
    partner_secrets = {k: v for k, v in SECRETS.items() if k.startswith("draft partner")}
    requests, leaks, errors, seen_published = _walk(client, partner_secrets)
    assert not errors, "\n".join(errors)
    assert not leaks, "\n".join(leaks)
    assert seen_published > 20


def test_the_walk_covers_the_draft_detail_urls_and_they_are_not_found(client, published_and_drafts):
    extra = {"slug": [SECRETS["draft project slug"], SECRETS["draft partner slug"]]}
    draft_urls = [
        url
        for route in [*public_routes(), *api_routes()]
        for url in urls_for(route, extra)
        if any(SECRETS[k] in url for k in ("draft project slug", "draft partner slug", "draft activity id"))
    ]
    assert {"/projects/kestrel-contingency-plan/", "/ja/projects/kestrel-contingency-plan/"} <= set(draft_urls)
    assert {"/partners/osprey-reserve-flotilla/", "/api/v1/projects/kestrel-contingency-plan/"} <= set(draft_urls)
    assert f"/api/v1/activities/{DRAFT_ACTIVITY_ID}/" in draft_urls
    for url in draft_urls:
        assert client.get(url).status_code == 404, url


# A word that occurs in no record: what a search that matches nothing answers.
NOTHING = "Zqxjkvwy"


def _hidden_words():
    """Every word of every hidden record's texts that no visible record holds."""
    import re

    visible = " ".join(
        [
            *Project.objects.public().values_list("title", flat=True),
            *Project.objects.public().values_list("description", flat=True),
            *Partner.objects.public().values_list("name", flat=True),
            *Partner.objects.public().values_list("name_ja", flat=True),
            *Field.objects.values_list("name", flat=True),
            *Program.objects.values_list("name", flat=True),
            *Activity.objects.public().values_list("title", flat=True),
            *Citation.objects.public().values_list("excerpt", flat=True),
        ]
    ).lower()
    words = set()
    for what, text in SECRETS.items():
        if what.endswith(" id"):
            continue
        for word in re.split(r"[\s\-]+", text):
            if len(word) > 2 and word.lower() not in visible:
                words.add(word)
    return sorted(words)


def _normalised(text, term):
    """A body with the search term (as sent, and as a URL or a page would quote it) and
    what differs between any two responses (nonces, timestamps) taken out."""
    import re
    from urllib.parse import quote, quote_plus

    for form in (quote(term), quote_plus(term), term):
        text = text.replace(form, "<term>")
    text = re.sub(r'nonce="[^"]*"', 'nonce=""', text)
    # The sign-in page's form carries a CSRF token of its own on every answer.
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", text)
    return re.sub(r'generated-datetime="[^"]*"', "", text)


def test_a_search_for_a_hidden_records_words_answers_as_a_search_for_nothing(client, published_and_drafts):
    """Not the words themselves but what a search finds can leak: a published project
    found by a search on its hidden partner's name confirms that name and the link. So on
    every surface, a search for any word of a hidden record must answer exactly as a
    search for a word no record holds."""
    published_and_drafts.partners.add(DRAFT_PARTNER_ID)
    words = _hidden_words()
    assert {"Osprey", "オスプレイ予備艦隊", "Kestrel", "Nightjar"} <= set(words)
    urls = [
        url
        for route in [*public_routes(), *api_routes()]
        if not route.params and route.name != "healthz"  # /healthz reports its own timings
        for url in urls_for(route)
    ]
    assert {"/projects/", "/ja/projects/", "/api/v1/projects/", "/api/v1/reports/counts/"} <= set(urls)
    cache.clear()
    differences, compared = [], 0
    for url in urls:
        extra = {"group_by": "partner"} if "reports/counts" in url else {}
        for headers in ({}, {"HTTP_ACCEPT": "text/csv"}):
            control = client.get(url, {"q": NOTHING, **extra}, **headers)
            expected = (control.status_code, _normalised(body(control), NOTHING))
            for word in words:
                if word in expected[1]:  # the page's own text holds it ("Planned"): no telling echo from match
                    continue
                response = client.get(url, {"q": word, **extra}, **headers)
                compared += 1
                if (response.status_code, _normalised(body(response), word)) != expected:
                    differences.append(f"{url} {headers} q={word}: {response.status_code} vs {control.status_code}")
    print(f"compared {compared} searches for hidden words with a search for nothing")
    assert not differences, "\n".join(differences[:30])
    # The control: a search for a visible word finds the published project.
    assert "hadr-vietnam" in body(client.get("/api/v1/projects/", {"q": "Vietnam"}))
