"""A write interrupted by a database failure leaves nothing half-written: a project saved
with its citations through the admin, a bulk action over several projects and a
spreadsheet import are each one transaction, so a failure in the middle leaves the
database exactly as it was, and the next request is served normally.

On PostgreSQL the failure is real: just before the second row is written, another
connection kills the request's backend with pg_terminate_backend. On SQLite, which has
no server to kill, the second write fails with the error a failing disk gives.
"""

import io
import time

import psycopg
import pytest
from django.db import OperationalError, connection
from django.urls import reverse

from partners.models import Partner
from projects.models import Citation, Project
from tests.fuzz.forms import admin_form_data
from tests.fuzz.snapshot import changed_tables, db_snapshot

pytestmark = pytest.mark.django_db(transaction=True)


def _terminate(pid):
    """Kill a backend from another connection and wait until it is gone."""
    s = connection.settings_dict
    with psycopg.connect(
        host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, user=s["USER"], dbname=s["NAME"], autocommit=True
    ) as killer:
        assert killer.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
        deadline = time.monotonic() + 5
        while killer.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
            assert time.monotonic() < deadline, "the backend did not exit"
            time.sleep(0.02)


class FailOnSecond:
    """Lets the first statement that starts with `prefix` through and fails the second:
    on PostgreSQL by killing the connection's backend, on SQLite by raising."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.seen = 0
        self.fired = False

    def __call__(self, execute, sql, params, many, context):
        if sql.startswith(self.prefix):
            self.seen += 1
            if self.seen == 2 and not self.fired:
                self.fired = True
                if connection.vendor == "postgresql":
                    _terminate(connection.connection.info.backend_pid)
                else:
                    raise OperationalError("disk I/O error")
        return execute(sql, params, many, context)


def _interrupted(client, prefix, request, answer_503=True):
    """Runs `request` with the second `prefix` statement failing; checks that it answered
    503 (or, for an import, refused the file with a message) and changed nothing, then
    that the next request is served normally."""
    before = db_snapshot()
    fault = FailOnSecond(prefix)
    with connection.execute_wrapper(fault):
        response = request()
    assert fault.fired, f"the request never wrote a second {prefix!r}"
    if answer_503:
        assert response.status_code == 503
        assert "Service unavailable" in response.content.decode()
    else:
        # The import catches the failure of its statements; the file is refused as a whole.
        assert response.status_code == 302
        (message,) = [str(m) for m in response.wsgi_request._messages]
        assert message.startswith("Nothing was imported:")
    # The test client keeps the broken connection; a server closes it at the end of the
    # request (CONN_HEALTH_CHECKS), which is what this does.
    connection.close()
    assert changed_tables(before, db_snapshot()) == []
    assert client.get(reverse("admin:projects_project_changelist")).status_code == 200


def test_a_project_saved_with_its_citations_is_not_half_written(editor_client, program, partner, source):
    page = editor_client.get(reverse("admin:projects_project_add"))
    data = admin_form_data(page)
    data.update(
        {
            "title": "Interrupted project",
            "slug": "interrupted-project",
            "program": str(program.pk),
            "projectpartner_set-TOTAL_FORMS": "1",
            "projectpartner_set-0-partner": str(partner.pk),
            "projectpartner_set-0-role": "recipient",
            "start_year": "2019",
            "status": "planned",
            "citations-TOTAL_FORMS": "2",
        }
    )
    for i in range(2):
        data.update(
            {
                f"citations-{i}-source": str(source.pk),
                f"citations-{i}-section": "Table",
                f"citations-{i}-excerpt": f"passage {i}",
                f"citations-{i}-releasability": "public",
            }
        )

    _interrupted(
        editor_client,
        'INSERT INTO "projects_citation"',
        lambda: editor_client.post(reverse("admin:projects_project_add"), data),
    )
    assert not Project.objects.filter(slug="interrupted-project").exists()
    assert not Citation.objects.filter(section="Table", excerpt__startswith="passage").exists()

    # The control: the same submission, uninterrupted, saves the project and both citations.
    assert editor_client.post(reverse("admin:projects_project_add"), data).status_code == 302
    assert Project.objects.get(slug="interrupted-project").citations.count() == 2


def test_a_bulk_action_is_not_half_applied(editor_client, program, partner):
    drafts = [Project.objects.create(title=f"Draft {i}", slug=f"draft-{i}", program=program) for i in range(3)]
    post = {"action": "submit_for_review", "_selected_action": [p.pk for p in drafts]}
    _interrupted(
        editor_client,
        'UPDATE "projects_project"',
        lambda: editor_client.post(reverse("admin:projects_project_changelist"), post),
    )
    assert not Project.objects.filter(publication_state="in_review").exists()
    editor_client.post(reverse("admin:projects_project_changelist"), post)
    assert Project.objects.filter(publication_state="in_review").count() == 3


def test_an_import_is_not_half_written(editor_client, program, partner):
    header = "slug,name,kind,country,region"
    rows = [f"army-{x},Army {x},service,VN,southeast_asia" for x in "abc"]
    upload = io.BytesIO("\n".join([header, *rows]).encode())
    upload.name = "partners.csv"
    preview = editor_client.post(
        reverse("admin:partners_partner_import"), {"import_file": upload, "format": "0", "resource": 0}
    )
    confirm = preview.context["confirm_form"]
    assert confirm is not None, preview.context["form"].errors
    _interrupted(
        editor_client,
        # The partners are written in one statement, their history in the next: the second
        # INSERT fails, after the partners are in.
        "INSERT INTO",
        lambda: editor_client.post(reverse("admin:partners_partner_process_import"), confirm.initial),
        answer_503=False,
    )
    assert not Partner.objects.filter(slug__startswith="army-").exists()
