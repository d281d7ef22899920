"""The fast paths of the API (issue 5), guarded by behaviour and query counts, never by
timings: every path shows a project's one representation, the orjson renderer is
DRF's, counts are cached per data version, cursor pages walk every row once,
and the response cache never serves a read from before a write, whatever the write
path (API, admin change form, admin import, admin bulk action, model signals)."""

import base64
import csv
import datetime
import decimal
import io
import json
import os
import secrets
import wsgiref.util

import pytest
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.test.utils import CaptureQueriesContext
from django.utils.translation import gettext_lazy
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from core.api.pagination import CachedCountPaginator
from core.api.renderers import ORJSONRenderer
from core.cache.front import ResponseCacheFront
from core.cache.responses import APIResponseCacheMiddleware
from core.cache.version import bump_now
from partners.models import Partner
from projects.api.serializers import ProjectSerializer
from projects.models import Activity, Citation, Project, Source
from tests.conftest import with_reason
from tests.projects.test_admin import _confirm, _import, _project_post, _url
from tests.services import REDIS_URL

pytestmark = pytest.mark.django_db


@pytest.fixture
def cached(settings):
    """The response cache and the cached counts on, over an empty local-memory cache (one
    process: the two-server test below covers the shared Redis)."""
    settings.API_RESPONSE_CACHE = True
    settings.API_COUNT_CACHE = True
    cache.clear()
    yield
    # A test on the real Redis (_redis_cache) empties its own keys: FLUSHDB would empty
    # the keys of the tests running beside it too.
    if not settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        cache.clear()


def _queries(client, *args, **kwargs):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(*args, **kwargs)
    return response, [q["sql"] for q in queries.captured_queries]


def _rich(world, source):
    """The world, with what makes serialization tricky: drafts, a project without a start
    year, day/month precision, citations, co-operating countries, non-ASCII names."""
    vn_medicine = world["vn_medicine"]
    Activity.objects.create(project=vn_medicine, title="Day", kind="seminar", year=2013, month=2, day=28)
    Activity.objects.create(project=vn_medicine, title="Month", kind="training", year=2013, month=7)
    Activity.objects.create(project=vn_medicine, title="Year", kind="exercise", year=2012)
    Citation.objects.create(
        source=source, section="Table 1", excerpt="Underwater medicine\u2028(2012)", project=vn_medicine
    )
    Citation.objects.create(source=source, section="Table 2", excerpt="second", project=vn_medicine)
    draft = Project.objects.create(
        slug="draft-undated", title="Undated draft", program=vn_medicine.program, start_year=None,
        publication_state="draft",
        cooperating_countries=["US", "GB"], description="Ünïcode — 日本語",
    )  # fmt: skip
    draft.partners.set(Partner.objects.filter(slug__in=["png", "vietnam"]))
    return world


