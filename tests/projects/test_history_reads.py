"""The history reads cleanly: one entry per save (the record and its links together), a
change reason only where one was given, "changed by" that does not send an editor to a
403, and names, not internal objects, in the delete confirmation."""

import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from partners.models import Partner
from projects.models import Project, ProjectPartner
from tests.conftest import with_reason, withdraw_in_admin
from tests.projects.test_admin import partner_rows
from tests.projects.test_admin_versions import _opened, _save

pytestmark = pytest.mark.django_db


def _api(user):
    client = with_reason(APIClient())
    client.force_authenticate(user)
    return client


def _types(project):
    return [h.history_type for h in Project.objects.get(pk=project.pk).history.order_by("history_id")]


@pytest.fixture
def other_partner(db):
    return Partner.objects.create(name="Philippines", slug="philippines", country="PH", region="southeast_asia")


class TestOneEntryPerSave:
    def test_an_api_creation_with_links_is_one_entry_holding_them(self, editor, program, partner, field):
        response = _api(editor).post(
            "/api/v1/projects/",
            {"title": "New", "slug": "new", "program": program.slug, "partners": [partner.slug],
             "fields": [field.slug], "start_year": 2014},
            format="json",
        )  # fmt: skip
        assert response.status_code == 201
        project = Project.objects.get(slug="new")
        assert _types(project) == ["+"]
        entry = project.history.get()
        assert [p.partner_id for p in entry.partners.all()] == [partner.pk]
        assert entry.history_user == editor

    def test_an_api_update_of_fields_and_links_is_one_entry(self, editor, project, other_partner):
        client = _api(editor)
        etag = client.get(f"/api/v1/projects/{project.slug}/")["ETag"]
        before = len(_types(project))
        response = client.patch(
            f"/api/v1/projects/{project.slug}/",
            {"title": "Renamed", "partners": ["vietnam", "philippines"]},
            format="json",
            HTTP_IF_MATCH=etag,
        )
        assert response.status_code == 200
        assert _types(project)[before:] == ["~"]
        latest = project.history.order_by("-history_id").first()
        assert latest.title == "Renamed" and latest.partners.count() == 2

    def test_an_admin_save_of_fields_and_links_is_one_entry(self, editor_client, project, other_partner):
        before = len(_types(project))
        page = _opened(editor_client, project)
        page["title"] = "Renamed"
        page.update(partner_rows(project, [project.partners.get().pk, other_partner.pk]))
        assert _save(editor_client, project, page).status_code == 302
        assert _types(project)[before:] == ["~"]
        assert project.history.order_by("-history_id").first().partners.count() == 2


class TestTheHistoryPage:
    def _page(self, client, project):
        response = client.get(reverse("admin:projects_project_history", args=[project.pk]))
        assert response.status_code == 200
        return response.content.decode()

    def test_no_none_where_no_reason_was_given_and_a_reason_where_it_was(self, editor_client, editor, project):
        project.title = "Renamed"
        project._history_user = editor
        project._change_reason = "Corrected from the 2020 source"
        project.save()
        table = self._page(editor_client, project).split('id="change-history"')[1].split("</table>")[0]
        assert "None" not in table
        assert "Corrected from the 2020 source" in table

    def test_changed_by_is_a_link_only_for_those_who_may_open_it(
        self, editor_client, administrator_client, editor, project
    ):
        project.title = "Renamed"
        project._history_user = editor
        project.save()
        links = re.findall(r'href="(/admin/auth/user/\d+/change/)"', self._page(editor_client, project))
        assert links == []  # an editor may not view users: no link to a 403
        assert re.search(r"<td>\s*ed\s*</td>", self._page(editor_client, project))  # the name, as text
        links = re.findall(r'href="(/admin/auth/user/\d+/change/)"', self._page(administrator_client, project))
        assert links and administrator_client.get(links[0]).status_code == 200


def test_the_delete_confirmation_names_the_links(editor_client, project):
    withdraw_in_admin(editor_client, project)  # a published record is withdrawn before it is deleted
    page = editor_client.get(reverse("admin:projects_project_delete", args=[project.pk])).content.decode()
    assert "object (" not in page
    assert "HA/DR for Vietnam – Vietnam" in page and "HA/DR for Vietnam – HA/DR" in page


class TestRevertingRestoresLinks:
    def test_the_revert_form_holds_the_links_of_that_version_and_says_what_changes(
        self, editor_client, project, other_partner
    ):
        original = project.history.order_by("-history_id").first()
        page = _opened(editor_client, project)
        page["title"] = "A mistaken title"
        page.update(partner_rows(project, [other_partner.pk]))
        assert _save(editor_client, project, page).status_code == 302
        url = reverse("admin:projects_project_simple_history", args=[project.pk, original.history_id])
        response = editor_client.get(url)
        form = response.context["adminform"].form
        text = re.sub(r"\s+", " ", response.content.decode())
        assert "Reverting to this version changes:" in text
        assert "adds Vietnam" in text and "removes Philippines" in text
        assert "“A mistaken title” → “HA/DR for Vietnam”" in text.replace("&rarr;", "→")

        data = {}
        from tests.projects.test_admin_versions import _fields

        _fields(form, data)
        assert editor_client.post(url, data).status_code == 302
        project.refresh_from_db()
        assert project.title == "HA/DR for Vietnam"
        assert [p.slug for p in project.partners.all()] == ["vietnam"]
        assert project.history.order_by("-history_id").first().partners.get().partner.slug == "vietnam"

    def test_a_revert_brings_back_a_partners_role(self, editor_client, project):
        from tests.projects.test_admin_versions import _fields

        original = project.history.order_by("-history_id").first()
        vietnam = project.partners.get()
        page = _opened(editor_client, project)
        page.update(partner_rows(project, [(vietnam.pk, "venue")]))
        assert _save(editor_client, project, page).status_code == 302
        assert ProjectPartner.objects.get(project=project).role == "venue"
        url = reverse("admin:projects_project_simple_history", args=[project.pk, original.history_id])
        response = editor_client.get(url)
        text = re.sub(r"\s+", " ", response.content.decode())
        assert "adds Vietnam" in text and "removes Vietnam (Venue)" in text
        data = {}
        _fields(response.context["adminform"].form, data)
        assert editor_client.post(url, data).status_code == 302
        assert ProjectPartner.objects.get(project=project).role == "recipient"
        latest = project.history.order_by("-history_id").first()
        assert [(link.partner_id, link.role) for link in latest.partners.all()] == [(vietnam.pk, "recipient")]


def test_saving_a_page_that_changed_nothing_writes_no_entry_and_keeps_the_version(editor_client, project):
    before, version = len(_types(project)), project.version
    assert _save(editor_client, project, _opened(editor_client, project)).status_code == 302
    project.refresh_from_db()
    assert (len(_types(project)), project.version) == (before, version)


def test_a_page_whose_inline_row_changed_saves_the_row_only(editor_client, project):
    before, version = len(_types(project)), project.version
    page = _opened(editor_client, project)
    page["activities-0-title"] = "Seminar renamed"
    assert _save(editor_client, project, page).status_code == 302
    project.refresh_from_db()
    assert (len(_types(project)), project.version) == (before, version)
    assert project.activities.get().title == "Seminar renamed"
