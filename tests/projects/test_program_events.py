"""A program's own dated events (its announcement, an update): recorded to the precision
the source gives, cited, public as programs are, edited by editors in the admin and the
API with the same checks as every other record."""

import pytest
from rest_framework.test import APIClient

from projects.models import Citation, ProgramEvent

pytestmark = pytest.mark.django_db


def _api(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def event(program, source):
    event = ProgramEvent.objects.create(
        program=program, title="The program announced", kind="announcement", year=2016, month=11, staff_note="doubt"
    )
    Citation.objects.create(source=source, section="S", excerpt="announced in November 2016", program_event=event)
    return event


def test_anyone_reads_them_with_the_program_and_on_their_own(event, program):
    body = _api().get(f"/api/v1/programs/{program.slug}/").json()
    assert [(e["title"], e["date_display"]) for e in body["events"]] == [("The program announced", "November 2016")]
    detail = _api().get(f"/api/v1/program-events/{event.pk}/").json()
    assert (detail["program"]["slug"], detail["precision"], detail["slug"]) == (
        program.slug,
        "month",
        "the-program-announced",
    )
    assert detail["citations"][0]["excerpt"] == "announced in November 2016"
    assert "staff_note" not in detail
    listed = _api().get("/api/v1/program-events/?program=capacity-building&year=2016").json()
    assert listed["count"] == 1
    assert _api().get("/api/v1/program-events/?year=2017").json()["count"] == 0


def test_the_program_page_shows_them_with_their_sources(event, program, anonymous_client):
    html = anonymous_client.get(program.get_absolute_url()).content.decode()
    assert "Events of the program" in html and "The program announced" in html and "November 2016" in html
    assert "announced in November 2016" in html and "doubt" not in html
    ja = anonymous_client.get(f"/ja{program.get_absolute_url()}").content.decode()
    assert "2016年11月" in ja


def test_editors_write_them_and_bad_input_names_its_field(editor, viewer, program):
    payload = {"program": program.slug, "title": "Updated", "kind": "update", "year": 2019, "month": 11}
    created = _api(editor).post("/api/v1/program-events/", payload, format="json")
    assert created.status_code == 201, created.content
    assert _api(viewer).post("/api/v1/program-events/", payload, format="json").status_code == 403
    assert _api().post("/api/v1/program-events/", payload, format="json").status_code in (401, 403)
    for wrong, field in (({"month": None, "day": 3}, "day"), ({"kind": "party"}, "kind"), ({"month": 13}, "month")):
        bad = _api(editor).post("/api/v1/program-events/", {**payload, **wrong}, format="json")
        assert bad.status_code == 400 and [e["field"] for e in bad.json()["errors"]] == [field], bad.json()
    assert ProgramEvent.objects.count() == 1


def test_the_admin_edits_them_inline_on_the_program(event, program, editor_client):
    page = editor_client.get(f"/admin/projects/program/{program.pk}/change/").content.decode()
    assert "The program announced" in page
    page = editor_client.get(f"/admin/projects/programevent/{event.pk}/change/").content.decode()
    assert 'name="staff_note"' in page and "doubt" in page
