"""Optimistic locking beyond the change form: spreadsheet imports check each row's version,
and bulk actions lock and re-read the rows they change, so an import, a bulk action and
an editor's form never silently overwrite one another."""

import io
import threading

import pytest
from django.db import OperationalError, connection, transaction
from django.urls import reverse

from core import review
from partners.models import Partner
from projects.models import Project
from tests.conftest import TEST_REASON
from tests.fuzz.forms import admin_form_data
from tests.fuzz.snapshot import changed_tables, db_snapshot

CHANGELIST = "admin:projects_project_changelist"


def _change_url(project):
    return reverse("admin:projects_project_change", args=[project.pk])


def _export_csv(client):
    columns = "slug title program partners fields start_year end_year status cooperating_countries description"
    form = {"resource": 0, "format": "0", **{f"projectresource_{c}": "on" for c in [*columns.split(), "version"]}}
    response = client.post(reverse("admin:projects_project_export"), form)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return body.decode("utf-8-sig")


def _import(client, text):
    upload = io.BytesIO(text.encode())
    upload.name = "projects.csv"
    data = {"import_file": upload, "format": "0", "resource": 0, "change_reason": TEST_REASON}
    return client.post(reverse("admin:projects_project_import"), data)


def _confirm(client, preview):
    return client.post(reverse("admin:projects_project_process_import"), preview.context["confirm_form"].initial)


def _edited(csv_text, old, new):
    header, *rows = csv_text.strip().splitlines()
    return "\n".join([header, *[row.replace(old, new) for row in rows]]) + "\n"


@pytest.mark.django_db
class TestImportVersions:
    def test_an_export_carries_each_projects_version(self, editor_client, project):
        header, row = _export_csv(editor_client).strip().splitlines()
        assert header.split(",")[-1] == "version"
        assert row.split(",")[-1] == str(project.version)

    def test_a_row_with_the_current_version_updates_the_project_and_moves_the_version_on(self, editor_client, project):
        exported = _export_csv(editor_client)
        preview = _import(editor_client, _edited(exported, "HA/DR for Vietnam", "HA/DR for Viet Nam"))
        assert preview.context["confirm_form"] is not None
        _confirm(editor_client, preview)
        project.refresh_from_db()
        assert project.title == "HA/DR for Viet Nam"
        assert project.version == 2

    def test_a_row_whose_project_changed_since_the_export_is_refused_and_nothing_is_imported(
        self, editor_client, other_editor_client, project, draft_project
    ):
        exported = _export_csv(editor_client)
        # Eve saves the project through its change form after the file was exported.
        page = other_editor_client.get(_change_url(project))
        saved = other_editor_client.post(_change_url(project), {**admin_form_data(page), "title": "Eve's title"})
        assert saved.status_code == 302
        before = db_snapshot()
        edited = _edited(_edited(exported, "HA/DR for Vietnam", "Ed's title"), "Secret draft plan", "Ed's draft")
        preview = _import(editor_client, edited)
        assert preview.context.get("confirm_form") is None
        html = preview.content.decode()
        assert "was changed by eve" in html
        assert "the file holds version 1, the tracker version 2" in html
        assert changed_tables(before, db_snapshot()) == []
        project.refresh_from_db()
        assert project.title == "Eve's title"

    def test_a_change_between_preview_and_confirmation_is_refused_at_the_confirmation(
        self, editor_client, editor, project, draft_project
    ):
        exported = _export_csv(editor_client)
        preview = _import(editor_client, _edited(exported, "completed", "suspended"))
        assert preview.context["confirm_form"] is not None
        # Someone submits the draft for review between the preview and the confirmation.
        review.take_step(review.SUBMIT, draft_project, editor)
        before = db_snapshot()
        response = _confirm(editor_client, preview)
        assert response.status_code == 302
        (message,) = [str(m) for m in response.wsgi_request._messages]
        assert message.startswith("Nothing was imported: row 2: version: this project was changed by ed")
        assert changed_tables(before, db_snapshot()) == []
        project.refresh_from_db()
        assert project.status == "completed"  # row 1 was valid, but the file is all or nothing

    def test_a_row_without_a_version_overwrites_on_purpose(self, editor_client, project):
        exported = _export_csv(editor_client)
        project.title = "Changed since"
        project.save()
        header, row = exported.strip().splitlines()
        cells = row.split(",")
        cells[1], cells[-1] = "Overwritten", ""
        preview = _import(editor_client, f"{header}\n{','.join(cells)}\n")
        _confirm(editor_client, preview)
        project.refresh_from_db()
        assert project.title == "Overwritten"
        # A file without the column at all (made by hand) is taken the same way.
        header = ",".join(header.split(",")[:-1])
        preview = _import(editor_client, f"{header}\n{','.join(cells[:-1]).replace('Overwritten', 'By hand')}\n")
        _confirm(editor_client, preview)
        project.refresh_from_db()
        assert project.title == "By hand"

    @pytest.mark.parametrize(
        "version,message",
        [
            ("abc", "&#x27;abc&#x27; is not a version number"),
            ("0", "&#x27;0&#x27; is not a version number"),
            ("1.5", "&#x27;1.5&#x27; is not a version number"),
        ],
    )
    def test_a_version_that_is_not_a_version_number_is_refused(self, editor_client, project, version, message):
        header, row = _export_csv(editor_client).strip().splitlines()
        preview = _import(editor_client, f"{header}\n{row.rsplit(',', 1)[0]},{version}\n")
        assert preview.context.get("confirm_form") is None
        assert message in preview.content.decode()

    def test_a_versioned_row_for_a_project_that_no_longer_exists_is_refused(self, editor_client, project):
        exported = _export_csv(editor_client)
        preview = _import(editor_client, _edited(exported, "ha-dr-vietnam,", "renamed-meanwhile,"))
        assert preview.context.get("confirm_form") is None
        assert "which no longer exists" in preview.content.decode()
        assert not Project.objects.filter(slug="renamed-meanwhile").exists()


