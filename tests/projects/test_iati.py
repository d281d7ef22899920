"""The IATI 2.03 export (/api/v1/iati/activities.xml, projects/iati.py): valid against the
official schema, published projects only, the mapping of status, dates, sectors and
organisations, the project filters, and a query count that does not grow with the data.

The schema files come from the pyiati package (installed by `make` with --no-deps), found
through its installed-file list without importing it, and lxml reads them from disk only.
"""

import datetime
import io
import os
import subprocess
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from lxml import etree

from partners.models import Partner
from projects.iati import TRACKER_NS, iati_activities_document
from projects.models import Field, Program, Project, StatusReport

pytestmark = pytest.mark.django_db

URL = "/api/v1/iati/activities.xml"
SCHEMA_FILE = "iati/resources/standard/2-03/schemas/iati-activities-schema.xsd"
CBT = f"{{{TRACKER_NS}}}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ROOT = Path(__file__).resolve().parents[2]


class _LocalFilesOnly(etree.Resolver):
    """The schema includes iati-common.xsd and imports xml.xsd: both must come from disk."""

    def resolve(self, url, pubid, context):
        if "://" in url and not url.startswith("file://"):
            raise AssertionError(f"The IATI schema tried to fetch {url} from the network.")
        return None


@cache
def iati_schema():
    try:
        files = metadata.files("pyiati") or []
    except metadata.PackageNotFoundError:
        pytest.fail("The IATI schemas come from pyiati: pip install --no-deps pyiati==0.4.1 (make does it).")
    path = next((Path(f.locate()) for f in files if f.as_posix().endswith(SCHEMA_FILE)), None)
    assert path is not None and path.is_file(), f"pyiati is installed but holds no {SCHEMA_FILE}"
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_LocalFilesOnly())
    return etree.XMLSchema(etree.parse(str(path), parser))


def assert_valid(document):
    schema = iati_schema()
    if not schema.validate(document):
        errors = "\n".join(f"line {e.line}: {e.message}" for e in schema.error_log)
        raise AssertionError(f"Not a valid IATI 2.03 activities document:\n{errors}")