class TestOneRepresentation:
    """A project has one read representation (projects.api.serializers): the list, the
    detail, the answer to a write, the browsable API and CSV all show it."""

    @pytest.mark.parametrize("language", ["en", "ja"])
    def test_the_list_the_detail_and_the_browsable_api_show_the_same_object(self, world, source, viewer, language):
        _rich(world, source)
        client = APIClient()
        client.force_authenticate(viewer)  # drafts too
        listing = client.get("/api/v1/projects/", {"page_size": 500}, HTTP_ACCEPT_LANGUAGE=language).json()
        assert listing["count"] == 5 and any(p["start_year"] is None for p in listing["results"])
        browsable = client.get("/api/v1/projects/", {"page_size": 500, "format": "api"}, HTTP_ACCEPT_LANGUAGE=language)
        assert browsable.status_code == 200 and browsable["Content-Type"].startswith("text/html")
        assert json.loads(json.dumps(browsable.data["results"])) == listing["results"]
        for row in listing["results"]:
            detail = client.get(f"/api/v1/projects/{row['slug']}/", HTTP_ACCEPT_LANGUAGE=language)
            assert detail.json() == row

    def test_a_project_is_shown_with_drf_formats_and_the_models_orders(self, world, source, viewer):
        _rich(world, source)
        client = APIClient()
        client.force_authenticate(viewer)
        project = Project.objects.get(slug="vn-medicine")
        body = client.get("/api/v1/projects/vn-medicine/").json()
        assert list(body) == ProjectSerializer.Meta.fields
        assert body["url"] == "http://testserver/api/v1/projects/vn-medicine/"
        assert body["public_url"] == "/projects/vn-medicine/"
        assert body["program"] == {"slug": "capacity-building-assistance", "name": "Capacity building assistance"}
        assert body["partners"] == [
            {"slug": "vietnam", "name": "Vietnam", "name_ja": "", "country": "VN", "role": "recipient"}
        ]
        assert (body["years"], body["status"], body["status_display"]) == ("2012–2015", "completed", "Completed")
        assert body["created"] == project.created.isoformat().replace("+00:00", "Z")
        assert [(a["title"], a["date_display"]) for a in body["activities"]] == [
            ("Year", "2012"), ("Day", "28 February 2013"), ("Month", "July 2013"),
        ]  # fmt: skip
        first = body["activities"][0]
        assert first["url"] == f"http://testserver/api/v1/activities/{first['id']}/"
        assert [c["section"] for c in body["citations"]] == ["Table 1", "Table 2"]
        assert body["citations"][0]["source"] == {"slug": source.slug, "title": source.title, "year": source.year}
        draft = client.get("/api/v1/projects/draft-undated/").json()
        assert draft["years"] == "years not stated" and draft["description"] == "Ünïcode — 日本語"
        assert draft["cooperating_countries"] == [
            {"code": "GB", "name": "United Kingdom"}, {"code": "US", "name": "United States of America"},
        ]  # fmt: skip

    def test_a_draft_partner_is_shown_only_to_those_who_may_see_drafts(self, world, viewer):
        world["png_band"].partners.add(
            Partner.objects.create(
                slug="draft-partner", name="A draft partner", country="JP", publication_state="draft"
            )
        )
        anonymous, staff = APIClient(), APIClient()
        staff.force_authenticate(viewer)
        for client, expected in ((anonymous, ["png"]), (staff, ["draft-partner", "png"])):
            detail = client.get("/api/v1/projects/png-band/").json()
            assert [p["slug"] for p in detail["partners"]] == expected
            listed = _slugs_of(client.get("/api/v1/projects/").json()["results"], "png-band")
            assert listed == expected
            rows = csv.DictReader(
                io.StringIO(b"".join(client.get("/api/v1/projects/?format=csv").streaming_content).decode())
            )
            assert next(r for r in rows if r["slug"] == "png-band")["partners"] == ",".join(expected)

    def test_a_write_answers_with_the_representation_a_read_gives(self, world, editor):
        writer = with_reason(APIClient())
        writer.force_authenticate(editor)
        changed = writer.patch("/api/v1/projects/balikatan/", {"description": "Changed"}, format="json")
        assert changed.status_code == 200, changed.content
        assert changed.json() == writer.get("/api/v1/projects/balikatan/").json()
        payload = {"slug": "new-one", "title": "New", "program": "vientiane-vision", "partners": ["png", "vietnam"],
                   "fields": ["ha-dr"], "start_year": 2020, "cooperating_countries": ["US", "GB"]}  # fmt: skip
        created = writer.post("/api/v1/projects/", payload, format="json")
        assert created.status_code == 201, created.content
        assert created.json() == writer.get("/api/v1/projects/new-one/").json()

    def test_the_csv_columns_are_the_representation_flattened(self, world):
        client = APIClient()
        rows = csv.DictReader(
            io.StringIO(b"".join(client.get("/api/v1/projects/?format=csv").streaming_content).decode())
        )
        seminar = next(r for r in rows if r["slug"] == "hadr-seminar")
        body = client.get("/api/v1/projects/hadr-seminar/").json()
        assert seminar["partners"] == ",".join(p["slug"] for p in body["partners"])
        assert seminar["partner_names"] == "; ".join(p["name"] for p in body["partners"])
        assert seminar["countries"] == "PH,VN"
        assert (seminar["status_name"], seminar["cooperating_country_names"]) == (
            body["status_display"],
            "United Kingdom",
        )
        assert (seminar["start_year"], seminar["end_year"], seminar["published"]) == (
            "2016",
            "2016",
            "true",
        )  # booleans as JSON writes them

    def test_the_representation_has_the_keys_the_schema_documents(self, world, source):
        _rich(world, source)
        components = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]

        def keys(schema):
            schema = schema.get("items", schema)
            if "$ref" in schema:
                schema = components[schema["$ref"].rsplit("/", 1)[1]]
            return schema.get("properties")

        documented = keys(components["Project"])
        assert list(documented) == ProjectSerializer.Meta.fields
        shown = set()
        for slug in ("vn-medicine", "hadr-seminar"):  # activities and citations; co-operating countries
            body = APIClient().get(f"/api/v1/projects/{slug}/").json()
            for key, value in body.items():
                nested = (value or [None])[0] if isinstance(value, list) else value
                if isinstance(nested, dict):
                    assert list(nested) == list(keys(documented[key])), key
                    shown.add(key)
            if body["citations"]:
                assert list(body["citations"][0]["source"]) == list(keys(components["SourceRef"]))
        assert shown == {
            "program",
            "partners",
            "fields",
            "cooperating_countries",
            "citations",
            "activities",
            "status_reports",
        }

    def test_a_filtered_second_page_has_the_links_and_the_rows_of_the_detail(self, world, source):
        _rich(world, source)
        response = APIClient().get("/api/v1/projects/", {"page_size": 1, "page": 2, "field": "ha-dr"})
        body = response.json()
        assert body["count"] == 2
        assert body["previous"].endswith("/api/v1/projects/?field=ha-dr&page_size=1")
        assert body["next"] is None
        slug = body["results"][0]["slug"]
        assert body["results"][0] == APIClient().get(f"/api/v1/projects/{slug}/").json()


