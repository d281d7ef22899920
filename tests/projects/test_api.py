"""The REST API v1: visibility, permissions (a generated matrix), filters, errors, ETags
and If-Match, CSV, reports and query counts."""

import csv
import io
import json
import re
import tempfile

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from projects.models import Project
from tests.conftest import with_reason

pytestmark = pytest.mark.django_db


def _client(user=None, token=False):
    client = APIClient()
    if user is not None:
        if token:
            client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        else:
            client.force_authenticate(user)
        with_reason(client)
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
        },
        # A whole new state for the test project: its 2014 activity must stay inside.
        "update": {
            "slug": "ha-dr-vietnam",
            "title": "HA/DR for Vietnam, renamed",
            "program": "capacity-building",
            "partners": ["vietnam"],
            "start_year": 2013,
            "end_year": 2015,
            "status": "completed",
        },
        "patch": {"description": "Updated"},
    },
    "activities": {
        "detail": lambda d: d["project"].activities.get().pk,
        "create": {"project": "ha-dr-vietnam", "title": "New seminar", "kind": "seminar", "year": 2014},
        "patch": {"description": "Updated"},
    },
    "status-reports": {
        "detail": lambda d: d["project"].status_reports.get().pk,
        "create": {"project": "ha-dr-vietnam", "status": "ongoing", "year": 2014, "month": 6},
        "patch": {"note": "Updated"},
    },
}
WRITERS = {"editor", "administrator"}
EXPECTED = {
    # method: (status for writers, status for others)
    "list": (200, 200),
    "retrieve": (200, 200),
    "create": (201, None),
    "update": (200, None),
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
        "update": lambda: client.put(detail, spec.get("update", spec["create"]), format="json"),
        "partial_update": lambda: client.patch(detail, spec["patch"], format="json"),
        "destroy": lambda: client.delete(detail),
    }[method]
    writer_status, other_status = EXPECTED[method]
    expected = writer_status if persona in WRITERS else other_status or (401 if persona == "anonymous" else 403)
    if method == "destroy" and endpoint in {"programs", "sources"} and persona in WRITERS:
        expected = 409  # still referred to by a project or a citation: protected, and said so
    if method == "destroy" and endpoint in {"projects", "partners"} and persona in WRITERS:
        expected = 400  # published: withdrawn (with a reason) before it is deleted (test_review_workflow)
    response = call()
    assert response.status_code == expected, response.content


# Report and export endpoints are read-only: every persona reads; a write method is 405
# for those allowed to write anything, and refused (401/403) before that for the others.
READ_ONLY_ENDPOINTS = ["reports/counts/?group_by=field", "reports/matrix/", "reports/timeline/", "iati/activities.xml"]
READ_ONLY_CASES = [
    (e, m, p)
    for e in READ_ONLY_ENDPOINTS
    for m in ("get", "post", "put", "patch", "delete")
    for p in ("anonymous", "viewer", "editor", "administrator")
]


