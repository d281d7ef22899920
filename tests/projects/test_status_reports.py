"""A project's status is its latest dated status report's, known as of the date its
source gives (a year, a month or a day); "not reported" where no report says. Every
surface shows the as-of date beside the status: the API, the public pages, the admin."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from projects.models import Project, StatusReport
from tests.conftest import with_reason

pytestmark = pytest.mark.django_db


def _api(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
        with_reason(client)
    return client


class TestTheLatestReportIsTheStatus:
    def test_a_project_with_no_report_is_not_reported(self, draft_project):
        draft_project.refresh_from_db()
        assert (draft_project.status, draft_project.status_as_of) == ("not_reported", "")
        assert draft_project.status_with_date == "Not reported"

    def test_the_latest_date_wins_whatever_order_they_were_entered_in(self, project):
        StatusReport.objects.create(project=project, status="planned", year=2012)
        StatusReport.objects.create(project=project, status="ongoing", year=2015, month=6)
        project.refresh_from_db()
        # 2015-06 is later than the year 2015 (the fixture's "completed").
        assert (project.status, project.status_as_of) == ("ongoing", "2015-06")
        assert project.status_with_date == "Ongoing, as of June 2015"

    def test_deleting_the_latest_falls_back_to_the_one_before(self, project):
        later = StatusReport.objects.create(project=project, status="suspended", year=2016, month=3, day=2)
        project.refresh_from_db()
        assert (project.status, project.status_as_of) == ("suspended", "2016-03-02")
        later.delete()
        project.refresh_from_db()
        assert (project.status, project.status_as_of) == ("completed", "2015")
        project.status_reports.all().delete()  # a queryset delete too
        project.refresh_from_db()
        assert (project.status, project.status_as_of) == ("not_reported", "")

    def test_a_report_cannot_say_not_reported_nor_a_day_the_month_lacks(self, editor, project):
        response = _api(editor).post(
            "/api/v1/status-reports/", {"project": project.slug, "status": "not_reported", "year": 2015}, format="json"
        )
        assert response.status_code == 400 and response.json()["errors"][0]["field"] == "status"
        response = _api(editor).post(
            "/api/v1/status-reports/",
            {"project": project.slug, "status": "ongoing", "year": 2015, "month": 2, "day": 30},
            format="json",
        )
        assert response.status_code == 400 and response.json()["errors"][0]["field"] == "day"


class TestTheAPI:
    def test_a_project_gives_its_status_its_date_and_its_reports(self, client, project):
        body = client.get(f"/api/v1/projects/{project.slug}/").json()
        assert (body["status"], body["status_display"], body["status_as_of"]) == ("completed", "Completed", "2015")
        (report,) = body["status_reports"]
        assert (report["status"], report["as_of"], report["as_of_display"]) == ("completed", "2015", "2015")
        assert [c["excerpt"] for c in report["citations"]] == ["completed in 2015"]
        listed = client.get("/api/v1/projects/").json()["results"]
        assert [(p["status"], p["status_as_of"]) for p in listed] == [("completed", "2015")]

    def test_an_editor_adds_a_report_and_the_project_follows(self, editor, project):
        response = _api(editor).post(
            "/api/v1/status-reports/",
            {"project": project.slug, "status": "ongoing", "year": 2016, "month": 1},
            format="json",
        )
        assert response.status_code == 201, response.content
        assert response.json()["entered_by"] == "ed" and response.json()["as_of"] == "2016-01"
        assert response["ETag"] and response["Location"]
        body = _api().get(f"/api/v1/projects/{project.slug}/").json()
        assert (body["status"], body["status_as_of"]) == ("ongoing", "2016-01")

    def test_the_status_is_not_written_through_the_project(self, editor, project):
        response = _api(editor).patch(f"/api/v1/projects/{project.slug}/", {"status": "ongoing"}, format="json")
        assert response.status_code == 400
        assert "POST /api/v1/status-reports/" in response.json()["errors"][0]["detail"]
        # Sent back as read, it is accepted (a client echoing the representation).
        same = _api(editor).patch(
            f"/api/v1/projects/{project.slug}/", {"status": "completed", "description": "x"}, format="json"
        )
        assert same.status_code == 200

    def test_filters_take_the_current_status_and_its_as_of_year(self, client, project, draft_project):
        assert [p["slug"] for p in client.get("/api/v1/projects/?status=completed").json()["results"]] == [project.slug]
        assert client.get("/api/v1/projects/?status=ongoing").json()["count"] == 0
        assert client.get("/api/v1/projects/?status_as_of_min=2015").json()["count"] == 1
        assert client.get("/api/v1/projects/?status_as_of_max=2014").json()["count"] == 0
        response = client.get("/api/v1/projects/?status_as_of_min=later")
        assert response.status_code == 400 and response.json()["errors"][0]["field"] == "status_as_of_min"

    def test_the_counts_report_counts_the_current_status(self, client, project):
        StatusReport.objects.create(project=project, status="ongoing", year=2016)
        rows = client.get("/api/v1/reports/counts/?group_by=status").json()["results"]
        assert [(r["status"], r["count"]) for r in rows] == [("ongoing", 1)]

    def test_a_drafts_reports_stay_hidden(self, client, draft_project):
        StatusReport.objects.create(project=draft_project, status="planned", year=2020)
        assert client.get("/api/v1/status-reports/").json()["count"] == 0


class TestThePages:
    def test_the_project_page_says_since_when_and_from_which_source(self, client, project):
        StatusReport.objects.create(project=project, status="ongoing", year=2014, month=6)
        page = client.get(project.get_absolute_url()).content.decode()
        assert "Completed, as of 2015" in page
        assert "History: 2 status reports" in page and "Ongoing, as of June 2014" in page
        assert "completed in 2015" in page  # the report's citation

    def test_the_list_shows_the_date_beside_every_status(self, client, project, draft_project):
        page = client.get(reverse("projects:project-list")).content.decode()
        assert "Completed, as of 2015" in page


class TestTheBackOffice:
    def test_a_report_added_on_the_project_page_is_entered_by_the_editor(self, editor_client, project):
        from tests.projects.test_admin import _project_post

        data = _project_post(project)
        i = data["status_reports-TOTAL_FORMS"]
        data.update(
            {"status_reports-TOTAL_FORMS": i + 1, f"status_reports-{i}-status": "suspended",
             f"status_reports-{i}-year": 2016, f"status_reports-{i}-project": project.pk,
             f"status_reports-{i}-releasability": "public"}
        )  # fmt: skip
        response = editor_client.post(reverse("admin:projects_project_change", args=[project.pk]), data)
        assert response.status_code == 302
        report = project.status_reports.get(status="suspended")
        assert report.entered_by.username == "ed"
        project.refresh_from_db()
        assert project.status_with_date == "Suspended, as of 2016"

    def test_a_month_out_of_range_is_shown_at_its_field(self, editor_client, project):
        from tests.projects.test_admin import _project_post

        data = _project_post(project)
        data["status_reports-0-month"] = 13
        response = editor_client.post(reverse("admin:projects_project_change", args=[project.pk]), data)
        assert response.status_code == 200
        (reports,) = [i for i in response.context["inline_admin_formsets"] if i.formset.prefix == "status_reports"]
        assert "month" in reports.formset.forms[0].errors

    def test_the_bulk_action_adds_a_report_as_of_today(self, editor_client, project):
        from django.utils import timezone

        response = editor_client.post(
            reverse("admin:projects_project_changelist"),
            {"action": "set_status_ongoing", "_selected_action": [project.pk]},
        )
        assert response.status_code == 302
        today = timezone.localdate()
        project.refresh_from_db()
        assert (project.status, project.status_as_of) == ("ongoing", today.isoformat())
        assert project.status_reports.count() == 2

    def test_staff_find_statuses_that_may_be_out_of_date(self, editor_client, project, program, partner):
        stale = Project.objects.create(title="Still ongoing?", slug="stale", program=program, start_year=2012,
                                       end_year=2014, publication_state="published")  # fmt: skip
        stale.partners.add(partner)
        StatusReport.objects.create(project=stale, status="ongoing", year=2013)
        response = editor_client.get(reverse("admin:projects_project_changelist") + "?status_out_of_date=yes")
        assert [p.slug for p in response.context["cl"].result_list] == ["stale"]
        assert "Ongoing, as of 2013" in response.content.decode()


class TestImports:
    HEADER = "slug,title,program,partners,fields,start_year,end_year,status,cooperating_countries,description,published"

    def _import(self, client, row):
        from tests.projects.test_admin import _confirm, _import

        preview = _import(client, Project, f"{self.HEADER}\n{row}\n")
        return preview, (lambda: _confirm(client, Project, preview))

    def test_a_status_cell_that_differs_adds_a_report_as_of_the_import(self, editor_client, project):
        from django.utils import timezone

        preview, confirm = self._import(
            editor_client, "ha-dr-vietnam,HA/DR for Vietnam,capacity-building,vietnam,ha-dr,2013,2015,suspended,,,1"
        )
        assert preview.status_code == 200 and not preview.context["result"].has_validation_errors()
        confirm()
        project.refresh_from_db()
        assert (project.status, project.status_as_of) == ("suspended", timezone.localdate().isoformat())
        report = project.status_reports.get(status="suspended")
        assert report.entered_by.username == "ed" and report.history.get().history_type == "+"

    def test_the_same_status_adds_nothing_and_a_wrong_one_is_refused_at_its_cell(self, editor_client, project):
        _, confirm = self._import(
            editor_client, "ha-dr-vietnam,HA/DR renamed,capacity-building,vietnam,ha-dr,2013,2015,completed,,,1"
        )
        confirm()
        assert project.status_reports.count() == 1
        preview, _ = self._import(
            editor_client, "ha-dr-vietnam,HA/DR for Vietnam,capacity-building,vietnam,ha-dr,2013,2015,finished,,,1"
        )
        errors = preview.context["result"].invalid_rows[0].field_specific_errors
        assert "status" in errors and "finished" in errors["status"][0]


def test_a_revert_keeps_the_status_its_reports_give(editor_client, project):
    """A project's history holds the status columns as they were; reverting the project
    to a version written before a later report leaves the status the latest report's."""
    from tests.projects.test_revert_children import _revert, _version

    version = _version(editor_client, project, "HA/DR for Vietnam, renamed")
    StatusReport.objects.create(project=project, status="suspended", year=2016)
    version.status = "ongoing"  # what a history entry of another time might hold
    version.save()
    _revert(editor_client, project, version)
    project.refresh_from_db()
    # The revert takes the report added since away with the rest of its children.
    assert (project.title, project.status, project.status_as_of) == ("HA/DR for Vietnam, renamed", "completed", "2015")


def test_every_export_gives_the_as_of_date_beside_the_status(editor_client, project):
    """The API's CSV and the admin's export carry the date a status is known as of."""
    import csv as csvlib
    import io

    from tests.projects.test_admin import _url

    StatusReport.objects.create(project=project, status="ongoing", year=2015, month=6)
    response = _api().get("/api/v1/projects/?format=csv")
    body = b"".join(response.streaming_content).decode()
    row = next(csvlib.DictReader(io.StringIO(body)))
    assert (row["status"], row["status_as_of"], row["active_until"]) == ("ongoing", "2015-06", "2015")
    columns = "slug status status_as_of"
    form = {"resource": 0, "format": "0", **{f"projectresource_{c}": "on" for c in columns.split()}}
    export = editor_client.post(_url(Project, "export"), form)
    text = b"".join(export.streaming_content).decode() if export.streaming else export.content.decode()
    assert "ha-dr-vietnam,ongoing,2015-06" in text
