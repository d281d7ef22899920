"""A write that waits for a row lock while another transaction deletes the row: with real
concurrent transactions on PostgreSQL (SQLite has no row locks: a second writer waits at
BEGIN and then finds nothing, a plain 404)."""

import threading
import time

import psycopg
import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from projects.models import Project

pytestmark = [pytest.mark.engines("postgresql"), pytest.mark.django_db(transaction=True)]


def _connect():
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params)


def _delete_project(cursor, project_id):
    """Delete a project and what refers to it, in SQL (Django cascades in Python)."""
    activities = "SELECT id FROM projects_activity WHERE project_id = %s"
    reports = "SELECT id FROM projects_statusreport WHERE project_id = %s"
    cursor.execute(
        f"DELETE FROM projects_citation WHERE project_id = %s OR activity_id IN ({activities}) "
        f"OR status_report_id IN ({reports})",
        [project_id, project_id, project_id],
    )
    for table in ("projects_activity", "projects_statusreport", "projects_project_partners", "projects_project_fields"):
        cursor.execute(f"DELETE FROM {table} WHERE project_id = %s", [project_id])
    cursor.execute("DELETE FROM projects_project WHERE id = %s", [project_id])


def _waiting_for_a_lock(watcher, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = watcher.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        ).fetchone()
        if row[0]:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("method", ["patch", "put", "delete"])
@pytest.mark.parametrize("with_if_match", [True, False], ids=["if-match", "no-if-match"])
def test_a_write_whose_row_is_deleted_while_it_waits_for_the_lock_answers_in_the_api_error_shape(
    method, with_if_match, editor, project
):
    url = f"/api/v1/projects/{project.slug}/"
    client = APIClient()
    client.force_authenticate(editor)
    read = client.get(url)
    headers = {"HTTP_IF_MATCH": read["ETag"]} if with_if_match else {}
    payload = {
        "patch": {"title": "Renamed while it was deleted"},
        "put": {"slug": project.slug, "title": "Replaced", "program": project.program.slug,
                "partners": [p.slug for p in project.partners.all()], "start_year": 2013, "status": "completed"},
        "delete": None,
    }[method]  # fmt: skip

    holder, watcher = _connect(), _connect()
    watcher.autocommit = True
    answer = {}
    try:
        holder.execute("SELECT id FROM projects_project WHERE id = %s FOR UPDATE", [project.pk])

        def write():
            try:
                answer["response"] = getattr(client, method)(url, payload, format="json", **headers)
            finally:
                connections.close_all()

        writer = threading.Thread(target=write)
        writer.start()
        assert _waiting_for_a_lock(watcher), "the API's write never waited for the row lock"
        with holder.cursor() as cursor:
            _delete_project(cursor, project.pk)
        holder.commit()
        writer.join(30)
        assert not writer.is_alive()
    finally:
        holder.close()
        watcher.close()

    response = answer["response"]
    assert response.status_code == (412 if with_if_match else 404), response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["errors"][0]["code"] == ("precondition_failed" if with_if_match else "not_found")
    assert not Project.objects.filter(pk=project.pk).exists(), "the deleted record was not written back"
