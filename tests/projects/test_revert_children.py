"""Reverting a record to one of its versions brings its child rows back to what they were
at that version's date (core.history.children_as_of / revert_children): a project's
activities and citations, and the activities' citations; rows added since are removed,
rows deleted since come back with their own ids, rows changed since take their values
of then. The revert form says so before anything is written, and each row's change is
in its own history with a reason."""

import re

import pytest
from django.urls import reverse

from partners.models import Partner
from projects.models import Activity, Citation, Project
from tests.conftest import TEST_REASON
from tests.projects.test_admin_versions import _fields, _opened, _save

pytestmark = pytest.mark.django_db


def _state(project):
    """What a project's revert must bring back: its own values, its activities (with
    their citations) and its citations."""
    project = Project.objects.get(pk=project.pk)
    return {
        "title": project.title,
        "partners": sorted(project.partners.values_list("slug", flat=True)),
        "activities": sorted(
            (a.pk, a.title, a.year, sorted(a.citations.values_list("pk", "excerpt"))) for a in project.activities.all()
        ),
        "citations": sorted(project.citations.values_list("pk", "section", "excerpt")),
    }


def _version(editor_client, project, title):
    """A new version of the project, saved on its admin page; its history entry."""
    page = _opened(editor_client, project)
    page["title"] = title
    assert _save(editor_client, project, page).status_code == 302
    return project.history.order_by("-history_id").first()


def _revert_url(record, entry):
    name = f"admin:{record._meta.app_label}_{record._meta.model_name}_simple_history"
    return reverse(name, args=[record.pk, entry.history_id])


def _revert(client, record, entry):
    url = _revert_url(record, entry)
    response = client.get(url)
    assert response.status_code == 200
    data = {}
    _fields(response.context["adminform"].form, data)
    data["change_reason"] = TEST_REASON  # a published record's revert says why
    return response, client.post(url, data)


def _text(response):
    return re.sub(r"\s+", " ", response.content.decode())


def _changes_since(project, source):
    """Changes to the project's child rows made on their own, after its version: an
    activity renamed, one added (with a citation), one of its citations deleted, the
    activity's citation reworded."""
    activity = project.activities.get()
    activity.title = "HA/DR seminar, renamed later"
    activity.save()
    added = Activity.objects.create(project=project, title="A workshop added later", kind="workshop", year=2015)
    Citation.objects.create(source=source, section="Table", excerpt="workshop", activity=added)
    project.citations.get().delete()
    cited = activity.citations.get()
    cited.excerpt = "HA/DR seminar"
    cited.save()


class TestRevertingAProjectRevertsItsChildRows:
    def test_the_form_says_what_happens_to_each_child_row(self, editor_client, project, source):
        version = _version(editor_client, project, "HA/DR for Vietnam, as it was")
        _changes_since(project, source)
        response = editor_client.get(_revert_url(project, version))
        text = _text(response)
        assert "removes (added since): A workshop added later (2015)" in text
        assert f"brings back (deleted since): {source.title}, Table" in text
        assert "reverts (changed since): HA/DR seminar (2014) (title)" in text
        assert "reverts (changed since): " in text and "(excerpt)" in text
        assert "leaves them as they are" not in text

    def test_the_revert_brings_back_every_child_row_as_it_was(self, editor_client, project, source):
        version = _version(editor_client, project, "HA/DR for Vietnam, as it was")
        then = _state(project)
        _version(editor_client, project, "A later title")
        _changes_since(project, source)
        assert _state(project) != then
        _, response = _revert(editor_client, project, version)
        assert response.status_code == 302
        assert _state(project) == then
        assert not Activity.objects.filter(title="A workshop added later").exists()
        assert not Citation.objects.filter(excerpt="workshop").exists()

    def test_each_child_change_is_in_its_rows_history_with_the_reason(self, editor_client, project, source):
        version = _version(editor_client, project, "HA/DR for Vietnam, as it was")
        _changes_since(project, source)
        _revert(editor_client, project, version)
        activity = project.activities.get()
        last = activity.history.order_by("-history_id").first()
        assert last.history_type == "~" and last.history_user.username == "ed"
        assert last.history_change_reason.startswith("Reverted with its parent to its version of ")
        restored = project.citations.get()
        assert restored.history.order_by("-history_id").first().history_type == "+"

    def test_the_revert_of_the_project_is_one_entry_and_moves_every_version_on(self, editor_client, project, source):
        version = _version(editor_client, project, "HA/DR for Vietnam, as it was")
        _version(editor_client, project, "A later title")
        activity = project.activities.get()
        _changes_since(project, source)
        activity.refresh_from_db()
        before, activity_version = project.history.count(), activity.version
        _revert(editor_client, project, version)
        assert project.history.count() == before + 1
        activity.refresh_from_db()
        assert activity.version == activity_version + 1

    def test_inline_rows_saved_with_a_version_are_part_of_it(self, editor_client, project):
        page = _opened(editor_client, project)
        page["title"] = "Renamed with its activity"
        page["activities-0-title"] = "Seminar renamed on the same page"
        assert _save(editor_client, project, page).status_code == 302
        version = project.history.order_by("-history_id").first()
        activity = project.activities.get()
        activity.title = "Renamed again, later"
        activity.save()
        _revert(editor_client, project, version)
        assert project.activities.get().title == "Seminar renamed on the same page"

    def test_a_deleted_activity_comes_back_with_its_citations_and_id(self, editor_client, project):
        version = _version(editor_client, project, "HA/DR for Vietnam, as it was")
        activity = project.activities.get()
        pk, citations = activity.pk, sorted(activity.citations.values_list("pk", "excerpt"))
        activity.delete()
        _revert(editor_client, project, version)
        back = Activity.objects.get(pk=pk)
        assert back.project_id == project.pk
        assert sorted(back.citations.values_list("pk", "excerpt")) == citations

    def test_a_version_with_nothing_changed_since_says_so(self, editor_client, project):
        version = _version(editor_client, project, "HA/DR for Vietnam, renamed")
        text = _text(editor_client.get(_revert_url(project, version)))
        assert "reverting changes nothing" in text

    def test_a_refused_child_row_leaves_nothing_half_written(self, editor_client, project, source):
        version = _version(editor_client, project, "HA/DR for Vietnam, as it was")
        activity = project.activities.get()
        pk = activity.pk
        activity.delete()
        # The deleted activity's entries hold a year the tracker refuses now.
        Activity.history.filter(id=pk).update(year=3000)
        _changes_since_without_the_activity = Citation.objects.create(
            source=source, section="Table", excerpt="added later", project=project
        )
        before, entries = _state(project), project.history.count()
        _, response = _revert(editor_client, project, version)
        assert response.status_code == 302
        assert _state(project) == before and project.history.count() == entries
        assert Citation.objects.filter(pk=_changes_since_without_the_activity.pk).exists()
        message = _text(editor_client.get(response["Location"]))
        assert "It could not be reverted: The activity&#x27;s year (3000) is outside its project" in message


def test_a_partner_revert_reverts_its_citations(editor_client, partner, source):
    citation = Citation.objects.create(source=source, section="Table", excerpt="Vietnam", partner=partner)
    page = _opened(editor_client, partner)
    page["name"] = "Viet Nam"
    assert _save(editor_client, partner, page).status_code == 302
    version = partner.history.order_by("-history_id").first()
    citation.excerpt = "Vietnam People's Army"
    citation.save()
    _revert(editor_client, partner, version)
    citation.refresh_from_db()
    assert citation.excerpt == "Vietnam"
    assert Partner.objects.get(pk=partner.pk).name == "Viet Nam"
