"""The REST API v1: visibility, permissions (a generated matrix), filters, errors, ETags
and If-Match, CSV, reports and query counts."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from projects.models import Project

pytestmark = pytest.mark.django_db


def _client(user=None, token=False):
    client = APIClient()
    if user is not None:
        if token:
            client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        else:
            client.force_authenticate(user)
    return client


@pytest.fixture
def personas(viewer, editor, administrator):
    return {"anonymous": None, "viewer": viewer, "editor": editor, "administrator": administrator}


# -- the permission matrix ---------------------------------------------------------------
# One row per endpoint: how to reach a published object, a payload an editor may create,
# and a partial update. Every endpoint × method × persona case is generated from it.
ENDPOINTS = {
    "partners": {
        "detail": lambda d: d["partner"].slug,
        "create": {"slug": "laos", "name": "Laos", "country": "LA", "region": "southeast_asia", "kind": "country"},
        "patch": {"description": "Updated"},
    },
    "fields": {
        "detail": lambda d: d["field"].slug,
        "create": {"slug": "pko", "name": "PKO"},
        "patch": {"description": "Updated"},
    },
    "programs": {
        "detail": lambda d: d["program"].slug,
        "create": {"slug": "vv", "name": "Vientiane Vision", "start_year": 2016},
        "patch": {"description": "Updated"},
    },
    "sources": {
        "detail": lambda d: d["source"].slug,
        "create": {"slug": "new-source", "title": "New source"},
        "patch": {"description": "Updated"},
    },
    "projects": {
        "detail": lambda d: d["project"].slug,
        "create": {
            "slug": "new-project",
            "title": "New project",
            "program": "capacity-building",
            "partners": ["vietnam"],
            "fields": ["ha-dr"],
            "start_year": 2016,
            "status": "planned",
        },
        "patch": {"description": "Updated"},
    },
    "activities": {
        "detail": lambda d: d["project"].activities.get().pk,
        "create": {"project": "ha-dr-vietnam", "title": "New seminar", "kind": "seminar", "year": 2014},
        "patch": {"description": "Updated"},
    },
}
WRITERS = {"editor", "administrator"}
EXPECTED = {
    # method: (status for writers, status for others)
    "list": (200, 200),
    "retrieve": (200, 200),
    "create": (201, None),
    "partial_update": (200, None),
    "destroy": (204, None),
}
CASES = [(e, m, p) for e in ENDPOINTS for m in EXPECTED for p in ("anonymous", "viewer", "editor", "administrator")]


@pytest.mark.parametrize("endpoint,method,persona", CASES, ids=["-".join(c) for c in CASES])
def test_permission_matrix(endpoint, method, persona, personas, project, partner, field, program, source):
    data = {"project": project, "partner": partner, "field": field, "program": program, "source": source}
    spec = ENDPOINTS[endpoint]
    client = _client(personas[persona])
    base = f"/api/v1/{endpoint}/"
    detail = f"{base}{spec['detail'](data)}/"
    call = {
        "list": lambda: client.get(base),
        "retrieve": lambda: client.get(detail),
        "create": lambda: client.post(base, spec["create"], format="json"),
        "partial_update": lambda: client.patch(detail, spec["patch"], format="json"),
        "destroy": lambda: client.delete(detail),
    }[method]
    writer_status, other_status = EXPECTED[method]
    expected = writer_status if persona in WRITERS else other_status or (401 if persona == "anonymous" else 403)
    if method == "destroy" and endpoint in {"programs", "sources"} and persona in WRITERS:
        expected = 409  # still referred to by a project or a citation: protected, and said so
    response = call()
    assert response.status_code == expected, response.content


@pytest.mark.parametrize("endpoint", ["projects", "activities"])
def test_drafts_are_404_for_anonymous_and_visible_to_viewers(endpoint, draft_project, viewer):
    from projects.models import Activity

    activity = Activity.objects.create(project=draft_project, title="Secret", kind="seminar", year=2021)
    key = draft_project.slug if endpoint == "projects" else activity.pk
    anonymous = _client()
    assert anonymous.get(f"/api/v1/{endpoint}/{key}/").status_code == 404
    listing = anonymous.get(f"/api/v1/{endpoint}/").json()
    assert listing["count"] == 0
    assert _client(viewer, token=True).get(f"/api/v1/{endpoint}/{key}/").status_code == 200


class TestProjects:
    def test_a_project_carries_its_related_records_readably(self, project):
        body = _client().get(f"/api/v1/projects/{project.slug}/").json()
        assert body["partners"] == [{"slug": "vietnam", "name": "Vietnam", "name_ja": "", "country": "VN"}]
        assert body["fields"][0]["slug"] == "ha-dr"
        assert body["program"] == {"slug": "capacity-building", "name": "Capacity building assistance"}
        assert body["public_url"] == "/projects/ha-dr-vietnam/"
        assert body["citations"][0]["excerpt"] == "HA/DR (2014)"
        assert body["years"] == "2013–2015"
        assert body["url"].endswith("/api/v1/projects/ha-dr-vietnam/")

    def test_the_list_uses_the_project_filterset(self, world):
        body = _client().get("/api/v1/projects/", {"country": ["VN", "PG"], "year": 2018}).json()
        assert [p["slug"] for p in body["results"]] == ["png-band"]
        assert body["count"] == 1 and "next" in body and "previous" in body

    @pytest.mark.parametrize(
        "params,parameter",
        [
            ({"year": "abc"}, "year"),
            ({"partner": "atlantis"}, "partner"),
            ({"status": "finished"}, "status"),
            ({"page_size": "501"}, "page_size"),
            ({"page_size": "x"}, "page_size"),
        ],
    )
    def test_an_invalid_filter_is_a_400_naming_the_parameter(self, world, params, parameter):
        response = _client().get("/api/v1/projects/", params)
        assert response.status_code == 400
        assert [e["field"] for e in response.json()["errors"]] == [parameter]

    def test_an_editor_creates_a_project_with_history_and_the_user(self, editor, program, partner, field):
        client = _client(editor, token=True)
        payload = ENDPOINTS["projects"]["create"]
        response = client.post("/api/v1/projects/", payload, format="json")
        assert response.status_code == 201, response.content
        project = Project.objects.get(slug="new-project")
        # The insert, then each many-to-many link, is a history record: all by the editor.
        assert project.history.order_by("history_date").first().history_type == "+"
        assert {h.history_user for h in project.history.all()} == {editor}
        assert [p.slug for p in project.partners.all()] == ["vietnam"]

    def test_a_bad_payload_gets_one_message_per_field(self, editor, program, partner):
        payload = {"slug": "x", "title": "", "program": "nope", "partners": [], "start_year": 2016, "end_year": 2010}
        response = _client(editor).post("/api/v1/projects/", payload, format="json")
        assert response.status_code == 400
        fields = {e["field"] for e in response.json()["errors"]}
        assert {"title", "program", "partners"} <= fields
        assert not Project.objects.filter(slug="x").exists()

    def test_model_rules_apply_to_api_writes(self, editor, project):
        response = _client(editor).patch(f"/api/v1/projects/{project.slug}/", {"end_year": 2010}, format="json")
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "end_year"
        response = _client(editor).patch(f"/api/v1/projects/{project.slug}/", {"end_year": 2013}, format="json")
        assert response.status_code == 400  # the 2014 activity would fall outside
        project.refresh_from_db()
        assert project.end_year == 2015


class TestETags:
    def test_if_none_match_gets_a_304(self, project):
        client = _client()
        first = client.get(f"/api/v1/projects/{project.slug}/")
        etag = first["ETag"]
        second = client.get(f"/api/v1/projects/{project.slug}/", HTTP_IF_NONE_MATCH=etag)
        assert second.status_code == 304

    def test_a_stale_if_match_is_412_and_changes_nothing(self, editor, project):
        client = _client(editor)
        etag = client.get(f"/api/v1/projects/{project.slug}/")["ETag"]
        ok = client.patch(f"/api/v1/projects/{project.slug}/", {"title": "First"}, format="json", HTTP_IF_MATCH=etag)
        assert ok.status_code == 200
        assert ok["ETag"] != etag
        stale = client.patch(
            f"/api/v1/projects/{project.slug}/", {"title": "Second"}, format="json", HTTP_IF_MATCH=etag
        )
        assert stale.status_code == 412
        assert stale.json()["errors"][0]["code"] == "precondition_failed"
        assert client.delete(f"/api/v1/projects/{project.slug}/", HTTP_IF_MATCH=etag).status_code == 412
        project.refresh_from_db()
        assert project.title == "First"

    def test_the_current_etag_allows_the_write(self, editor, project):
        client = _client(editor)
        etag = client.get(f"/api/v1/projects/{project.slug}/")["ETag"]
        response = client.put(
            f"/api/v1/projects/{project.slug}/",
            {**ENDPOINTS["projects"]["create"], "slug": project.slug, "start_year": 2013, "end_year": 2015},
            format="json",
            HTTP_IF_MATCH=etag,
        )
        assert response.status_code == 200, response.content
        assert project.history.order_by("-history_date").first().history_user == editor


class TestCSV:
    def test_the_project_list_as_csv_has_names_beside_codes_and_honours_filters(self, world):
        response = _client().get("/api/v1/projects/", {"format": "csv", "field": "ha-dr"})
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert sorted(r["slug"] for r in rows) == ["balikatan", "hadr-seminar"]
        seminar = next(r for r in rows if r["slug"] == "hadr-seminar")
        assert seminar["partner_names"] == "Vietnam; Philippines" or seminar["partner_names"] == "Philippines; Vietnam"
        assert seminar["cooperating_country_names"] == "United Kingdom"

    def test_accept_text_csv_works_too(self, world):
        response = _client().get("/api/v1/partners/", HTTP_ACCEPT="text/csv")
        assert response["Content-Type"].startswith("text/csv")
        assert b"country_name" in b"".join(response.streaming_content)

    def test_reports_as_csv(self, world):
        response = _client().get("/api/v1/reports/counts/", {"group_by": "field", "format": "csv"})
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        assert {r["field"]: r["count"] for r in rows}["ha-dr"] == "2"


class TestReports:
    def test_counts_take_project_filters(self, world):
        body = _client().get("/api/v1/reports/counts/", {"group_by": "program", "field": "ha-dr"}).json()
        assert {r["program"]: r["count"] for r in body["results"]} == {
            "capacity-building-assistance": 1,
            "vientiane-vision": 1,
        }

    def test_a_bad_group_by_is_a_400_naming_it(self, world):
        response = _client().get("/api/v1/reports/counts/", {"group_by": "colour"})
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "group_by"

    def test_matrix_and_timeline(self, world):
        matrix = _client().get("/api/v1/reports/matrix/", {"program": "capacity-building-assistance"}).json()
        assert "ha-dr" in [f["slug"] for f in matrix["fields"]]
        timeline = _client().get("/api/v1/reports/timeline/").json()
        assert timeline["rows"][0]["year"] == 2012

    def test_reports_hide_drafts_from_anonymous(self, project, draft_project):
        body = _client().get("/api/v1/reports/counts/", {"group_by": "status"}).json()
        assert sum(r["count"] for r in body["results"]) == 1


def test_the_projects_list_runs_the_same_number_of_queries_at_any_page_size(program, partner, field):
    for i in range(520):
        project = Project.objects.create(slug=f"p{i}", title=f"P {i}", program=program, start_year=2015, published=True)
        project.partners.add(partner)
        project.fields.add(field)
    counts = []
    for size in (10, 100, 500):
        with CaptureQueriesContext(connection) as queries:
            response = _client().get("/api/v1/projects/", {"page_size": size})
        assert len(response.json()["results"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1] == counts[2], counts


def test_schema_and_docs_are_served(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/projects/" in schema.json()["paths"]
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()
