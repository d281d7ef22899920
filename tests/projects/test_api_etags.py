"""ETags that tell the truth: every representation's ETag is a digest of its bytes, so a
client holding an old one never gets a 304 for data that changed (a renamed partner, a new
activity or citation, the drafts an editor sees), and never writes over
a change it has not seen. If-Match compares strongly; a 201 carries the ETag and Location."""

import pytest
from rest_framework.test import APIClient

from core.cache.responses import body_etag
from core.cache.version import bump_now
from partners.models import Partner
from projects.models import Activity, Citation, Field, Program, Project, Source
from tests.conftest import with_reason

pytestmark = pytest.mark.django_db


def _client(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
        with_reason(client)
    return client


DETAILS = {
    "project": lambda w: f"/api/v1/projects/{w['project'].slug}/",
    "partner": lambda w: f"/api/v1/partners/{w['partner'].slug}/",
    "field": lambda w: f"/api/v1/fields/{w['field'].slug}/",
    "program": lambda w: f"/api/v1/programs/{w['program'].slug}/",
    "source": lambda w: f"/api/v1/sources/{w['source'].slug}/",
    "activity": lambda w: f"/api/v1/activities/{w['project'].activities.get().pk}/",
}


@pytest.fixture
def world(project, partner, field, program, source):
    return {"project": project, "partner": partner, "field": field, "program": program, "source": source}


@pytest.mark.parametrize("kind", DETAILS)
@pytest.mark.parametrize("who", ["anonymous", "editor"])
@pytest.mark.parametrize("accept", ["application/json", "application/json; indent=2"])
def test_every_detail_etag_is_the_digest_of_the_bytes_it_answers_with(world, editor, kind, who, accept):
    response = _client(editor if who == "editor" else None).get(DETAILS[kind](world), HTTP_ACCEPT=accept)
    assert response.status_code == 200, response.content
    assert response["ETag"] == body_etag(response.content)


# Each change alters a project's representation without touching the project's own row.
CHANGES = {
    "a linked partner renamed": lambda p: Partner.objects.filter(pk=p.partners.get().pk).update(name="Viet Nam"),
    "a linked field renamed": lambda p: Field.objects.filter(pk=p.fields.get().pk).update(name="Disaster relief"),
    "its program renamed": lambda p: Program.objects.filter(pk=p.program_id).update(name="Another program"),
    "an activity added": lambda p: Activity.objects.create(project=p, title="Exercise", kind="exercise", year=2015),
    "a citation added": lambda p: Citation.objects.create(
        source=Source.objects.get(), section="Table", excerpt="HA/DR", project=p
    ),
    "an activity renamed": lambda p: p.activities.update(title="HA/DR workshop"),
    "a source retitled": lambda p: Source.objects.update(title="Another title"),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_change_to_anything_a_project_shows_changes_its_etag(editor, project, change):
    url = f"/api/v1/projects/{project.slug}/"
    before = _client().get(url)
    CHANGES[change](project)
    after = _client().get(url, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200, "a 304 for a representation that changed"
    assert after.content != before.content
    # And a write with the old ETag is refused: the writer has not seen the change.
    stale = _client(editor).patch(url, {"title": "Mine"}, format="json", HTTP_IF_MATCH=before["ETag"])
    assert stale.status_code == 412
    assert Project.objects.get(pk=project.pk).title == project.title


def test_the_drafts_an_editor_sees_are_another_etag(editor, project, draft_project):
    listing = "/api/v1/projects/"
    public = _client().get(listing)
    staff = _client(editor).get(listing, HTTP_IF_NONE_MATCH=public["ETag"])
    assert staff.status_code == 200 and staff.json()["count"] == public.json()["count"] + 1
    assert staff["ETag"] == body_etag(staff.content) != public["ETag"]


def test_if_match_compares_strongly_a_weak_tag_never_matches_a_write(editor, project):
    client = _client(editor)
    url = f"/api/v1/projects/{project.slug}/"
    etag = client.get(url)["ETag"]
    assert client.patch(url, {"title": "Weak"}, format="json", HTTP_IF_MATCH=f"W/{etag}").status_code == 412
    assert Project.objects.get(pk=project.pk).title == project.title
    # If-None-Match still compares weakly, as RFC 9110 says.
    assert client.get(url, HTTP_IF_NONE_MATCH=f"W/{etag}").status_code == 304
    assert client.patch(url, {"title": "Strong"}, format="json", HTTP_IF_MATCH=etag).status_code == 200


def test_a_201_carries_the_new_records_etag_and_location_so_the_next_write_needs_no_read(editor, project):
    client = _client(editor)
    body = {"project": project.slug, "title": "Port call", "kind": "other", "year": 2014}
    created = client.post("/api/v1/activities/", body, format="json")
    assert created.status_code == 201, created.content
    assert created["Location"] == created.json()["url"]
    assert created["ETag"] == client.get(created["Location"])["ETag"]
    changed = client.patch(created["Location"], {"title": "Port visit"}, format="json", HTTP_IF_MATCH=created["ETag"])
    assert changed.status_code == 200, changed.content
    assert changed["ETag"] == client.get(created["Location"])["ETag"] != created["ETag"]


READS = [
    "/api/v1/projects/", "/api/v1/projects/?format=csv", "/api/v1/activities/", "/api/v1/partners/",
    "/api/v1/fields/", "/api/v1/programs/", "/api/v1/sources/", "/api/v1/reports/counts/?group_by=year",
    "/api/v1/reports/matrix/", "/api/v1/reports/timeline/", "/api/v1/reports/timeline/?format=csv",
    "/api/v1/iati/activities.xml", "/api/v1/projects/?country=zz", "/api/v1/projects/no-such-project/",
]  # fmt: skip


def _vary(response):
    return {h.strip().lower() for h in response.get("Vary", "").split(",") if h.strip()}


@pytest.mark.parametrize("url", READS + list(DETAILS.values()))
def test_every_read_says_who_may_store_it_and_that_it_must_be_revalidated(world, editor, url):
    url = url(world) if callable(url) else url
    for client, cache_control in ((_client(), "public, no-cache"), (_client(editor), "private, no-cache")):
        response = client.get(url)
        assert response.status_code < 500, (url, response.status_code)
        assert response["Cache-Control"] == cache_control, (url, response.status_code)
        assert {"accept", "accept-language", "authorization"} <= _vary(response), url


def test_every_write_says_it_must_not_be_stored(world, editor):
    client = _client(editor)
    created = client.post(
        "/api/v1/activities/", {"project": "ha-dr-vietnam", "title": "T", "kind": "other", "year": 2014}, format="json"
    )
    patched = client.patch(created["Location"], {"title": "U"}, format="json")
    refused = client.patch(created["Location"], {"year": "x"}, format="json")
    deleted = client.delete(created["Location"])
    for response in (created, patched, refused, deleted):
        assert response["Cache-Control"] == "no-store", response.status_code
        assert "authorization" in _vary(response)


def test_a_reports_csv_carries_the_etag_of_its_bytes_and_answers_if_none_match(world):
    url = "/api/v1/reports/timeline/?format=csv"
    first = _client().get(url)
    assert first["Content-Type"].startswith("text/csv") and first["ETag"] == body_etag(first.content)
    assert _client().get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    Activity.objects.create(project=world["project"], title="Later", kind="other", year=2015)
    Project.objects.filter(pk=world["project"].pk).update(end_year=2016)
    assert _client().get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200


# For each writable kind: its model, and a write of values it already holds.
SAME_VALUES = {
    "project": (Project, lambda w: {"title": w["project"].title, "partners": ["vietnam"], "fields": ["ha-dr"]}),
    "partner": (Partner, lambda w: {"name": w["partner"].name, "country": "VN"}),
    "field": (Field, lambda w: {"name": w["field"].name}),
    "program": (Program, lambda w: {"name": w["program"].name, "start_year": w["program"].start_year}),
    "source": (Source, lambda w: {"title": w["source"].title}),
    "activity": (Activity, lambda w: {"title": "HA/DR seminar", "year": 2014, "project": "ha-dr-vietnam"}),
}


@pytest.mark.parametrize("kind", SAME_VALUES)
def test_a_write_of_the_values_a_record_holds_changes_nothing(world, editor, kind):
    model, body = SAME_VALUES[kind]
    client, url = _client(editor), DETAILS[kind](world)
    before = client.get(url)
    rows, history = list(model.objects.order_by("pk").values()), model.history.count()
    response = client.patch(url, body(world), format="json", HTTP_IF_MATCH=before["ETag"])
    assert response.status_code == 200, response.content
    assert response["ETag"] == before["ETag"] and response.content == before.content
    # Not a version, not an `updated` time, not a history entry.
    assert list(model.objects.order_by("pk").values()) == rows
    assert model.history.count() == history


@pytest.mark.parametrize("kind", SAME_VALUES)
@pytest.mark.parametrize("method", ["post", "patch"])
def test_a_field_the_endpoint_does_not_know_is_a_400_naming_it_with_the_nearest_known_one(world, editor, kind, method):
    model, body = SAME_VALUES[kind]
    url = DETAILS[kind](world) if method == "patch" else DETAILS[kind](world).rsplit("/", 2)[0] + "/"
    known = next(iter(body(world)))
    payload = {**body(world), f"{known}x": "Typo", "no_such_field": 1}
    before = list(model.objects.order_by("pk").values())
    response = getattr(_client(editor), method)(url, payload, format="json")
    assert response.status_code == 400, response.content
    errors = {e["field"]: e for e in response.json()["errors"]}
    assert set(errors) == {f"{known}x", "no_such_field"}
    assert errors[f"{known}x"]["code"] == "unknown"
    assert f"Did you mean {known!r}?" in errors[f"{known}x"]["detail"]
    assert list(model.objects.order_by("pk").values()) == before


def test_read_only_fields_sent_back_as_read_are_ignored(world, editor):
    client, url = _client(editor), DETAILS["field"](world)
    body = {**client.get(url).json(), "name": "Disaster relief"}
    response = client.put(url, body, format="json")
    assert response.status_code == 200, response.content
    assert Field.objects.get(pk=world["field"].pk).name == "Disaster relief"


STREAMED = ["/api/v1/projects/?format=csv", "/api/v1/activities/?format=csv", "/api/v1/partners/?format=csv",
            "/api/v1/fields/?format=csv", "/api/v1/iati/activities.xml"]  # fmt: skip


def _body(response):
    return b"".join(response.streaming_content)


class TestStreamedAnswers:
    """A list's CSV and the IATI document are streamed, so their ETag cannot be a digest of
    bytes not yet written: it is one of the committed data version and the request."""

    @pytest.mark.parametrize("path", STREAMED)
    def test_they_carry_an_etag_and_answer_if_none_match(self, world, path):
        first = _client().get(path)
        assert first.status_code == 200 and first.streaming
        etag = first["ETag"]
        iati = "iati" in path  # weak: it says when it was generated, so its bytes differ by the second
        assert etag.startswith('W/"' if iati else '"')
        again = _client().get(path, HTTP_IF_NONE_MATCH=etag)
        assert again.status_code == 304 and again["ETag"] == etag and not again.content
        assert again["Vary"] == first["Vary"]
        other = _client().get(path, HTTP_IF_NONE_MATCH='"something-else"')
        assert other.status_code == 200 and other["ETag"] == etag
        if not iati:  # a strong tag stands for the same bytes
            assert _body(other) == _body(first)

    @pytest.mark.parametrize("path", STREAMED)
    def test_any_committed_write_gives_a_new_etag(self, world, path):
        etag = _client().get(path)["ETag"]
        # What a committed write runs (the test's transaction never commits).
        Partner.objects.filter(pk=world["partner"].pk).update(name="Viet Nam")
        bump_now()
        after = _client().get(path, HTTP_IF_NONE_MATCH=etag)
        assert after.status_code == 200 and after["ETag"] != etag

    def test_the_tag_depends_on_who_asks_and_the_query(self, world, editor):
        path = STREAMED[0]
        tags = {
            _client().get(path)["ETag"],
            _client(editor).get(path)["ETag"],
            _client().get(path + "&bom=true")["ETag"],
            _client().get(path + "&country=VN")["ETag"],
        }
        assert len(tags) == 4
