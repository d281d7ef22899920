"""Releasability's rules where records are written: a record is never wider than the
record it belongs to (refused by the admin and the API with a message naming the field),
"releasable to partners" names at least one partner, a liaison officer writes nothing
(API and admin), a change of releasability is in the record's history, and the
spreadsheets carry it both ways."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from core.models import Releasability
from partners.models import Partner
from projects.models import Activity, Citation, Project, StatusReport
from tests.conftest import make_liaison

pytestmark = pytest.mark.django_db

INTERNAL, PARTNERS, PUBLIC = Releasability.INTERNAL, Releasability.PARTNERS, Releasability.PUBLIC


@pytest.fixture
def api(editor):
    client = APIClient()
    client.force_authenticate(editor)
    return client


@pytest.fixture
def thailand(db):
    return Partner.objects.create(name="Thailand", slug="thailand", country="TH", region="southeast_asia")


def _errors(response) -> dict:
    """The API's errors by field: {field: [detail, ...]}."""
    found = {}
    for error in response.json()["errors"]:
        found.setdefault(error.get("field"), []).append(error["detail"])
    return found


def _etag(client, url):
    return client.get(url)["ETag"]


class TestNeverWiderThanItsParent:
    def test_the_api_refuses_a_public_activity_of_an_internal_project(self, api, project):
        project.releasability = INTERNAL
        project.save()
        response = api.post(
            "/api/v1/activities/",
            {"project": project.slug, "title": "Drill", "kind": "seminar", "year": 2014, "releasability": "public"},
            format="json",
        )
        assert response.status_code == 400
        assert "Cannot be wider than its project" in str(_errors(response)["releasability"])

    def test_the_api_takes_an_internal_activity_of_an_internal_project(self, api, project):
        project.releasability = INTERNAL
        project.save()
        response = api.post(
            "/api/v1/activities/",
            {"project": project.slug, "title": "Drill", "kind": "seminar", "year": 2014, "releasability": "internal"},
            format="json",
        )
        assert response.status_code == 201, response.json()
        assert response.json()["releasability"] == "internal"

    def test_a_record_releasable_to_a_partner_its_project_is_not_released_to_is_refused(
        self, api, project, partner, thailand
    ):
        project.releasability, project.releasable_to = PARTNERS, [partner.pk]
        project.save()
        response = api.post(
            "/api/v1/status-reports/",
            {"project": project.slug, "status": "ongoing", "year": 2014, "releasability": "partners",
             "releasable_to": ["thailand"]},
            format="json",
        )  # fmt: skip
        assert response.status_code == 400
        assert "is not releasable to Thailand" in str(_errors(response)["releasable_to"])

    def test_partners_releasability_names_a_partner(self, api, project):
        url = f"/api/v1/projects/{project.slug}/"
        response = api.patch(url, {"releasability": "partners"}, format="json", HTTP_IF_MATCH=_etag(api, url))
        assert response.status_code == 400
        assert "Name at least one partner" in str(_errors(response)["releasable_to"])

    def test_an_unknown_partner_slug_is_named(self, api, project):
        url = f"/api/v1/projects/{project.slug}/"
        response = api.patch(
            url, {"releasability": "partners", "releasable_to": ["atlantis"]}, format="json",
            HTTP_IF_MATCH=_etag(api, url),
        )  # fmt: skip
        assert response.status_code == 400
        assert "atlantis" in str(_errors(response)["releasable_to"])

    def test_releasable_to_is_written_and_read_as_slugs_and_cleared_when_public(self, api, draft_project, thailand):
        # A draft: a published record is widened only through review (test_review_workflow).
        project = draft_project
        url = f"/api/v1/projects/{project.slug}/"
        response = api.patch(
            url, {"releasability": "partners", "releasable_to": ["vietnam", "thailand"]}, format="json",
            HTTP_IF_MATCH=_etag(api, url), HTTP_X_CHANGE_REASON="Shared with the two partners",
        )  # fmt: skip
        assert response.status_code == 200, response.json()
        assert response.json()["releasable_to"] == ["thailand", "vietnam"]
        response = api.patch(
            url, {"releasability": "public", "change_reason": "Announced"}, format="json",
            HTTP_IF_MATCH=response["ETag"],
        )  # fmt: skip
        assert response.json()["releasable_to"] == []
        project.refresh_from_db()
        assert project.releasable_to == []

    def test_a_unit_is_never_wider_than_the_partner_it_belongs_to(self, partner):
        partner.releasability = INTERNAL
        partner.save()
        unit = Partner(name="Vietnam Navy", slug="vn-navy", kind="service", country="VN", region="southeast_asia",
                       parent=partner)  # fmt: skip
        with pytest.raises(Exception) as caught:
            unit.full_clean()
        assert "releasability" in caught.value.message_dict

    def test_a_citation_is_never_wider_than_the_record_it_supports(self, project, source):
        activity = project.activities.get()
        activity.releasability = INTERNAL
        activity.save()
        citation = Citation(source=source, section="Table", excerpt="x", activity=activity)
        with pytest.raises(Exception) as caught:
            citation.full_clean()
        assert "releasability" in caught.value.message_dict

    def test_the_admin_shows_the_message_at_the_field(self, editor_client, project):
        project.releasability = INTERNAL
        project.save()
        activity = project.activities.get()
        data = {
            "project": project.pk, "title": activity.title, "slug": activity.slug, "kind": activity.kind,
            "year": activity.year, "releasability": "public", "loaded_version": activity.version,
            "citations-TOTAL_FORMS": 0, "citations-INITIAL_FORMS": 0,
        }  # fmt: skip
        response = editor_client.post(reverse("admin:projects_activity_change", args=[activity.pk]), data)
        assert response.status_code == 200
        assert "releasability" in response.context["adminform"].form.errors

    def test_an_inline_row_releasable_to_partners_is_an_error_on_the_page_not_a_500(self, editor_client, project):
        from tests.projects.test_admin import _project_post

        # An inline row has no list of partners: "releasable to partners" there is a
        # message on the page (naming the field), not a server error.
        data = _project_post(project)
        data["activities-0-releasability"] = "partners"
        response = editor_client.post(reverse("admin:projects_project_change", args=[project.pk]), data)
        assert response.status_code == 200
        assert "Releasable to: Name at least one partner" in response.content.decode()