def _slugs_of(projects, slug):
    return [p["slug"] for p in next(p for p in projects if p["slug"] == slug)["partners"]]


class TestRenderer:
    def test_orjson_renders_what_drfs_renderer_renders(self):
        data = {
            "lazy": gettext_lazy("Completed"),
            "utc": datetime.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.UTC),
            "offset": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=9))),
            "date": datetime.date(2026, 1, 2),
            "time": datetime.time(3, 4, 5, 6000),
            "decimal": decimal.Decimal("1.5"),
            "separators": "line\u2028paragraph\u2029",
            "text": 'quote " backslash \\ tab \t 日本語 😀',
            1: "an int key",
            "nested": [{"a": None, "b": True, "c": 1.25, "d": [1, 2, 3]}, ()],
            "big": 2**62,
        }
        assert ORJSONRenderer().render(data) == JSONRenderer().render(data)

    def test_indented_output_is_left_to_drf(self):
        data = {"a": [1, 2]}
        rendered = ORJSONRenderer().render(data, "application/json; indent=4")
        assert rendered == JSONRenderer().render(data, "application/json; indent=4")


class TestQueryCounts:
    def _projects(self, program, partner, field, n):
        for i in range(n):
            project = Project.objects.create(
                slug=f"q{n}-{i}",
                title=f"Q {n} {i}",
                program=program,
                start_year=2010 + i % 5,
                publication_state="published",
            )
            project.partners.add(partner)
            project.fields.add(field)
            Activity.objects.create(project=project, title=f"A {i}", kind="seminar", year=2010 + i % 5)

    @pytest.mark.parametrize(
        "path",
        [
            "/api/v1/reports/counts/?group_by=field,year",
            "/api/v1/reports/counts/?group_by=partner,status",
            "/api/v1/reports/counts/?group_by=country",
            "/api/v1/reports/counts/?group_by=year&field=ha-dr",
            "/api/v1/reports/matrix/",
            "/api/v1/reports/timeline/",
            "/api/v1/projects/?format=csv",
            "/api/v1/activities/?format=csv",
            "/api/v1/projects/?cursor=&page_size=500",
        ],
    )
    def test_reports_exports_and_cursor_pages_run_the_same_queries_for_3_or_40_projects(
        self, path, program, partner, field
    ):
        counts = []
        for n in (3, 37):
            self._projects(program, partner, field, n)
            response, queries = _queries(APIClient(), path)
            assert response.status_code == 200
            if response.streaming:
                with CaptureQueriesContext(connection) as streamed:
                    b"".join(response.streaming_content)
                queries += [q["sql"] for q in streamed.captured_queries]
            counts.append(len(queries))
        assert counts[0] == counts[1], counts

    @pytest.mark.django_db(transaction=True)  # real commits: the version is bumped then
    def test_the_count_runs_once_per_data_version(self, cached, world):
        client = APIClient()
        _, first = _queries(client, "/api/v1/projects/", {"page_size": 1, "field": "ha-dr"})
        _, second = _queries(client, "/api/v1/projects/", {"page_size": 1, "page": 2, "field": "ha-dr"})
        assert any("COUNT(" in q for q in first)
        assert not any("COUNT(" in q for q in second)
        Project.objects.get(slug="png-band").fields.add(world["vn_ph_hadr"].fields.get())
        response, third = _queries(client, "/api/v1/projects/", {"page_size": 1, "page": 3, "field": "ha-dr"})
        assert any("COUNT(" in q for q in third)
        assert response.json()["count"] == 3


