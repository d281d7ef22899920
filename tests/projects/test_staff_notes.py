"""Notes for staff (a project's or activity's `staff_note`, a status report's `note`) and
who entered a report reach staff only: never the public pages, the search, the exports or
an API answer to anyone else. The rule is one list per serializer (Meta.staff_only_fields)
and tested here on every surface that shows the record."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from projects.models import Activity, Project, StatusReport

pytestmark = pytest.mark.django_db

SECRET = "Sources disagree: the 2015 paper says Laos, the 2020 paper Thailand"


@pytest.fixture
def noted(project, editor):
    Project.objects.filter(pk=project.pk).update(staff_note=SECRET)
    activity = project.activities.first()
    Activity.objects.filter(pk=activity.pk).update(staff_note=SECRET)
    report = StatusReport.objects.create(project=project, status="ongoing", year=2015, note=SECRET, entered_by=editor)
    return project, activity, report


def _api(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _urls(project, activity, report):
    return [
        f"/api/v1/projects/{project.slug}/",
        "/api/v1/projects/",
        "/api/v1/projects/?format=csv",
        f"/api/v1/activities/{activity.pk}/",
        "/api/v1/activities/",
        f"/api/v1/status-reports/{report.pk}/",
        "/api/v1/status-reports/",
        "/api/v1/status-reports/?format=csv",
        "/api/v1/reports/matrix/",
        "/iati/activities.xml",
    ]


def test_no_api_answer_to_anyone_but_staff_holds_them(noted, django_user_model):
    not_staff = django_user_model.objects.create_user(username="nina", password="x")
    for user in (None, not_staff):
        for url in _urls(*noted):
            response = _api(user).get(url)
            assert response.status_code in (200, 404), (url, response.status_code)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            assert SECRET.encode() not in body, url
            assert b'"entered_by"' not in body, url


def test_staff_read_them_in_the_api(noted, viewer):
    project, activity, report = noted
    client = _api(viewer)
    assert client.get(f"/api/v1/projects/{project.slug}/").json()["staff_note"] == SECRET
    assert client.get("/api/v1/projects/").json()["results"][0]["staff_note"] == SECRET
    assert client.get(f"/api/v1/activities/{activity.pk}/").json()["staff_note"] == SECRET
    body = client.get(f"/api/v1/status-reports/{report.pk}/").json()
    assert (body["note"], body["entered_by"]) == (SECRET, "ed")


def test_the_schema_says_they_are_for_staff(noted):
    schema = _api().get("/api/v1/schema/?format=json").json()["components"]["schemas"]
    assert "staff only" in schema["Project"]["properties"]["staff_note"]["description"].lower()
    assert "staff only" in schema["StatusReport"]["properties"]["entered_by"]["description"].lower()


def test_no_public_page_or_search_shows_them(noted, anonymous_client):
    project, _, _ = noted
    Project.objects.filter(pk=project.pk).update(published=True)
    for url in (project.get_absolute_url(), "/projects/", "/projects/?q=Laos", "/matrix/", "/timeline/"):
        response = anonymous_client.get(url)
        assert SECRET not in response.content.decode(), url
    assert "Laos" not in Project.objects.get(pk=project.pk).search_document


def test_staff_edit_them_in_the_admin(noted, editor_client):
    project, _, _ = noted
    page = editor_client.get(f"/admin/projects/project/{project.pk}/change/").content.decode()
    assert 'name="staff_note"' in page and SECRET in page


def test_an_inactive_staff_account_reads_as_anyone(noted):
    user = get_user_model().objects.create_user(username="gone", password="x", is_staff=True, is_active=False)
    project, _, _ = noted
    assert "staff_note" not in _api(user).get(f"/api/v1/projects/{project.slug}/").json()