def fetch(client, params=None, **headers):
    response = client.get(URL, params or {}, **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/xml; charset=utf-8"
    return etree.fromstring(b"".join(response.streaming_content))


def activities(document):
    return {a.findtext("iati-identifier"): a for a in document.iter("iati-activity")}


def identifier(slug):
    return f"{settings.IATI_REPORTING_ORG_REF}-{slug}"


def dates(activity):
    return [(d.get("type"), d.get("iso-date"), d.findtext("narrative")) for d in activity.findall("activity-date")]


def sectors(activity):
    return [(s.get("vocabulary"), s.get("code")) for s in activity.findall("sector")]


def organisations(activity):
    return [
        (o.get("role"), o.get("type"), o.get("ref"), o.findtext("narrative"))
        for o in activity.findall("participating-org")
    ]


def omitted(document):
    return [p.get("slug") for p in document.iter(f"{CBT}project")]


# -- valid against the official schema ---------------------------------------------------


def test_the_seed_data_exports_as_a_valid_iati_203_document(anonymous_client):
    call_command("seed", stdout=io.StringIO())
    document = fetch(anonymous_client)
    assert_valid(document)
    exported = activities(document)
    # A project with no status report is left out: IATI has no status for "not known".
    public = Project.objects.public().exclude(status=Project.Status.NOT_REPORTED)
    assert public.count() < Project.objects.public().count()
    dateless = set(public.filter(start_year__isnull=True, end_year__isnull=True).values_list("slug", flat=True))
    assert set(exported) == {
        identifier(slug) for slug in public.exclude(slug__in=dateless).values_list("slug", flat=True)
    }
    assert sorted(omitted(document)) == sorted(dateless)
    assert len(exported) + len(dateless) == public.count() == 31  # of 45: 14 have no status report


def test_the_test_data_exports_as_a_valid_iati_203_document(anonymous_client, world):
    Project.objects.create(slug="draft", title="Draft", program=Program.objects.first(), start_year=2020)
    document = fetch(anonymous_client)
    assert_valid(document)
    assert set(activities(document)) == {identifier(p.slug) for p in world.values()}


def test_the_schema_check_catches_an_invalid_document(anonymous_client, world):
    """A control: the validator really rejects a document that breaks the schema."""
    document = fetch(anonymous_client)
    activity = next(document.iter("iati-activity"))
    activity.remove(activity.find("activity-status"))
    with pytest.raises(AssertionError, match="activity-status"):
        assert_valid(document)


# -- published projects only -------------------------------------------------------------


@pytest.mark.parametrize("persona", ["anonymous_client", "viewer_client", "administrator_client"])
def test_drafts_never_appear_whoever_asks(request, persona, project, draft_project):
    document = fetch(request.getfixturevalue(persona))
    assert set(activities(document)) == {identifier(project.slug)}
    assert draft_project.slug not in omitted(document)
    assert b"Secret draft plan" not in etree.tostring(document)


def test_the_builder_drops_drafts_from_whatever_queryset_it_is_given(project, draft_project):
    document = etree.fromstring(iati_activities_document(projects=Project.objects.all(), base_url="http://x"))
    assert set(activities(document)) == {identifier(project.slug)}


# -- the mapping -------------------------------------------------------------------------


def test_a_completed_project_has_actual_year_dates_and_only_our_own_sector_where_no_dac_code_fits(
    anonymous_client, world
):
    activity = activities(fetch(anonymous_client))[identifier("vn-medicine")]
    assert activity.find("reporting-org").get("type") == "10"
    assert activity.findtext("title/narrative") == "Underwater medicine"
    assert activity.find("activity-status").get("code") == "3"
    assert dates(activity) == [
        ("2", "2012-01-01", "Year only: the sources give the year 2012, not a day."),
        ("4", "2015-12-31", "Year only: the sources give the year 2015, not a day."),
    ]
    assert activity.find(f"{CBT}years").attrib == {"start": "2012", "end": "2015"}
    assert sectors(activity) == [("99", "underwater-medicine")]
    sector = activity.find("sector")
    assert sector.get("vocabulary-uri") == "http://testserver" + reverse("projects-api:field-list")
    assert sector.findtext("narrative") == "Underwater medicine"
    assert [(c.get("code"), c.get("percentage")) for c in activity.findall("recipient-country")] == [("VN", None)]
    tag = activity.find("tag")
    assert (tag.get("vocabulary"), tag.get("code")) == ("99", "capacity-building-assistance")
    link = activity.find("document-link")
    assert link.get("url") == "http://testserver/projects/vn-medicine/"
    assert link.find("category").get("code") == "A12"


def test_an_ongoing_project_has_an_actual_start_a_dac_sector_and_its_co_operating_countries(anonymous_client, world):
    activity = activities(fetch(anonymous_client))[identifier("balikatan")]
    assert activity.find("activity-status").get("code") == "2"
    assert [(t, d) for t, d, _ in dates(activity)] == [("2", "2017-01-01")]
    assert sectors(activity) == [("1", "74020"), ("99", "ha-dr")]
    ref, name = settings.IATI_REPORTING_ORG_REF, settings.IATI_REPORTING_ORG_NAME
    assert organisations(activity) == [
        ("1", "10", ref, name),
        ("4", "10", ref, name),
        ("4", "10", None, "Philippines"),
        ("4", "10", None, "Australia"),
        ("4", "10", None, "United States of America"),
    ]


def test_planned_and_not_yet_reached_dates_are_planned(world):
    program, partner = Program.objects.first(), Partner.objects.get(slug="vietnam")
    planned = Project.objects.create(
        slug="future-plan",
        title="Future plan",
        program=program,
        start_year=2030,
        end_year=2032,
        publication_state="published",
    )
    planned.partners.add(partner)
    StatusReport.objects.create(project=planned, status="planned", year=2015, month=5)
    document = etree.fromstring(
        iati_activities_document(
            projects=Project.objects.all(),
            base_url="http://x",
            now=datetime.datetime(2015, 6, 1, tzinfo=datetime.UTC),
        )
    )
    exported = activities(document)
    assert exported[identifier("future-plan")].find("activity-status").get("code") == "1"
    assert [(t, d) for t, d, _ in dates(exported[identifier("future-plan")])] == [
        ("1", "2030-01-01"),
        ("3", "2032-12-31"),
    ]
    # Completed, but its end (31 December 2015) is still ahead on 1 June 2015: not "actual".
    assert [(t, d) for t, d, _ in dates(exported[identifier("vn-medicine")])] == [
        ("2", "2012-01-01"),
        ("3", "2015-12-31"),
    ]


@pytest.mark.parametrize(
    ("status", "code"),
    [("planned", "1"), ("ongoing", "2"), ("completed", "3"), ("cancelled", "5"), ("suspended", "6")],
)
def test_each_status_maps_to_the_iati_activity_status_codelist(anonymous_client, world, status, code):
    Project.objects.filter(slug="png-band").update(status=status)
    assert activities(fetch(anonymous_client))[identifier("png-band")].find("activity-status").get("code") == code


def test_a_project_without_any_year_is_left_out_and_named(anonymous_client, world):
    undated = Project.objects.create(
        slug="undated", title="Undated", program=Program.objects.first(), publication_state="published"
    )
    undated.partners.add(Partner.objects.get(slug="vietnam"))
    StatusReport.objects.create(project=undated, status="ongoing", year=2015)
    document = fetch(anonymous_client)
    assert_valid(document)
    assert identifier("undated") not in activities(document)
    assert omitted(document) == ["undated"]
    assert "neither a start nor an end year" in next(document.iter(f"{CBT}project")).text


def test_a_project_with_only_an_end_year_has_only_its_end_date(anonymous_client, world):
    Project.objects.filter(slug="png-band").update(start_year=None)
    document = fetch(anonymous_client)
    assert_valid(document)
    activity = activities(document)[identifier("png-band")]
    assert [(t, d) for t, d, _ in dates(activity)] == [("4", "2018-12-31")]
    assert activity.find(f"{CBT}years").attrib == {"end": "2018"}


def test_partner_countries_become_recipient_countries_and_a_regional_organisation_a_multilateral(
    anonymous_client, world
):
    asean = Partner.objects.create(name="ASEAN", slug="asean", kind="organisation", region="southeast_asia")
    project = world["vn_ph_hadr"]
    project.partners.add(asean)
    project.fields.add(Field.objects.create(name="Demining", slug="demining"))
    activity = activities(fetch(anonymous_client))[identifier("hadr-seminar")]
    assert [(c.get("code"), c.get("percentage")) for c in activity.findall("recipient-country")] == [
        ("PH", None),
        ("VN", None),
    ]
    assert ("4", "40", None, "ASEAN") in organisations(activity)
    assert ("4", "10", None, "United Kingdom") in organisations(activity)
    assert sectors(activity) == [("1", "15250"), ("1", "74020"), ("99", "demining"), ("99", "ha-dr")]


def test_japanese_names_are_narratives_in_japanese(anonymous_client, world):
    activity = activities(fetch(anonymous_client))[identifier("png-band")]
    png = next(o for o in activity.findall("participating-org") if o.findtext("narrative") == "Papua New Guinea")
    assert [(n.get(XML_LANG), n.text) for n in png.findall("narrative")] == [
        (None, "Papua New Guinea"),
        ("ja", "パプアニューギニア"),
    ]
    assert activity.get(XML_LANG) == "en"


@override_settings(IATI_REPORTING_ORG_REF="XI-IATI-EXAMPLE", IATI_REPORTING_ORG_NAME="Example ministry")
def test_the_reporting_organisation_comes_from_the_settings(anonymous_client, world):
    activity = activities(fetch(anonymous_client))["XI-IATI-EXAMPLE-png-band"]
    reporting = activity.find("reporting-org")
    assert (reporting.get("ref"), reporting.findtext("narrative")) == ("XI-IATI-EXAMPLE", "Example ministry")


# -- the endpoint: filters, errors, formats, queries --------------------------------------


@pytest.mark.parametrize(
    ("params", "slugs"),
    [
        ({"country": "PG"}, {"png-band"}),
        ({"status": "ongoing"}, {"balikatan"}),
        ({"field": "ha-dr", "year": "2016"}, {"hadr-seminar"}),
        ({"cooperating_country": "US"}, {"balikatan"}),
        ({"program": "vientiane-vision"}, {"balikatan"}),
    ],
)
def test_the_project_filters_apply(anonymous_client, world, params, slugs):
    document = fetch(anonymous_client, params)
    assert set(activities(document)) == {identifier(s) for s in slugs}
    assert_valid(document)


@pytest.mark.parametrize(
    ("params", "field"),
    [({"year": "abc"}, "year"), ({"status": "finished"}, "status"), ({"partner": "atlantis"}, "partner")],
)
def test_an_invalid_filter_is_a_400_naming_the_parameter(anonymous_client, world, params, field):
    response = anonymous_client.get(URL, params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_a_client_asking_for_xml_gets_xml_and_its_errors_in_xml(anonymous_client, world):
    assert activities(fetch(anonymous_client, HTTP_ACCEPT="application/xml"))
    response = anonymous_client.get(URL, {"year": "abc"}, HTTP_ACCEPT="application/xml")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/xml; charset=utf-8"
    error = etree.fromstring(response.content).find("error")
    assert (error.get("field"), error.get("code")) == ("year", "invalid")


def test_no_matching_project_gives_an_empty_document(anonymous_client, world):
    """The schema wants at least one activity; an empty result is still an answer, not an
    error, as in the JSON API (documented in the README)."""
    document = fetch(anonymous_client, {"country": "FR"})
    assert document.tag == "iati-activities" and len(document) == 0


def test_it_only_reads(editor_client, anonymous_client):
    assert editor_client.post(URL).status_code == 405
    assert anonymous_client.post(URL).status_code in {401, 403}


def _count_queries(client):
    with CaptureQueriesContext(connection) as queries:
        document = fetch(client, {"country": ["VN", "PH", "PG"]})
    return len(queries), len(activities(document))


def test_the_query_count_does_not_grow_with_the_number_of_projects(anonymous_client, world):
    few_queries, few = _count_queries(anonymous_client)
    program = Program.objects.first()
    partners, fields = list(Partner.objects.all()), list(Field.objects.all())
    for n in range(30):
        project = Project.objects.create(
            slug=f"extra-{n}", title=f"Extra {n}", program=program, start_year=2014, publication_state="published"
        )
        project.partners.set(partners)
        project.fields.set(fields)
        StatusReport.objects.create(project=project, status="ongoing", year=2015)
    many_queries, many = _count_queries(anonymous_client)
    assert (few, many) == (4, 34)
    # the data version (for the ETag), the projects, their partners, their fields
    assert many_queries == few_queries == 4


def test_the_openapi_schema_documents_the_xml_response(anonymous_client):
    response = anonymous_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    operation = response.json()["paths"][URL]["get"]
    assert "application/xml" in operation["responses"]["200"]["content"]
    assert "400" in operation["responses"]


# -- settings ----------------------------------------------------------------------------


def _settings(env, expr):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("IATI_")}
    clean.update({"DJANGO_SETTINGS_MODULE": "tracker.settings", "SECRET_KEY": "x" * 50}, **env)
    probe = f"import django; django.setup(); from django.conf import settings; print({expr})"
    return subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=clean, capture_output=True, text=True)