class TestCursorPaging:
    def _walk(self, client, url, params=None, key="next"):
        slugs, pages = [], 0
        response = client.get(url, params)
        while True:
            assert response.status_code == 200, response.content
            body = response.json()
            slugs += [p["slug"] for p in body["results"]]
            pages += 1
            if not body[key]:
                return slugs, pages, body
            response = client.get(body[key])

    def test_it_walks_every_row_once_in_the_default_order_and_back(self, world):
        program = world["balikatan"].program
        for i, start in enumerate([None, 2014, 2014, None, 2030]):
            Project.objects.create(
                slug=f"extra-{i}", title="Same title", program=program, start_year=start, publication_state="published"
            )
        client = APIClient()
        expected = sorted(
            Project.objects.public().values_list("start_year", "title", "pk", "slug"),
            key=lambda r: (r[0] is None, r[0] or 0, r[1], r[2]),
        )
        slugs, pages, last = self._walk(client, "/api/v1/projects/", {"cursor": "", "page_size": 2})
        assert slugs == [r[3] for r in expected]
        assert pages == 5 and last["count"] == 9
        backwards, _, _ = self._walk(client, last["previous"], key="previous")
        assert backwards[:2] == slugs[6:8] and sorted(backwards) == sorted(slugs[:8])

    def test_it_honours_filters(self, world):
        slugs, _, _ = self._walk(APIClient(), "/api/v1/projects/", {"cursor": "", "page_size": 1, "field": "ha-dr"})
        assert slugs == ["hadr-seminar", "balikatan"]

    @pytest.mark.parametrize(
        "params,field",
        [
            ({"cursor": "not-a-cursor"}, "cursor"),
            ({"cursor": base64.urlsafe_b64encode(b'{"p":["x","y",1],"r":false}').decode()}, "cursor"),
            ({"cursor": base64.urlsafe_b64encode(b'{"p":[1,"y"],"r":false}').decode()}, "cursor"),
            ({"cursor": "", "page": "2"}, "cursor"),
            ({"cursor": "", "ordering": "title"}, "ordering"),
        ],
    )
    def test_a_bad_cursor_is_a_400_naming_the_parameter(self, world, params, field):
        response = APIClient().get("/api/v1/projects/", params)
        assert response.status_code == 400
        assert [e["field"] for e in response.json()["errors"]] == [field]

    def test_paging_by_number_is_unchanged(self, world):
        body = APIClient().get("/api/v1/projects/", {"page_size": 3}).json()
        assert body["count"] == 4 and body["next"].endswith("page=2&page_size=3")


def _anonymous_list(client, **params):
    response = client.get("/api/v1/projects/", {"page_size": 50, **params})
    assert response.status_code == 200
    return {p["slug"]: p for p in response.json()["results"]}


