"""Requests the API refuses, in its own error shape, before they cost anything: bodies too
large or nested too deep, lists and filters with too many values, searches with too many
words, query parameters it does not know; and report CSV that is CSV even when empty."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.api.parsers import MAX_JSON_DEPTH
from core.api.serializers import MAX_LIST_VALUES
from core.filtersets import MAX_FILTER_VALUES, MAX_SEARCH_TERMS
from projects.models import Field, Project
from tests.conftest import with_reason

pytestmark = pytest.mark.django_db


@pytest.fixture
def token_client(editor):
    client = with_reason(APIClient())
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=editor).key}")
    return client


def _errors(response):
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    return response.json()["errors"]


def _unchanged(project):
    stored = Project.objects.get(pk=project.pk)
    return stored.version == project.version and stored.title == project.title


def _write(client, method, url, body):
    return client.generic(method, url, body, content_type="application/json")


class TestBodies:
    @pytest.mark.parametrize("size_mb", [6, 60])
    @pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
    def test_a_body_over_the_size_limit_is_a_413_in_the_api_error_shape(self, token_client, project, method, size_mb):
        url = "/api/v1/projects/" if method == "POST" else f"/api/v1/projects/{project.slug}/"
        body = json.dumps({"title": "x" * (size_mb * 1024 * 1024)})
        response = _write(token_client, method, url, body)
        assert response.status_code == 413
        assert _errors(response)[0]["code"] == "too_large"
        assert _unchanged(project)

    def test_a_body_over_the_size_limit_is_json_for_a_signed_in_browser_too(self, editor_client, project):
        response = _write(editor_client, "PATCH", f"/api/v1/projects/{project.slug}/", "[" + "1," * 3_000_000 + "1]")
        assert response.status_code == 413 and _errors(response)[0]["code"] == "too_large"

    @pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 3_000, 100_000])
    def test_json_nested_too_deep_is_a_400(self, token_client, project, depth):
        response = _write(token_client, "PATCH", f"/api/v1/projects/{project.slug}/", "[" * depth + "]" * depth)
        assert response.status_code == 400
        assert _errors(response)[0]["code"] == "parse_error"
        assert _unchanged(project)

    def test_json_as_deep_as_the_limit_is_parsed(self, token_client, project):
        nested = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
        response = _write(token_client, "PATCH", f"/api/v1/projects/{project.slug}/", f'{{"title": {nested}}}')
        assert response.status_code == 400
        assert _errors(response)[0]["field"] == "title", "parsed, then refused by the field, not the parser"


class TestLists:
    @pytest.mark.parametrize("name", ["partners", "fields", "cooperating_countries"])
    def test_a_list_with_too_many_values_is_a_400_naming_it_before_any_lookup(self, token_client, project, name):
        values = ["VN"] * 400_000 if name == "cooperating_countries" else ["vietnam"] * 400_000
        with CaptureQueriesContext(connection) as queries:
            response = _write(token_client, "PATCH", f"/api/v1/projects/{project.slug}/", json.dumps({name: values}))
        assert response.status_code == 400
        errors = _errors(response)
        assert errors[0]["field"] == name and str(MAX_LIST_VALUES) in errors[0]["detail"]
        assert len(queries) < 20
        assert _unchanged(project)

    def test_a_list_at_the_limit_is_accepted(self, token_client, project, partner):
        response = _write(
            token_client, "PATCH", f"/api/v1/projects/{project.slug}/", json.dumps({"partners": ["vietnam"] * 100})
        )
        assert response.status_code == 200, response.content

    @pytest.mark.parametrize("url", ["/api/v1/projects/", "/api/v1/activities/", "/api/v1/reports/timeline/"])
    def test_a_filter_with_too_many_values_is_a_400_naming_it(self, project, url):
        query = "&".join(["country=VN"] * (MAX_FILTER_VALUES + 1))
        response = APIClient().get(f"{url}?{query}")
        assert response.status_code == 400
        assert _errors(response)[0]["field"] == "country"
        assert APIClient().get(f"{url}?{'&'.join(['country=VN'] * MAX_FILTER_VALUES)}").status_code == 200

    def test_every_list_parameter_refuses_more_values_than_its_documented_max_items(self, project, partner):
        from drf_spectacular.generators import SchemaGenerator

        valid = {"partner": partner.slug, "field": "ha-dr", "program": "capacity-building", "project": project.slug}
        schema = SchemaGenerator().get_schema(request=None, public=True)
        checked = []
        required = {"group_by": "year"}  # the one required parameter (reports/counts/)
        for path, operations in schema["paths"].items():
            parameters = operations.get("get", {}).get("parameters", [])
            base = {p["name"]: required[p["name"]] for p in parameters if p.get("required") and p["in"] == "query"}
            for parameter in parameters:
                spec = parameter["schema"]
                if parameter["in"] != "query" or spec.get("type") != "array":
                    continue
                items = spec["items"]
                value = (
                    items["enum"][0]
                    if "enum" in items
                    else "VN"
                    if "[A-Za-z]{2}" in items.get("pattern", "")
                    else valid[parameter["name"]]
                )
                name = parameter["name"]
                url = path.replace("{slug}", project.slug)
                too_many = APIClient().get(url, {**base, name: [value] * (spec["maxItems"] + 1)})
                assert too_many.status_code == 400, (url, name, too_many.content)
                assert [(e["field"], e["code"]) for e in _errors(too_many)] == [(name, "too_many_values")], (url, name)
                at_limit = APIClient().get(url, {**base, name: [value] * spec["maxItems"]})
                assert at_limit.status_code == 200, (url, name, at_limit.content)
                checked.append(f"{url} {name}")
        assert len(checked) > 40 and "/api/v1/activities/ ordering" in checked

    def test_too_many_query_parameters_is_a_400_in_the_api_error_shape(self, project):
        response = APIClient().get("/api/v1/projects/?" + "&".join(f"country=VN{i}" for i in range(1_200)))
        assert response.status_code == 400
        assert _errors(response)


class TestSearchTerms:
    @pytest.mark.parametrize(
        "url", ["/api/v1/projects/", "/api/v1/activities/", "/api/v1/partners/", "/api/v1/reports/matrix/"]
    )
    def test_a_search_with_too_many_words_is_a_400_naming_q(self, project, url):
        words = " ".join(f"w{i}" for i in range(MAX_SEARCH_TERMS + 1))
        response = APIClient().get(url, {"q": words})
        assert response.status_code == 400
        assert _errors(response)[0]["field"] == "q"
        assert APIClient().get(url, {"q": " ".join(["seminar"] * MAX_SEARCH_TERMS)}).status_code == 200

    def test_the_public_list_says_so_beside_the_search_box(self, client, project):
        response = client.get("/projects/", {"q": " ".join(f"w{i}" for i in range(1_900))[:200]})
        assert response.status_code == 400
        assert f"at most {MAX_SEARCH_TERMS} words" in response.content.decode()


class TestUnknownParameters:
    @pytest.mark.parametrize(
        "url,typo,meant",
        [
            ("/api/v1/projects/", "contry", "country"),
            ("/api/v1/projects/?format=csv", "staus", "status"),
            ("/api/v1/activities/", "kinds", "kind"),
            ("/api/v1/partners/", "regoin", "region"),
            ("/api/v1/fields/", "page_sise", "page_size"),
            ("/api/v1/reports/counts/?group_by=field", "grup_by", "group_by"),
            ("/api/v1/reports/matrix/", "yaer", "year"),
            ("/api/v1/reports/timeline/", "progam", "program"),
            ("/api/v1/iati/activities.xml", "contry", "country"),
            ("/api/v1/projects/ha-dr-vietnam/", "fields", None),
        ],
    )
    def test_an_unknown_parameter_is_a_400_naming_it_with_the_nearest_known_one(self, project, url, typo, meant):
        separator = "&" if "?" in url else "?"
        response = APIClient().get(f"{url}{separator}{typo}=x")
        assert response.status_code == 400
        if "format=csv" in url:  # the error in the format asked for
            lines = response.content.decode().splitlines()
            assert lines[0] == "field,code,detail" and lines[1].startswith(f"{typo},invalid,")
            return
        error = _errors(response)[0]
        assert error["field"] == typo and error["code"] == "invalid"
        if meant:
            assert f"Did you mean {meant!r}?" in error["detail"]

    def test_parameters_the_schema_forbids_are_refused(self, project):
        assert APIClient().get("/api/v1/reports/timeline/?ordering=,,,").status_code == 400
        assert APIClient().get("/api/v1/projects/?ordering=,,,").status_code == 400
        assert APIClient().get("/api/v1/projects/?ordering=-start_year,title").status_code == 200

    @pytest.mark.parametrize("url", ["/api/v1/reports/timeline/", "/api/v1/iati/activities.xml"])
    def test_a_method_the_endpoint_lacks_is_a_405_whatever_the_parameters(self, editor, url):
        client = APIClient()
        client.force_authenticate(editor)
        assert client.put(f"{url}?contry=VN", {}, format="json").status_code == 405

    def test_the_parameters_every_list_takes_are_accepted(self, project):
        assert APIClient().get("/api/v1/projects/?format=json&page=1&page_size=10").status_code == 200
        assert APIClient().get("/api/v1/projects/?cursor=").status_code == 200
        assert APIClient().get("/api/v1/partners/?format=csv&page_size=5").status_code == 200


class TestReportCSV:
    @pytest.mark.parametrize(
        "url,header",
        [
            ("/api/v1/reports/counts/?group_by=field,year", "field,field_name,year,year_name,count"),
            ("/api/v1/reports/counts/?group_by=country", "country,country_name,count"),
            ("/api/v1/reports/matrix/", "partner,partner_name,country,field,projects"),
            ("/api/v1/reports/timeline/", "year,total"),
        ],
    )
    def test_an_empty_report_is_still_csv_with_its_header_row_and_a_file_name(self, project, url, header):
        response = APIClient().get(f"{url}&year=1950&format=csv" if "?" in url else f"{url}?year=1950&format=csv")
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response.content.decode().splitlines() == [header]
        assert (
            response["Content-Disposition"].startswith('attachment; filename="')
            and ".csv" in response["Content-Disposition"]
        )

    def test_a_report_with_rows_keeps_its_columns(self, project):
        lines = APIClient().get("/api/v1/reports/timeline/?format=csv").content.decode().splitlines()
        assert lines[0] == "year,total,ha-dr" and lines[1:] == ["2013,1,1", "2014,1,1", "2015,1,1"]


class TestStringLengths:
    """The schema's maxLength is the length of what the client sends (schemathesis
    ST201: a name of 200 characters after a leading vertical tab was accepted, since DRF
    trimmed it before checking the length)."""

    def test_a_string_over_its_limit_with_whitespace_around_it_is_a_400(self, token_client):
        body = json.dumps({"slug": "vuuc", "name": "\u000b" + "E" * 200})
        response = _write(token_client, "POST", "/api/v1/fields/", body)
        assert response.status_code == 400
        [error] = _errors(response)
        assert (error["field"], error["code"]) == ("name", "max_length")
        assert error["detail"] == "Ensure this field has no more than 200 characters."
        assert not Field.objects.filter(slug="vuuc").exists()

    def test_every_string_field_of_every_writable_serializer_counts_what_was_sent(self):
        from rest_framework import serializers as drf

        checked = []
        for serializer_name, name, field in _writable_fields():
            if isinstance(field, drf.CharField) and field.max_length:
                with pytest.raises(drf.ValidationError) as refused:
                    field.run_validation(" " + "a" * field.max_length)
                assert refused.value.get_codes() == ["max_length"], (serializer_name, name)
                checked.append(f"{serializer_name}.{name}")
        assert {"FieldSerializer.name", "PartnerSerializer.name", "ProjectSerializer.title"} <= set(checked)


def _writable_fields():
    """(serializer name, field name, field) for every writable field of every serializer the
    API writes with."""
    import partners.api.serializers  # noqa: F401  (the apps' serializers, so they are subclasses below)
    import projects.api.serializers  # noqa: F401
    from core.api.serializers import ModelRulesSerializer

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    for serializer_class in set(subclasses(ModelRulesSerializer)):
        for name, field in serializer_class().fields.items():
            if not field.read_only:
                yield serializer_class.__name__, name, field


class TestCountries:
    """A country is an ISO alpha-2 code as the schema's CountryEnum lists them (schemathesis:
    an activity's location_country given as a number was accepted; django-countries also
    takes alpha-3 codes, numeric codes, names and objects)."""

    NOT_CODES = [392, "JPN", "Japan", "jp", {"code": "JP"}, ["JP"], True, "392"]

    def test_every_country_field_of_every_writable_serializer_takes_only_codes(self):
        from django_countries import serializer_fields as country_fields
        from rest_framework import serializers as drf

        checked = []
        for serializer_name, name, field in _writable_fields():
            single = isinstance(field, country_fields.CountryField)
            listed = isinstance(field, drf.ListField) and isinstance(field.child, country_fields.CountryField)
            if not (single or listed):
                continue
            wrap = (lambda v: v) if single else (lambda v: [v])
            assert field.run_validation(wrap("JP")) == wrap("JP"), (serializer_name, name)
            for value in self.NOT_CODES:
                with pytest.raises(drf.ValidationError):
                    field.run_validation(wrap(value))
            if listed:
                for value in ("JP", "JP,VN", {"JP": 1}, 392):
                    with pytest.raises(drf.ValidationError):
                        field.run_validation(value)
            checked.append(f"{serializer_name}.{name}")
        assert {
            "ActivitySerializer.location_country",
            "PartnerSerializer.country",
            "ProjectSerializer.cooperating_countries",
        } <= set(checked)

    @pytest.mark.parametrize("value", [392, "JPN", "Japan", {"code": "JP"}])
    def test_an_activity_with_a_country_that_is_not_a_code_is_a_400_naming_it(self, token_client, project, value):
        before = project.activities.count()
        body = {"project": project.slug, "title": "Port call", "kind": "other", "year": 2014, "location_country": value}
        response = _write(token_client, "POST", "/api/v1/activities/", json.dumps(body))
        assert response.status_code == 400, response.content
        assert [e["field"] for e in _errors(response)] == ["location_country"]
        assert project.activities.count() == before

    def test_co_operating_countries_as_a_string_are_a_400_naming_them(self, token_client, project):
        response = _write(
            token_client, "PATCH", f"/api/v1/projects/{project.slug}/", json.dumps({"cooperating_countries": "VN"})
        )
        assert response.status_code == 400, response.content
        assert [e["field"] for e in _errors(response)] == ["cooperating_countries"]
        assert _unchanged(project)

    def test_codes_are_accepted(self, token_client, project):
        body = {"project": project.slug, "title": "Port call", "kind": "other", "year": 2014, "location_country": "VN"}
        assert _write(token_client, "POST", "/api/v1/activities/", json.dumps(body)).status_code == 201
        response = _write(
            token_client, "PATCH", f"/api/v1/projects/{project.slug}/", json.dumps({"cooperating_countries": ["VN"]})
        )
        assert response.status_code == 200, response.content
        assert [c["code"] for c in response.json()["cooperating_countries"]] == ["VN"]