@pytest.mark.parametrize("endpoint,method,persona", READ_ONLY_CASES, ids=["-".join(c) for c in READ_ONLY_CASES])
def test_read_only_endpoint_matrix(endpoint, method, persona, personas, project):
    client = _client(personas[persona])
    response = getattr(client, method)(f"/api/v1/{endpoint}", format="json")
    if method == "get":
        expected = 200
    elif persona in WRITERS:
        expected = 405
    else:
        expected = 401 if persona == "anonymous" else 403
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
        assert body["partners"] == [
            {"slug": "vietnam", "name": "Vietnam", "name_ja": "", "country": "VN", "role": "recipient"}
        ]
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
        project = Project.objects.create(
            slug=f"p{i}", title=f"P {i}", program=program, start_year=2015, publication_state="published"
        )
        project.partners.add(partner)
        project.fields.add(field)
    counts = []
    for size in (10, 100, 500):
        with CaptureQueriesContext(connection) as queries:
            response = _client().get("/api/v1/projects/", {"page_size": size})
        assert len(response.json()["results"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1] == counts[2], counts


@pytest.mark.engines("once")
def test_schema_and_docs_are_served(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/projects/" in schema.json()["paths"]
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    # Every script and stylesheet comes from this site (drf-spectacular-sidecar),
    # none from a CDN. Checked on the URLs themselves: a hashed static file name
    # can contain any three letters, "cdn" among them.
    urls = re.findall(r'(?:src|href)="([^"]*)"', docs.content.decode())
    assert urls
    assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls


class TestErrors:
    @pytest.mark.parametrize(
        "payload,field",
        [
            ({"name": 7}, "name"),
            ({"start_year": "2016"}, "start_year"),
            ({"start_year": 2016.5}, "start_year"),
            ({"start_year": True}, "start_year"),
            ({"start_year": 1900}, "start_year"),
            ({"description": ["a"]}, "description"),
        ],
    )
    def test_a_value_of_the_wrong_json_type_is_a_400_naming_the_field(self, editor, program, payload, field):
        response = _client(editor).patch(f"/api/v1/programs/{program.slug}/", payload, format="json")
        assert response.status_code == 400, response.content
        assert [e["field"] for e in response.json()["errors"]] == [field]
        program.refresh_from_db()
        assert program.name == "Capacity building assistance" and program.start_year == 2012

    @pytest.mark.parametrize("value", ["", 5, "no such partner", "bad\x00slug"])
    def test_a_related_record_must_be_named_by_an_existing_slug(self, editor, partner, value):
        response = _client(editor).patch(f"/api/v1/partners/{partner.slug}/", {"parent": value}, format="json")
        assert response.status_code == 400, response.content
        assert response.json()["errors"][0]["field"] == "parent"
        partner.refresh_from_db()
        assert partner.parent is None

    def test_writes_take_json_only(self, editor, program):
        response = _client(editor).patch(f"/api/v1/programs/{program.slug}/", {"name": "X"}, format="multipart")
        assert response.status_code == 415
        assert response.json()["errors"][0]["code"] == "unsupported_media_type"

    @pytest.mark.parametrize("value", ["bad\x00slug", "a b", "<script>"])
    def test_a_filter_slug_that_cannot_exist_is_a_400_on_every_database(self, world, value):
        response = _client().get("/api/v1/projects/", {"partner": value})
        assert response.status_code == 400
        assert [e["field"] for e in response.json()["errors"]] == ["partner"]

    @pytest.mark.parametrize("page", ["abc", "0", "-1", "1.5"])
    def test_a_malformed_page_number_is_a_400_naming_it(self, world, page):
        response = _client().get("/api/v1/projects/", {"page": page})
        assert response.status_code == 400
        assert [e["field"] for e in response.json()["errors"]] == ["page"]

    def test_a_page_past_the_end_is_a_404_about_the_request_not_a_field(self, world):
        response = _client().get("/api/v1/projects/", {"page": 99})
        assert response.status_code == 404
        (error,) = response.json()["errors"]
        assert error["code"] == "not_found" and "field" not in error

    @pytest.mark.parametrize("year", ["2015.0", "2e3", "１２３４"])
    def test_a_year_must_be_digits(self, world, year):
        response = _client().get("/api/v1/projects/", {"year": year})
        assert response.status_code == 400
        assert [e["field"] for e in response.json()["errors"]] == ["year"]

    def test_a_blank_if_match_is_a_400_and_changes_nothing(self, editor, project):
        response = _client(editor).patch(
            f"/api/v1/projects/{project.slug}/", {"title": "X"}, format="json", HTTP_IF_MATCH=" "
        )
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "If-Match"
        project.refresh_from_db()
        assert project.title == "HA/DR for Vietnam"

    def test_an_invalid_payload_is_a_400_even_with_a_stale_if_match(self, editor, project):
        response = _client(editor).patch(
            f"/api/v1/projects/{project.slug}/", {"status": "finished"}, format="json", HTTP_IF_MATCH='"stale"'
        )
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "status"
        assert "status report" in response.json()["errors"][0]["detail"]

    def test_anonymous_clients_are_throttled_with_retry_after(self, world, monkeypatch):
        from django.core.cache import cache
        from rest_framework.throttling import AnonRateThrottle

        cache.clear()  # the throttle counts requests in the cache: start from none
        monkeypatch.setattr(AnonRateThrottle, "rate", "3/minute", raising=False)
        client = _client()
        statuses = [client.get("/api/v1/fields/").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        response = client.get("/api/v1/fields/")
        assert response.json()["errors"][0]["code"] == "throttled"
        assert int(response["Retry-After"]) > 0

    def test_a_token_that_does_not_exist_is_a_401(self, world):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
        response = client.get("/api/v1/projects/")
        assert response.status_code == 401
        assert response.json()["errors"][0]["code"] == "authentication_failed"


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from django.core.management import call_command

    with django_db_blocker.unblock(), tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/schema.json"
        # --fail-on-warn: a view or filter drf-spectacular cannot describe fails the test.
        call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", path)
        with open(path) as file:
            return json.load(file)


@pytest.mark.engines("once")
class TestSchema:
    def _operations(self, schema):
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                yield path, method, operation

    def test_every_operation_documents_every_error_it_can_give(self, schema):
        for path, method, operation in self._operations(schema):
            codes = set(operation["responses"])
            assert {"400", "401", "403", "404", "429", "503"} <= codes, (path, method, codes)
            if method in {"put", "patch", "delete"}:
                assert {"412"} <= codes, (path, method)
            if method == "delete":
                assert "409" in codes, path
            for code, response in operation["responses"].items():
                if code == "414":  # from the web server, before the API sees the request
                    assert set(response["content"]) == {"text/html"}, (path, method)
                elif code.startswith(("4", "5")):
                    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}

    def test_every_operation_documents_the_web_servers_414_and_every_list_parameter_its_bound(self, schema):
        from core.filtersets import MAX_FILTER_VALUES

        arrays = 0
        for path, method, operation in self._operations(schema):
            assert "414" in operation["responses"], (path, method)
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and parameter["schema"].get("type") == "array":
                    assert parameter["schema"]["maxItems"] == MAX_FILTER_VALUES, (path, method, parameter["name"])
                    arrays += 1
        assert arrays > 40

    def test_every_list_documents_its_filters_paging_and_csv(self, schema):
        params = {p["name"] for p in schema["paths"]["/api/v1/projects/"]["get"]["parameters"]}
        assert {
            "partner", "country", "region", "asean", "field", "program", "status", "year", "start_year_min",
            "start_year_max", "cooperating_country", "q", "ordering", "page", "page_size",
        } <= params  # fmt: skip
        for path, method, operation in self._operations(schema):
            if method == "get" and not path.endswith("}/") and "iati" not in path:
                assert "text/csv" in operation["responses"]["200"]["content"], path

    def test_details_document_etags_and_conditional_requests(self, schema):
        detail = schema["paths"]["/api/v1/projects/{slug}/"]
        assert "ETag" in detail["get"]["responses"]["200"]["headers"]
        assert "304" in detail["get"]["responses"]
        assert "If-None-Match" in {p["name"] for p in detail["get"]["parameters"]}
        assert "If-Match" in {p["name"] for p in detail["patch"]["parameters"]}

    def test_reading_needs_no_credentials_but_writing_does(self, schema):
        projects = schema["paths"]["/api/v1/projects/"]
        assert {} in projects["get"]["security"]
        assert {} not in projects["post"]["security"]

    def test_related_records_are_written_as_slugs_and_read_as_objects(self, schema):
        components = schema["components"]["schemas"]
        # A partner is written as its slug (a recipient) or as {"slug", "role"}.
        written = components["ProjectRequest"]["properties"]["partners"]
        assert [option["type"] for option in written["items"]["oneOf"]] == ["string", "object"]
        assert written["maxItems"] == 100
        read = components["Project"]["properties"]["partners"]["items"]
        assert read["type"] == "object" and "venue" in read["properties"]["role"]["enum"]


class TestRouting:
    def test_an_unknown_api_path_is_a_json_404(self, world, editor):
        for path in ("/api/v1/nothing-here/", "/api/v1/activities/not-a-number/", "/api/v1/projects/a/b/c/"):
            response = _client().get(path)
            assert response.status_code == 404, path
            assert response.json()["errors"][0]["code"] == "not_found"
        # A write to no endpoint from a browser session is a 404 too, not a CSRF page.
        session = Client(enforce_csrf_checks=True)
        session.force_login(editor)
        assert session.delete("/api/v1/activities/%C2%84/").status_code == 404

    def test_csv_streams_the_whole_selection_unless_a_page_is_asked_for(self, world):
        whole = _client().get("/api/v1/projects/", {"format": "csv"})
        assert len(list(csv.DictReader(io.StringIO(b"".join(whole.streaming_content).decode())))) == 4
        page = _client().get("/api/v1/projects/", {"format": "csv", "page_size": 3, "page": 2})
        assert len(list(csv.DictReader(io.StringIO(b"".join(page.streaming_content).decode())))) == 1
        bad = _client().get("/api/v1/projects/", {"format": "csv", "page_size": "lots"})
        assert bad.status_code == 400

    def test_an_empty_filter_is_no_filter(self, world):
        body = _client().get("/api/v1/projects/", {"year": "", "asean": "", "partner": "", "page_size": ""}).json()
        assert body["count"] == 4


def test_a_draft_partner_of_a_published_project_is_hidden_from_anonymous_clients(project, viewer):
    from partners.models import Partner

    hidden = Partner.objects.create(
        name="Hidden partner", slug="hidden-partner", country="ZW", region="africa", publication_state="draft"
    )
    project.partners.add(hidden)
    anonymous, staff = _client(), _client(viewer)
    detail = anonymous.get(f"/api/v1/projects/{project.slug}/").json()
    assert [p["slug"] for p in detail["partners"]] == ["vietnam"]
    assert anonymous.get("/api/v1/projects/", {"country": "ZW"}).json()["count"] == 0
    counts = anonymous.get("/api/v1/reports/counts/", {"group_by": "partner"}).json()["results"]
    assert [r["partner"] for r in counts] == ["vietnam"]
    assert "hidden-partner" not in anonymous.get("/api/v1/reports/matrix/").content.decode()
    assert {p["slug"] for p in staff.get(f"/api/v1/projects/{project.slug}/").json()["partners"]} == {
        "vietnam",
        "hidden-partner",
    }
    assert staff.get("/api/v1/projects/", {"country": "ZW"}).json()["count"] == 1