def _warm(client, **params):
    """Read the list twice: the second read comes from the cache, with no query at all."""
    _anonymous_list(client, **params)
    with CaptureQueriesContext(connection) as queries:
        listing = _anonymous_list(client, **params)
    assert len(queries) == 0, [q["sql"] for q in queries.captured_queries]
    return listing


@pytest.mark.django_db(transaction=True)  # real commits: the version is bumped then
class TestNoStaleReadAfterAWrite:
    def test_api_writes(self, cached, world, editor, reviewer):
        anonymous, writer, approver = APIClient(), with_reason(APIClient()), APIClient()
        writer.force_authenticate(editor)
        approver.force_authenticate(reviewer)
        assert _warm(anonymous)["balikatan"]["description"] == ""
        detail = anonymous.get("/api/v1/projects/balikatan/").json()
        response = writer.patch("/api/v1/projects/balikatan/", {"description": "Changed"}, format="json")
        assert response.status_code == 200, response.content
        assert _anonymous_list(anonymous)["balikatan"]["description"] == "Changed"
        assert anonymous.get("/api/v1/projects/balikatan/").json()["version"] == detail["version"] + 1

        _warm(anonymous)
        payload = {"slug": "new-one", "title": "New", "program": "vientiane-vision", "partners": ["png"],
                   "start_year": 2020, "published": True}  # fmt: skip
        assert writer.post("/api/v1/projects/", payload, format="json").status_code == 201
        assert "new-one" not in _anonymous_list(anonymous)  # a draft until a reviewer approves it
        assert writer.post("/api/v1/projects/new-one/submit/").status_code == 200
        assert approver.post("/api/v1/projects/new-one/approve/").status_code == 200
        assert "new-one" in _anonymous_list(anonymous)

        _warm(anonymous)
        assert writer.post("/api/v1/projects/new-one/withdraw/").status_code == 200
        assert "new-one" not in _anonymous_list(anonymous)
        assert writer.delete("/api/v1/projects/new-one/").status_code == 204

        _warm(anonymous)
        response = writer.patch("/api/v1/partners/png/", {"name": "Papua New Guinea (PNGDF)"}, format="json")
        assert response.status_code == 200, response.content
        assert _anonymous_list(anonymous)["png-band"]["partners"][0]["name"] == "Papua New Guinea (PNGDF)"

        _warm(anonymous)
        activity = {"project": "png-band", "title": "Band seminar", "kind": "seminar", "year": 2018}
        assert writer.post("/api/v1/activities/", activity, format="json").status_code == 201
        assert [a["title"] for a in _anonymous_list(anonymous)["png-band"]["activities"]] == ["Band seminar"]

    def test_the_admin_change_form(self, cached, world, editor_client):
        anonymous = APIClient()
        _warm(anonymous)
        project = world["balikatan"]
        response = editor_client.post(_url(Project, "change", project.pk), _project_post(project, title="Renamed"))
        assert response.status_code == 302
        assert _anonymous_list(anonymous)["balikatan"]["title"] == "Renamed"

    def test_the_admin_import(self, cached, world, editor_client):
        anonymous = APIClient()
        _warm(anonymous)
        header = (
            "slug,title,program,partners,fields,start_year,end_year,status,cooperating_countries,description,published"
        )
        row = "balikatan,Balikatan exercise,vientiane-vision,png,ha-dr,2017,,ongoing,,Text,1"
        preview = _import(editor_client, Project, f"{header}\n{row}\n")
        assert preview.status_code == 200
        assert _warm(anonymous)["balikatan"]["title"] == "Balikatan"  # a preview writes nothing; the cache serves
        _confirm(editor_client, Project, preview)
        assert _anonymous_list(anonymous)["balikatan"]["partners"][0]["slug"] == "png"
        assert _anonymous_list(anonymous)["balikatan"]["title"] == "Balikatan exercise"

    def test_the_admin_bulk_actions(self, cached, world, editor_client, reviewer):
        from django.test import Client

        anonymous = APIClient()
        _warm(anonymous)
        project = world["png_band"]
        withdraw = {"action": "withdraw_selected", "_selected_action": [project.pk], "review_confirmed": "yes",
                    "review_text": "Recalled"}  # fmt: skip
        editor_client.post(_url(Project, "changelist"), withdraw)
        assert "png-band" not in _anonymous_list(anonymous)
        editor_client.post(
            _url(Project, "changelist"), {"action": "submit_for_review", "_selected_action": [project.pk]}
        )
        reviewing = Client()
        reviewing.force_login(reviewer)
        reviewing.post(_url(Project, "changelist"), {"action": "approve_selected", "_selected_action": [project.pk]})
        assert "png-band" in _warm(anonymous)
        editor_client.post(
            _url(Project, "changelist"), {"action": "set_status_suspended", "_selected_action": [project.pk]}
        )
        assert _anonymous_list(anonymous)["png-band"]["status"] == "suspended"

    def test_model_signals_cover_links_citations_and_deletes(self, cached, world):
        anonymous = APIClient()
        source = Source.objects.create(slug="s", title="Source", year=2019)
        _warm(anonymous)
        world["png_band"].partners.add(Partner.objects.get(slug="vietnam"))
        assert len(_anonymous_list(anonymous)["png-band"]["partners"]) == 2
        _warm(anonymous)
        Citation.objects.create(source=source, section="s", excerpt="e", project=world["png_band"])
        assert _anonymous_list(anonymous)["png-band"]["citations"][0]["excerpt"] == "e"
        _warm(anonymous, field="ha-dr")
        world["balikatan"].fields.clear()
        assert "balikatan" not in _anonymous_list(anonymous, field="ha-dr")
        _warm(anonymous)
        world["png_band"].delete()
        assert "png-band" not in _anonymous_list(anonymous)

    def test_a_write_rolled_back_leaves_the_cache_serving(self, cached, world):
        from django.db import transaction

        anonymous = APIClient()
        _warm(anonymous)
        with pytest.raises(RuntimeError), transaction.atomic():
            Project.objects.filter(slug="png-band").get().delete()
            raise RuntimeError("rolled back")
        assert "png-band" in _warm(anonymous)