class TestLiaisonsWriteNothing:
    @pytest.fixture
    def liaison_api(self, partner):
        user = make_liaison("lia", [partner])
        # Even in the Editors group by mistake, a liaison writes nothing.
        from django.contrib.auth.models import Group

        user.groups.add(Group.objects.get(name="Editors"))
        user.is_staff = True
        user.save()
        client = APIClient()
        client.force_authenticate(user)
        return client

    @pytest.mark.parametrize(
        "method, url",
        [
            ("post", "/api/v1/projects/"),
            ("patch", "/api/v1/projects/ha-dr-vietnam/"),
            ("delete", "/api/v1/projects/ha-dr-vietnam/"),
            ("post", "/api/v1/activities/"),
            ("post", "/api/v1/status-reports/"),
            ("patch", "/api/v1/partners/vietnam/"),
            ("post", "/api/v1/fields/"),
        ],
    )
    def test_every_write_is_a_403_that_says_why(self, liaison_api, project, method, url):
        response = getattr(liaison_api, method)(url, {}, format="json")
        assert response.status_code == 403
        assert "liaison officer may read but not change" in str(response.json())
        assert Project.objects.filter(slug="ha-dr-vietnam").exists()

    def test_the_admin_is_closed_to_a_liaison(self, liaison_api, partner, project):
        from django.contrib.auth import get_user_model
        from django.test import Client

        client = Client()
        client.force_login(get_user_model().objects.get(username="lia"))
        assert client.get(reverse("admin:projects_project_changelist")).status_code == 403
        assert client.get(reverse("admin:projects_project_change", args=[project.pk])).status_code == 403

    def test_staff_only_fields_stay_hidden_from_a_liaison_in_a_staff_group(self, liaison_api, project):
        project.staff_note = "For staff only"
        project.save()
        answer = liaison_api.get(f"/api/v1/projects/{project.slug}/").json()
        assert "staff_note" not in answer and "releasable_to" not in answer
        assert answer["releasability"] == "public"

    def test_a_liaison_signs_in_on_the_site_and_is_told_what_they_see(self, partner, client):
        from tests.conftest import PASSWORD

        make_liaison("lia", [partner])
        response = client.post(reverse("login"), {"username": "lia", "password": PASSWORD})
        assert response.status_code == 302
        page = client.get("/").content.decode()
        assert "liaison officer of" in page and "Vietnam" in page
        assert "Sign out" in page


