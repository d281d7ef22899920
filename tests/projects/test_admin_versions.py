"""No lost update on any record an editor can change: projects, partners, activities,
citations, fields, programs and sources each carry a version, checked when their admin
page is saved and when they are saved as an inline row of another record's page."""

import pytest
from django.urls import reverse

from partners.models import Partner
from projects.models import Activity, Citation, Field, Program, Project, Source
from tests.conftest import TEST_REASON

pytestmark = pytest.mark.django_db

# Each model, a text field an editor changes, and how to find the record in the `project` fixture's world.
RECORDS = {
    Project: ("title", lambda p: p),
    Partner: ("name", lambda p: p.partners.get()),
    Activity: ("title", lambda p: p.activities.get()),
    Citation: ("section", lambda p: p.citations.get()),
    Field: ("name", lambda p: p.fields.get()),
    Program: ("name", lambda p: p.program),
    Source: ("title", lambda p: p.citations.get().source),
}


def _change_url(obj):
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])


def _fields(form, data):
    for bound in form:
        value = bound.value()
        if value is None:
            continue
        if isinstance(value, bool):
            if value:
                data[bound.html_name] = "on"
        elif isinstance(value, list | tuple):
            data[bound.html_name] = [str(getattr(v, "code", v)) for v in value]
        else:
            data[bound.html_name] = str(value)


def _opened(client, obj):
    """The data an editor's browser posts back from the change page as it was opened."""
    response = client.get(_change_url(obj))
    assert response.status_code == 200
    data = {}
    _fields(response.context["adminform"].form, data)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        _fields(formset.management_form, data)
        for form in formset.forms:
            _fields(form, data)
    data["change_reason"] = TEST_REASON  # the record is published: the editor says why
    return data


def _save(client, obj, data):
    return client.post(_change_url(obj), data)


def _stale_message(response):
    text = response.content.decode()
    return "since you opened it" in text


@pytest.mark.parametrize("model", RECORDS, ids=lambda m: m.__name__)
def test_the_second_of_two_editors_is_refused_and_the_first_keeps_their_change(
    editor_client, other_editor_client, project, model
):
    field, find = RECORDS[model]
    obj = find(project)
    version = obj.version
    first, second = _opened(editor_client, obj), _opened(other_editor_client, obj)
    first[field] = "Changed by the first editor"
    assert _save(editor_client, obj, first).status_code == 302
    obj.refresh_from_db()
    assert getattr(obj, field) == "Changed by the first editor" and obj.version == version + 1
    second[field] = "Changed by the second editor"
    refused = _save(other_editor_client, obj, second)
    assert refused.status_code == 200 and _stale_message(refused)
    obj.refresh_from_db()
    assert getattr(obj, field) == "Changed by the first editor" and obj.version == version + 1


@pytest.mark.parametrize("inline", ["activities", "citations"])
def test_a_stale_project_form_cannot_overwrite_a_row_edited_on_its_own_page(
    editor_client, other_editor_client, project, inline
):
    row = project.activities.get() if inline == "activities" else project.citations.get()
    name = "title" if inline == "activities" else "section"
    stale = _opened(editor_client, project)
    own_page = _opened(other_editor_client, row)
    own_page[name] = "Edited on its own page"
    assert _save(other_editor_client, row, own_page).status_code == 302
    stale[f"{inline}-0-{name}"] = "Edited in the project's inline row"
    refused = _save(editor_client, project, stale)
    assert refused.status_code == 200 and _stale_message(refused)
    row.refresh_from_db()
    assert getattr(row, name) == "Edited on its own page"


def test_a_stale_row_refuses_the_whole_page_even_if_the_editor_left_it_alone(
    editor_client, other_editor_client, project
):
    """The page posts the row as it was loaded; against the stored record that reads as a
    change back to the old values, which saving would make. Nothing is saved: the editor
    reloads and makes their change again (the message says so)."""
    activity = project.activities.get()
    stale = _opened(editor_client, project)
    own_page = _opened(other_editor_client, activity)
    own_page["title"] = "Edited on its own page"
    assert _save(other_editor_client, activity, own_page).status_code == 302
    stale["title"] = "Project renamed"
    refused = _save(editor_client, project, stale)
    assert refused.status_code == 200 and _stale_message(refused)
    activity.refresh_from_db()
    project.refresh_from_db()
    assert (activity.title, project.title) == ("Edited on its own page", "HA/DR for Vietnam")


def test_rows_nobody_else_touched_save_with_the_page(editor_client, project):
    page = _opened(editor_client, project)
    page["title"] = "Project renamed"
    page["activities-0-title"] = "Seminar renamed"
    assert _save(editor_client, project, page).status_code == 302
    assert project.activities.get().title == "Seminar renamed"


@pytest.mark.parametrize("model", [Activity, Citation, Field, Program, Source], ids=lambda m: m.__name__)
def test_every_save_moves_the_version_on(project, model):
    field, find = RECORDS[model]
    obj = find(project)
    before = obj.version
    setattr(obj, field, "Saved again")
    obj.save()
    obj.refresh_from_db()
    assert obj.version == before + 1