class TestETags:
    def test_lists_carry_an_etag_and_answer_if_none_match_with_304(self, world):
        client = APIClient()
        first = client.get("/api/v1/projects/", {"field": "ha-dr"})
        etag = first["ETag"]
        again = client.get("/api/v1/projects/", {"field": "ha-dr"}, HTTP_IF_NONE_MATCH=etag)
        assert again.status_code == 304 and again["ETag"] == etag and again.content == b""
        other = client.get("/api/v1/projects/", {"field": "military-band"}, HTTP_IF_NONE_MATCH=etag)
        assert other.status_code == 200

    @pytest.mark.django_db(transaction=True)
    def test_a_cached_list_answers_304_until_a_write_changes_it(self, cached, world, editor):
        client = APIClient()
        etag = client.get("/api/v1/projects/")["ETag"]
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/projects/", HTTP_IF_NONE_MATCH=etag).status_code == 304
        assert len(queries) == 0
        writer = with_reason(APIClient())
        writer.force_authenticate(editor)
        writer.patch("/api/v1/projects/balikatan/", {"description": "New"}, format="json")
        changed = client.get("/api/v1/projects/", HTTP_IF_NONE_MATCH=etag)
        assert changed.status_code == 200 and changed["ETag"] != etag

    def test_signed_in_users_are_never_served_the_anonymous_cache(self, cached, world, viewer):
        Project.objects.create(slug="secret-draft-plan", title="Draft", program=world["balikatan"].program)
        anonymous = APIClient()
        _warm(anonymous)
        staff = APIClient()
        staff.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=viewer).key}")
        assert "secret-draft-plan" in {p["slug"] for p in staff.get("/api/v1/projects/?page_size=50").json()["results"]}
        assert "secret-draft-plan" not in _anonymous_list(anonymous)


