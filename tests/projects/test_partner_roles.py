"""A project's partners have roles (projects.models.ProjectPartner): the partner the work
is for, a host, co-host, co-chair or participant, or only the venue. Every filter and
count counts every role but venue unless `partner_role` says otherwise, on both
databases: the API's lists and reports, the CSV, the public pages and the IATI export."""

import csv
import io
import re

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from partners.models import Partner
from projects.models import COUNTED_ROLES, PartnerRole, ProjectPartner
from tests.conftest import make_project, with_reason


@pytest.fixture
def brunei(db):
    return Partner.objects.create(
        name="Brunei", slug="brunei", country="BN", region=Partner.Region.SOUTHEAST_ASIA, asean_member=True
    )


@pytest.fixture
def exercise(db, program, field, partner, brunei):
    """An exercise held in Brunei with Vietnam: Brunei only its venue."""
    project = make_project("ftx-brunei", "FTX held in Brunei", program, Partner.objects.filter(pk=partner.pk),
                           [field], 2013, 2013)  # fmt: skip
    project.partners.add(brunei, through_defaults={"role": PartnerRole.VENUE})
    return project


def _slugs(response):
    assert response.status_code == 200, response.content
    return sorted(p["slug"] for p in response.json()["results"])


def _token_client(editor):
    client = with_reason(APIClient())
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=editor).key}")
    return client


def test_counted_roles_are_every_role_but_venue():
    assert set(COUNTED_ROLES) == set(PartnerRole.values) - {PartnerRole.VENUE}


class TestFilters:
    @pytest.mark.parametrize("query", ["partner=brunei", "country=BN", "asean=true&country=BN"])
    def test_a_venue_is_not_counted_by_default(self, exercise, query):
        assert _slugs(APIClient().get(f"/api/v1/projects/?{query}")) == []

    @pytest.mark.parametrize("query", ["partner=brunei", "country=BN"])
    def test_partner_role_asks_for_venues(self, exercise, query):
        assert _slugs(APIClient().get(f"/api/v1/projects/?{query}&partner_role=venue")) == ["ftx-brunei"]
        assert _slugs(APIClient().get(f"/api/v1/projects/?{query}&partner_role=recipient")) == []

    def test_partner_role_on_its_own_is_the_projects_with_such_a_partner(self, exercise, project):
        assert _slugs(APIClient().get("/api/v1/projects/?partner_role=venue")) == ["ftx-brunei"]
        both = _slugs(APIClient().get("/api/v1/projects/?partner_role=recipient"))
        assert both == ["ftx-brunei", "ha-dr-vietnam"]

    def test_the_recipient_is_counted(self, exercise):
        assert _slugs(APIClient().get("/api/v1/projects/?partner=vietnam")) == ["ftx-brunei"]

    def test_an_unknown_role_is_a_400_naming_the_parameter(self, exercise):
        response = APIClient().get("/api/v1/projects/?partner_role=landlord")
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "partner_role"

    def test_activities_filter_by_role_too(self, exercise, project):
        assert APIClient().get("/api/v1/activities/?partner=brunei").json()["count"] == 0

    def test_the_public_list_counts_the_same(self, client, exercise):
        page = client.get(reverse("projects:project-list"), {"partner": "brunei"})
        assert page.status_code == 200
        assert "FTX held in Brunei" not in page.content.decode()
        page = client.get(reverse("projects:project-list"), {"partner": "brunei", "partner_role": "venue"})
        text = page.content.decode()
        assert "FTX held in Brunei" in text
        assert re.search(r'name="partner_role" value="venue" id="[^"]+" checked', text)


class TestReports:
    def test_counts_by_partner_leave_out_venues_unless_asked(self, exercise):
        rows = APIClient().get("/api/v1/reports/counts/?group_by=partner").json()["results"]
        assert {r["partner"]: r["count"] for r in rows} == {"vietnam": 1}
        rows = APIClient().get("/api/v1/reports/counts/?group_by=country&partner_role=venue").json()["results"]
        assert {r["country"]: r["count"] for r in rows} == {"BN": 1}

    def test_the_matrix_has_no_row_for_a_venue(self, exercise):
        matrix = APIClient().get("/api/v1/reports/matrix/").json()
        assert [row["partner"]["slug"] for row in matrix["rows"]] == ["vietnam"]

    def test_the_home_page_counts_no_venue_as_a_partner(self, client, exercise):
        assert client.get("/").context["headline"]["partners"] == 1


class TestRepresentation:
    def test_each_partner_is_shown_with_its_role(self, exercise):
        body = APIClient().get(f"/api/v1/projects/{exercise.slug}/").json()
        assert [(p["slug"], p["role"]) for p in body["partners"]] == [("brunei", "venue"), ("vietnam", "recipient")]

    def test_the_csv_gives_the_roles_and_the_countries_of_counted_partners(self, exercise):
        response = APIClient().get("/api/v1/projects/?format=csv&partner_role=venue")
        body = b"".join(response.streaming_content) if response.streaming else response.content
        (row,) = csv.DictReader(io.StringIO(body.decode("utf-8-sig")))
        assert (row["partners"], row["partner_roles"], row["countries"]) == ("brunei,vietnam", "venue,recipient", "VN")

    def test_the_project_page_says_which_partner_is_only_the_venue(self, client, exercise):
        page = client.get(exercise.get_absolute_url()).content.decode()
        assert 'Brunei</a> <span class="partner-role">(Venue)</span>' in page

    def test_the_venues_page_lists_it_apart(self, client, exercise, brunei):
        response = client.get(brunei.get_absolute_url())
        assert [p.slug for p in response.context["projects"]] == []
        assert [p.slug for p in response.context["venue_projects"]] == ["ftx-brunei"]