class TestHistory:
    def test_a_change_of_releasability_is_in_the_history_with_its_reason(self, api, project):
        url = f"/api/v1/projects/{project.slug}/"
        response = api.patch(
            url, {"releasability": "internal"}, format="json", HTTP_IF_MATCH=_etag(api, url),
            HTTP_X_CHANGE_REASON="Withdrawn pending review",
        )  # fmt: skip
        assert response.status_code == 200, response.json()
        latest, before = project.history.order_by("-history_date", "-history_id")[:2]
        assert (before.releasability, latest.releasability) == ("public", "internal")
        assert latest.history_change_reason == "Withdrawn pending review"
        assert "releasability" in {change.field for change in latest.diff_against(before).changes}

    def test_the_api_refuses_a_change_of_releasability_without_a_reason(self, api, project):
        url = f"/api/v1/projects/{project.slug}/"
        response = api.patch(url, {"releasability": "internal"}, format="json", HTTP_IF_MATCH=_etag(api, url))
        assert response.status_code == 400
        assert "Say why the releasability changes" in str(_errors(response)["change_reason"])
        project.refresh_from_db()
        assert project.releasability == "public"

    def test_a_reason_in_the_payload_is_taken_and_other_changes_to_a_draft_need_none(self, api, draft_project):
        project = draft_project  # a change to a published record needs a reason (test_review_workflow)
        url = f"/api/v1/projects/{project.slug}/"
        response = api.patch(url, {"title": "Renamed"}, format="json", HTTP_IF_MATCH=_etag(api, url))
        assert response.status_code == 200
        response = api.patch(
            url, {"title": "Renamed again", "change_reason": "Typo"}, format="json", HTTP_IF_MATCH=response["ETag"]
        )
        assert response.status_code == 200
        assert project.history.order_by("-history_date", "-history_id").first().history_change_reason == "Typo"
        response = api.patch(
            url, {"title": "x", "change_reason": "y" * 501}, format="json", HTTP_IF_MATCH=response["ETag"]
        )
        assert response.status_code == 400 and "change_reason" in _errors(response)

    def test_the_admin_asks_for_a_reason_and_records_it(self, editor_client, project):
        from tests.projects.test_admin import _project_post

        url = reverse("admin:projects_project_change", args=[project.pk])
        data = _project_post(project, releasability="internal")
        del data["change_reason"]
        response = editor_client.post(url, data)
        assert response.status_code == 200
        assert "change_reason" in response.context["adminform"].form.errors
        project.refresh_from_db()
        assert project.releasability == "public"
        data = _project_post(project, releasability="internal", change_reason="Not yet announced")
        for prefix in ("activities", "status_reports", "citations"):
            for i in range(data[f"{prefix}-TOTAL_FORMS"]):
                data[f"{prefix}-{i}-releasability"] = "internal"
        response = editor_client.post(url, data)
        assert response.status_code == 302, response.context["adminform"].form.errors
        project.refresh_from_db()
        assert project.releasability == "internal"
        assert project.history.order_by("-history_date", "-history_id").first().history_change_reason == (
            "Not yet announced"
        )