def test_a_dead_cache_costs_only_speed(world, settings, rf):
    """Redis down: counts are counted, answers still get ETags, writes still succeed.
    (Throttling, which needs the cache too, is DRF's and not covered here.)"""
    settings.API_RESPONSE_CACHE = True
    settings.API_COUNT_CACHE = True
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
    }
    assert CachedCountPaginator(Project.objects.public().order_by("pk"), 2).count == 4
    middleware = APIResponseCacheMiddleware(lambda request: JsonResponse({"ok": True}))
    response = middleware(rf.get("/api/v1/projects/"))
    assert response.status_code == 200 and response["ETag"]
    bump_now()  # logged, not raised


def _redis_cache(request):
    """The cache on the real Redis, under a prefix of its own, emptied afterwards."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"No Redis at {REDIS_URL}: {exc}")
    prefix = f"test-{secrets.token_hex(6)}"

    def empty():
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)

    request.addfinalizer(empty)
    backend = "django.core.cache.backends.redis.RedisCache"
    # Every connection the app makes is named after the test, so a test can cut them.
    options = {"client_name": prefix}
    return {"default": {"BACKEND": backend, "LOCATION": REDIS_URL, "KEY_PREFIX": prefix, "OPTIONS": options}}


def _wsgi_get(application, path, query="", **headers):
    """A GET through a WSGI application, as gunicorn makes it: (status, headers, body)."""
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "HTTP_HOST": "testserver"}
    environ.update(headers)
    wsgiref.util.setup_testing_defaults(environ)
    started = {}

    def start_response(status, response_headers, exc_info=None):
        started["status"], started["headers"] = status, response_headers

    result = application(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()
    return started["status"], dict(started["headers"]), body


@pytest.mark.django_db(transaction=True)
class TestTheWSGIFront:
    """tracker.wsgi's front answers the cache's hits without calling Django, with the very
    headers Django sent, and sends everything else (a miss, a signed-in client, a bad
    host, a write) on to Django."""

    @pytest.fixture(params=["local-memory", "redis", "redis-no-process-copy"])
    def front(self, request, cached, settings):
        from tracker.wsgi import django_application

        if request.param.startswith("redis"):
            settings.CACHES = _redis_cache(request)
        if request.param == "redis-no-process-copy":
            settings.API_FRONT_CACHE_BYTES = 0
        calls = []

        def django(environ, start_response):
            calls.append(environ["PATH_INFO"])
            return django_application(environ, start_response)

        front = ResponseCacheFront(django)
        # With Redis the front keeps its own copy and watches the version; without a copy
        # (or without Redis) it asks the cache on every request.
        assert (front.location is not None) is (request.param == "redis")
        return front, calls

    def test_a_hit_is_the_miss_replayed_without_django(self, front, world):
        application, calls = front
        status, headers, body = _wsgi_get(application, "/api/v1/projects/", "field=ha-dr")
        assert status == "200 OK" and len(calls) == 1
        again = _wsgi_get(application, "/api/v1/projects/", "field=ha-dr")
        assert len(calls) == 1
        assert again == (status, headers, body)
        assert headers["Content-Security-Policy"] and headers["X-Frame-Options"] == "DENY"
        assert {p["slug"] for p in json.loads(body)["results"]} == {"balikatan", "hadr-seminar"}

    def test_if_none_match_is_a_304_from_the_front(self, front, world):
        application, calls = front
        etag = _wsgi_get(application, "/api/v1/projects/", HTTP_IF_NONE_MATCH='"stale"')[1]["ETag"]
        status, headers, body = _wsgi_get(application, "/api/v1/projects/", HTTP_IF_NONE_MATCH=etag)
        assert (status, body, headers["ETag"], len(calls)) == ("304 Not Modified", b"", etag, 1)
        # What RFC 9110 (15.4.5) says a 304 repeats, as Django's 304s: nothing of the body.
        assert set(headers) == {"ETag", "Vary", "Cache-Control"}
        assert headers["Vary"] == "Accept, Accept-Language, Cookie, Authorization"
        # The same answer from Django, for a request the front leaves to it.
        direct = _wsgi_get(application.application, "/api/v1/projects/", HTTP_IF_NONE_MATCH=etag)
        assert direct[0] == "304 Not Modified" and direct[1] == headers

    def test_a_write_is_seen_by_the_next_request(self, front, world):
        application, calls = front
        _wsgi_get(application, "/api/v1/projects/")
        project = Project.objects.get(slug="balikatan")  # a write through the ORM: the signal bumps
        project.title = "Renamed"
        project.save()
        status, _, body = _wsgi_get(application, "/api/v1/projects/")
        assert len(calls) == 2
        assert {p["slug"]: p["title"] for p in json.loads(body)["results"]}["balikatan"] == "Renamed"

    @pytest.mark.parametrize(
        "headers",
        [
            {"HTTP_AUTHORIZATION": "Token nope"},
            {"HTTP_COOKIE": "sessionid=abc"},
            {"HTTP_ACCEPT": "text/csv"},
            {"HTTP_HOST": "evil.example"},
        ],
    )
    def test_what_the_cache_may_not_answer_goes_to_django_every_time(self, front, world, headers):
        application, calls = front
        first = _wsgi_get(application, "/api/v1/projects/", **headers)
        second = _wsgi_get(application, "/api/v1/projects/", **headers)
        assert len(calls) == 2
        assert first[0] == second[0]
        if headers.get("HTTP_HOST") == "evil.example":
            assert first[0].startswith("400")


class TestTheVersionWatch:
    """core.cache.front.VersionWatch against the real Redis: a change of the version
    key by any other client is known at the next request, without asking."""

    @pytest.fixture
    def watch(self, request):
        import redis

        from core.cache.front import VersionWatch

        prefix = _redis_cache(request)["default"]["KEY_PREFIX"]
        key = f"{prefix}:1:tracker:data-version"
        other = redis.Redis.from_url(REDIS_URL)
        other.set(key, 7)
        watch = VersionWatch(REDIS_URL, key)
        yield watch, other, key
        watch.close()

    def test_another_clients_bump_is_seen_at_the_next_read(self, watch):
        watch, other, key = watch
        assert watch.current_version() == 7
        for expected in range(8, 58):
            other.incr(key)
            assert watch.current_version() == expected

    def test_a_flush_or_a_lost_key_is_seen(self, watch):
        watch, other, key = watch
        assert watch.current_version() == 7
        other.delete(key)
        assert watch.current_version() is None
        other.set(key, 9)
        assert watch.current_version() == 9

    def test_a_broken_connection_forgets_everything_and_reconnects(self, watch):
        import redis

        watch, other, key = watch
        assert watch.current_version() == 7
        watch.entries["k"] = ([], b"body")
        assert other.client_kill_filter(_id=watch.client_id) == 1
        with pytest.raises(redis.ConnectionError):
            watch.current_version()
        assert watch.entries == {} and watch.version is None
        other.incr(key)
        assert watch.current_version() == 8  # reconnected, subscribed again
        other.incr(key)
        assert watch.current_version() == 9

    def test_entries_are_kept_up_to_the_limit_and_only_for_the_version_they_were_read_under(self, watch):
        import pickle

        from core.cache.front import VersionWatch

        _, other, key = watch
        watch = VersionWatch(REDIS_URL, key, make_key=lambda name: f"{key}:{name}")
        try:
            for name in "abc":
                other.set(f"{key}:{name}", pickle.dumps(([("ETag", '"x"')], name.encode() * 40)))
            assert watch.get_entry("a", 100)[1][1] == b"a" * 40
            assert watch.get_entry("b", 100)[1][1] == b"b" * 40
            assert watch.get_entry("c", 100)[1][1] == b"c" * 40
            assert list(watch.entries) == ["b", "c"]  # 120 bytes do not fit in 100: the oldest went
            other.delete(f"{key}:c")
            assert watch.get_entry("c", 100) == (
                7,
                ([("ETag", '"x"')], b"c" * 40, '"x"', [("ETag", '"x"')]),
            )  # from memory
            other.incr(key)
            assert watch.get_entry("c", 100) == (8, None)  # the copy went with version 7
            assert watch.entries == {}
        finally:
            watch.close()