def test_the_reporting_organisation_is_read_from_the_environment():
    result = _settings(
        {"IATI_REPORTING_ORG_REF": "XI-IATI-EXAMPLE", "IATI_REPORTING_ORG_NAME": "Example"},
        "settings.IATI_REPORTING_ORG_REF, settings.IATI_REPORTING_ORG_NAME",
    )
    assert result.stdout.strip() == "XI-IATI-EXAMPLE Example"


@pytest.mark.parametrize("value", ["JP MOD", "a/b", " "])
def test_a_bad_reporting_organisation_reference_names_the_variable(value):
    result = _settings({"IATI_REPORTING_ORG_REF": value}, "'started'")
    assert result.returncode != 0
    assert "IATI_REPORTING_ORG_REF must be an organisation identifier" in result.stderr


def test_the_status_and_its_date_come_from_the_latest_report(anonymous_client, project):
    document = fetch(anonymous_client)
    activity = activities(document)[identifier(project.slug)]
    assert activity.find("activity-status").get("code") == "3"  # completed, as of 2015
    other = [d.find("narrative").text for d in activity.findall("description") if d.get("type") == "4"]
    assert other == ["Status: Completed, as of 2015 (its latest status report)."]
    project.status_reports.all().delete()
    assert identifier(project.slug) not in activities(fetch(anonymous_client))
