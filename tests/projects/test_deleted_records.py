"""Deleted records can be recovered: the admin lists each model's deleted records for staff
who may add them, and restores one with its links and the records deleted with it."""

import pytest
from django.urls import reverse

from partners.models import Partner
from projects.models import Activity, Citation, Field, Project
from tests.conftest import withdraw_in_admin

pytestmark = pytest.mark.django_db


def _deleted_page(client, model):
    meta = model._meta
    return client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_deleted"))


def _restore(client, model, record):
    meta = model._meta
    return client.post(reverse(f"admin:{meta.app_label}_{meta.model_name}_restore_deleted", args=[record.history_id]))


def _delete(client, obj):
    meta = obj._meta
    if getattr(obj, "published", False):
        withdraw_in_admin(client, obj)
    response = client.post(reverse(f"admin:{meta.app_label}_{meta.model_name}_delete", args=[obj.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not type(obj).objects.filter(pk=obj.pk).exists()


def _state(project, activity):
    """What restoring must bring back of a project: its row, links, activities and citations."""
    return {
        "title": project.title,
        "partners": sorted(project.partners.values_list("slug", flat=True)),
        "fields": sorted(project.fields.values_list("slug", flat=True)),
        "activities": list(project.activities.values_list("id", "title", "year")),
        "citations": sorted(Citation.objects.filter(project=project).values_list("id", "excerpt")),
        "activity_citations": sorted(Citation.objects.filter(activity=activity).values_list("id", "excerpt")),
    }


def test_a_deleted_project_comes_back_with_its_links_activities_and_citations(editor_client, editor, project):
    activity = project.activities.get()
    snapshot = _state(project, activity)
    _delete(editor_client, project)
    assert not Activity.objects.filter(pk=activity.pk).exists()

    page = _deleted_page(editor_client, Project)
    assert page.status_code == 200
    records = [item["record"] for item in page.context["records"]]
    assert [r.id for r in records] == [project.pk]
    assert "HA/DR for Vietnam" in page.content.decode()

    response = _restore(editor_client, Project, records[0])
    assert response.status_code == 302
    restored = Project.objects.get(pk=project.pk)
    assert _state(restored, activity) == snapshot
    latest = restored.history.order_by("-history_id").first()
    assert latest.history_type == "+" and latest.history_user == editor
    assert _deleted_page(editor_client, Project).context["records"] == []
    # Restoring twice is refused, with a message, and changes nothing.
    again = _restore(editor_client, Project, records[0])
    assert again.status_code == 302 and Project.objects.filter(pk=project.pk).count() == 1


def test_a_deleted_partner_comes_back_linked_to_its_projects(editor_client, project, program, field):
    from tests.conftest import make_project

    partner = project.partners.get()
    other = Partner.objects.create(name="Philippines", slug="philippines", country="PH", region="southeast_asia")
    second = make_project("second", "Second", program, [partner, other], [field], 2016, 2017)
    _delete(editor_client, partner)
    record = _deleted_page(editor_client, Partner).context["records"][0]["record"]
    assert _restore(editor_client, Partner, record).status_code == 302
    assert set(Partner.objects.get(pk=partner.pk).projects.values_list("slug", flat=True)) == {project.slug, "second"}
    assert set(second.partners.values_list("slug", flat=True)) == {partner.slug, "philippines"}


def test_a_deleted_field_comes_back_with_its_links(editor_client, project):
    field = project.fields.get()
    _delete(editor_client, field)
    record = _deleted_page(editor_client, Field).context["records"][0]["record"]
    assert _restore(editor_client, Field, record).status_code == 302
    assert list(Field.objects.get(pk=field.pk).projects.values_list("slug", flat=True)) == [project.slug]


def test_only_staff_who_may_add_see_or_restore(viewer_client, editor_client, project):
    _delete(editor_client, project)
    assert _deleted_page(viewer_client, Project).status_code == 403
    record = project.history.filter(history_type="-").get()
    assert _restore(viewer_client, Project, record).status_code == 403
    assert not Project.objects.filter(pk=project.pk).exists()


def test_the_list_links_to_the_deleted_records(editor_client, viewer_client, project):
    url = reverse("admin:projects_project_deleted")
    assert url in editor_client.get(reverse("admin:projects_project_changelist")).content.decode()
    assert url not in viewer_client.get(reverse("admin:projects_project_changelist")).content.decode()
    assert (
        reverse("admin:projects_activity_deleted")
        in editor_client.get(reverse("admin:projects_activity_changelist")).content.decode()
    )


def test_a_get_on_restore_changes_nothing(editor_client, project):
    _delete(editor_client, project)
    record = project.history.filter(history_type="-").get()
    response = editor_client.get(reverse("admin:projects_project_restore_deleted", args=[record.history_id]))
    assert response.status_code == 302 and not Project.objects.filter(pk=project.pk).exists()