@pytest.mark.django_db
class TestBulkActionsAndTheChangeForm:
    def test_a_stale_change_form_is_refused_after_a_bulk_action_and_neither_change_is_lost(
        self, editor_client, other_editor_client, draft_project
    ):
        # Ed opens the draft's change form; meanwhile Eve submits it for review with the bulk action.
        page = editor_client.get(_change_url(draft_project))
        stale = {**admin_form_data(page), "title": "Ed's title"}
        submit = {"action": "submit_for_review", "_selected_action": [draft_project.pk]}
        other_editor_client.post(reverse(CHANGELIST), submit)
        draft_project.refresh_from_db()
        assert draft_project.publication_state == "in_review" and draft_project.version == 2

        # Ed's form, loaded at version 1, is refused: it cannot overwrite what Eve submitted.
        response = editor_client.post(_change_url(draft_project), stale)
        assert response.status_code == 200
        assert "was changed by eve" in response.content.decode()
        draft_project.refresh_from_db()
        assert draft_project.publication_state == "in_review" and draft_project.title == "Secret draft plan"

        # Reloaded, Ed's change is made on top of Eve's: both stand.
        page = editor_client.get(_change_url(draft_project))
        saved = editor_client.post(_change_url(draft_project), {**admin_form_data(page), "title": "Ed's title"})
        assert saved.status_code == 302
        draft_project.refresh_from_db()
        assert (draft_project.title, draft_project.publication_state, draft_project.version) == (
            "Ed's title", "in_review", 3
        )  # fmt: skip
        assert [str(h.history_user) for h in draft_project.history.order_by("history_date")][-2:] == ["eve", "ed"]

    def test_a_bulk_action_after_an_edit_keeps_the_edit(self, editor_client, other_editor_client, draft_project):
        page = editor_client.get(_change_url(draft_project))
        editor_client.post(_change_url(draft_project), {**admin_form_data(page), "title": "Ed's title"})
        other_editor_client.post(
            reverse(CHANGELIST), {"action": "set_status_ongoing", "_selected_action": [draft_project.pk]}
        )
        draft_project.refresh_from_db()
        # The bulk action adds a status report (the project's own fields, and version, stay).
        assert (draft_project.title, draft_project.status, draft_project.version) == ("Ed's title", "ongoing", 2)
        assert draft_project.status_reports.get().entered_by.username == "eve"


@pytest.mark.django_db(transaction=True)
def test_a_bulk_action_during_an_edit_in_progress_does_not_lose_either_change(editor, other_editor, draft_project):
    """An editor's save holds the project's row (the change form locks it with
    select_for_update) while a bulk action runs on another connection.

    On PostgreSQL the bulk action waits for the row, then applies its change on top of the
    edit: both stand, each with its own version and history record. SQLite has no row
    locks; its whole database is locked by the edit's write, so the bulk action fails at
    once with an error and changes nothing, and the edit stands."""
    holding, release, outcome = threading.Event(), threading.Event(), {}

    def edit():
        try:
            with transaction.atomic():
                project = Project.objects.select_for_update().get(pk=draft_project.pk)
                project.title = "Edited title"
                project._history_user = editor
                project.save()
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    def bulk():
        try:
            done, _refused = review.take_steps(review.SUBMIT, Project.objects.filter(pk=draft_project.pk), other_editor)
            outcome["count"] = len(done)
        except OperationalError as exc:
            outcome["error"] = str(exc)
        finally:
            connection.close()

    editing = threading.Thread(target=edit)
    editing.start()
    assert holding.wait(10)
    publishing = threading.Thread(target=bulk)
    publishing.start()
    publishing.join(1.0)
    waited = publishing.is_alive()
    release.set()
    editing.join(10)
    publishing.join(10)

    draft_project.refresh_from_db()
    history = list(draft_project.history.order_by("history_date"))
    if connection.vendor == "postgresql":
        assert waited, "the bulk action must wait for the row the edit holds"
        assert outcome == {"count": 1}
        assert (draft_project.title, draft_project.publication_state, draft_project.version) == (
            "Edited title", "in_review", 3
        )  # fmt: skip
        assert [(h.title, h.publication_state) for h in history[-2:]] == [
            ("Edited title", "draft"), ("Edited title", "in_review")
        ]  # fmt: skip
        assert [h.history_user for h in history[-2:]] == [editor, other_editor]
    else:
        assert not waited and "locked" in outcome["error"]
        assert (draft_project.title, draft_project.publication_state, draft_project.version) == (
            "Edited title", "draft", 2
        )  # fmt: skip
        assert [(h.title, h.publication_state) for h in history[-2:]] == [
            ("Secret draft plan", "draft"), ("Edited title", "draft")
        ]  # fmt: skip


@pytest.mark.django_db
def test_a_change_form_whose_record_was_deleted_meanwhile_is_refused_not_saved_anew(partner):
    """Deleted after the editor opened the form (or while the save waited for the row
    lock): saving would create the record again with the editor's values."""
    from django.forms import modelform_factory

    from core.forms import OptimisticLockForm

    data = {
        "name": "Vietnam", "slug": "vietnam", "kind": "country", "country": "VN", "region": "southeast_asia",
        "loaded_version": partner.version,
    }  # fmt: skip
    form = modelform_factory(Partner, form=OptimisticLockForm, fields="__all__")(data=data, instance=partner)
    Partner.objects.filter(pk=partner.pk).delete()
    assert not form.is_valid()
    assert "was deleted since you opened it" in str(form.non_field_errors())
    assert not Partner.objects.filter(slug="vietnam").exists()