class TestWrites:
    def _etag(self, client, project):
        return client.get(f"/api/v1/projects/{project.slug}/")["ETag"]

    def test_a_partner_is_written_as_a_slug_or_with_its_role(self, editor, exercise):
        client = _token_client(editor)
        response = client.patch(
            f"/api/v1/projects/{exercise.slug}/",
            {"partners": ["vietnam", {"slug": "brunei", "role": "co_host"}]},
            format="json",
            HTTP_IF_MATCH=self._etag(client, exercise),
        )
        assert response.status_code == 200, response.content
        assert dict(ProjectPartner.objects.filter(project=exercise).values_list("partner__slug", "role")) == {
            "vietnam": "recipient",
            "brunei": "co_host",
        }
        latest = exercise.history.order_by("-history_id").first()
        assert sorted(link.role for link in latest.partners.all()) == ["co_host", "recipient"]
        # Now counted: a co-host is a co-organiser.
        assert _slugs(APIClient().get("/api/v1/projects/?partner=brunei")) == ["ftx-brunei"]

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ({"slug": "brunei", "role": "landlord"}, "is not a role"),
            ({"slug": "brunei", "rol": "venue"}, "Unknown key"),
            ({"role": "venue"}, "Give a partner"),
            (7, "Give a partner"),
            ("nowhere", "No partner has the slug"),
        ],
    )
    def test_a_bad_partner_is_a_400_naming_the_field(self, editor, exercise, value, message):
        client = _token_client(editor)
        response = client.patch(
            f"/api/v1/projects/{exercise.slug}/",
            {"partners": [value]},
            format="json",
            HTTP_IF_MATCH=self._etag(client, exercise),
        )
        assert response.status_code == 400
        error = response.json()["errors"][0]
        assert error["field"].startswith("partners") and message in error["detail"]
        assert ProjectPartner.objects.filter(project=exercise).count() == 2

    def test_a_partner_with_two_roles_is_refused(self, editor, exercise):
        client = _token_client(editor)
        response = client.patch(
            f"/api/v1/projects/{exercise.slug}/",
            {"partners": ["brunei", {"slug": "brunei", "role": "venue"}]},
            format="json",
            HTTP_IF_MATCH=self._etag(client, exercise),
        )
        assert response.status_code == 400
        assert "two roles" in response.json()["errors"][0]["detail"]

    def test_writing_the_same_roles_changes_nothing(self, editor, exercise):
        client = _token_client(editor)
        version = exercise.version
        response = client.patch(
            f"/api/v1/projects/{exercise.slug}/",
            {"partners": ["vietnam", {"slug": "brunei", "role": "venue"}]},
            format="json",
            HTTP_IF_MATCH=self._etag(client, exercise),
        )
        assert response.status_code == 200
        exercise.refresh_from_db()
        assert exercise.version == version


def test_iati_names_a_venue_as_a_location_not_a_participant(exercise):
    from projects.iati import iati_activities_document
    from projects.models import Project

    xml = iati_activities_document(projects=Project.objects.filter(pk=exercise.pk), base_url="https://t.example")
    xml = xml.decode()
    assert '<recipient-country code="VN"' in xml and 'code="BN"' not in xml
    assert "<location>" in xml and "Brunei" in xml.split("<location>")[1]


class TestSpreadsheets:
    """The project spreadsheet names each partner by slug, with its role after a colon
    where it is not the recipient ("brunei:venue"), both ways."""

    def test_an_import_gives_the_roles_and_an_export_writes_them(self, editor_client, program, field, partner, brunei):
        from tests.projects.test_imports import HEADER, _confirm, _csv, _preview, _url

        row = ["held", "Held in Brunei", program.slug, "vietnam, brunei:venue", field.slug, 2013, 2013, "", "", "",
               1]  # fmt: skip
        _confirm(editor_client, _preview(editor_client, _csv([row], HEADER)))
        links = dict(ProjectPartner.objects.filter(project__slug="held").values_list("partner__slug", "role"))
        assert links == {"vietnam": "recipient", "brunei": "venue"}
        form = {"resource": 0, "format": 0, **{f"projectresource_{c}": "on" for c in HEADER}}
        from projects.models import Project

        exported = editor_client.post(_url(Project, "export"), form)
        body = b"".join(exported.streaming_content) if exported.streaming else exported.content
        (line,) = [r for r in csv.DictReader(io.StringIO(body.decode("utf-8-sig"))) if r["slug"] == "held"]
        assert line["partners"] == "brunei:venue,vietnam"

    def test_a_role_change_alone_is_imported(self, editor_client, exercise):
        from tests.projects.test_imports import HEADER, _confirm, _csv, _preview

        row = [exercise.slug, exercise.title, exercise.program.slug, "vietnam,brunei:co_host", "ha-dr", 2013, 2013,
               "", "", "", 1]  # fmt: skip
        _confirm(editor_client, _preview(editor_client, _csv([row], HEADER)))
        assert ProjectPartner.objects.get(project=exercise, partner__slug="brunei").role == "co_host"
        latest = exercise.history.order_by("-history_id").first()
        assert sorted(link.role for link in latest.partners.all()) == ["co_host", "recipient"]

    def test_an_unknown_role_is_an_error_naming_it_and_nothing_is_imported(self, editor_client, program, partner):
        from tests.projects.test_imports import HEADER, _csv, _preview

        row = ["held", "Held", program.slug, "vietnam:landlord", "", 2013, 2013, "", "", "", 1]
        response = _preview(editor_client, _csv([row], HEADER))
        assert "unknown role 'landlord'" in response.content.decode().replace("&#x27;", "'")
        assert not ProjectPartner.objects.filter(project__slug="held").exists()