class TestSpreadsheets:
    def test_an_export_names_the_partners_by_slug_and_an_import_reads_them_back(self, project, thailand):
        from projects.resources import ProjectResource

        project.releasability, project.releasable_to = PARTNERS, [thailand.pk]
        project.save()
        dataset = ProjectResource().export(Project.objects.filter(pk=project.pk))
        row = dict(zip(dataset.headers, dataset[0], strict=True))
        assert (row["releasability"], row["releasable_to"]) == ("partners", "thailand")
        dataset.dict = [{**row, "releasability": "internal", "releasable_to": ""}]
        result = ProjectResource().import_data(dataset, dry_run=False, change_reason="Not to be shared")
        assert not result.has_errors() and not result.has_validation_errors()
        project.refresh_from_db()
        assert (project.releasability, project.releasable_to) == ("internal", [])


def test_activity_and_report_models_refuse_wider_than_project(project):
    project.releasability = INTERNAL
    project.save()
    for record in (
        Activity(project=project, title="t", kind="seminar", year=2014),
        StatusReport(project=project, status="ongoing", year=2014),
    ):
        with pytest.raises(Exception) as caught:
            record.full_clean()
        assert "releasability" in caught.value.message_dict


class TestImportsSayWhy:
    """An import that changes a stored record's releasability needs a reason on the
    upload form, named at the field with the file's lines; the reason is in the history
    of every record the import writes."""

    def _upload(self, client, rows, reason=""):
        import io

        from tests.projects.test_imports import CSV_FORMAT, _csv, _url

        header = ["slug", "title", "program", "partners", "start_year", "releasability", "releasable_to"]
        upload = io.BytesIO(_csv(rows, header))
        upload.name = "file.csv"
        data = {"import_file": upload, "format": CSV_FORMAT, "resource": 0, "change_reason": reason}
        return client.post(_url(Project, "import"), data)

    def test_a_changed_releasability_without_a_reason_is_refused_naming_the_lines(self, editor_client, project):
        row = [project.slug, project.title, "capacity-building", "vietnam", 2013, "internal", ""]
        response = self._upload(editor_client, [row])
        assert response.status_code == 200
        assert response.context.get("confirm_form") is None
        assert "Lines 2 change who may see their records" in str(response.context["form"].errors["change_reason"])
        project.refresh_from_db()
        assert project.releasability == "public"

    def test_with_a_reason_it_is_imported_and_the_reason_is_in_the_history(self, editor_client, project):
        from tests.projects.test_imports import _confirm

        row = [project.slug, project.title, "capacity-building", "vietnam", 2013, "internal", ""]
        preview = self._upload(editor_client, [row], reason="Withdrawn from the public pages")
        response = _confirm(editor_client, preview)
        assert response.status_code == 302
        project.refresh_from_db()
        assert project.releasability == "internal"
        latest = project.history.order_by("-history_date", "-history_id").first()
        assert latest.history_change_reason == "Withdrawn from the public pages"

    def test_an_unchanged_releasability_of_a_draft_needs_no_reason(self, editor_client, draft_project):
        row = [draft_project.slug, "Renamed", "capacity-building", "vietnam", 2021, "public", ""]
        response = self._upload(editor_client, [row])
        assert response.context.get("confirm_form") is not None, response.context["form"].errors


@pytest.mark.parametrize(
    "reason, message",
    [(None, "may not be null"), (5, "A string is required"), ("a\x00b", "Null characters are not allowed")],
)
def test_a_change_reason_that_is_not_plain_text_is_a_400_naming_it(api, project, reason, message):
    url = f"/api/v1/projects/{project.slug}/"
    response = api.patch(url, {"title": "x", "change_reason": reason}, format="json", HTTP_IF_MATCH=_etag(api, url))
    assert response.status_code == 400
    assert message in str(_errors(response)["change_reason"])


def test_a_change_reason_header_with_a_nul_is_a_400(api, project):
    url = f"/api/v1/projects/{project.slug}/"
    response = api.patch(
        url, {"title": "x"}, format="json", HTTP_IF_MATCH=_etag(api, url), HTTP_X_CHANGE_REASON="a\x00b"
    )
    assert response.status_code == 400
    assert "X-Change-Reason" in _errors(response)
