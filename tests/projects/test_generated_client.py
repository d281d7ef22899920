"""A client generated from the schema works: openapi-python-client (pinned in
requirements-dev.txt) generates a Python package from /api/v1/schema/, and that package
lists, pages, filters, orders by several keys, reads, creates and updates with If-Match
against a live server (pytest-django's live_server, a real HTTP server in a thread)."""

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from projects.models import Project
from tests.conftest import make_project

pytestmark = [pytest.mark.engines("once"), pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def tracker_client(tmp_path_factory, django_db_blocker):
    folder = tmp_path_factory.mktemp("client")
    schema = folder / "schema.json"
    with django_db_blocker.unblock():
        call_command("spectacular", "--format", "openapi-json", "--file", str(schema))
    generator = Path(sys.executable).with_name("openapi-python-client")
    env = {**os.environ, "PATH": f"{generator.parent}{os.pathsep}{os.environ.get('PATH', '')}"}  # its ruff hooks
    done = subprocess.run(
        [str(generator), "generate", "--path", str(schema), "--meta", "none",
         "--output-path", str(folder / "tracker_client")],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module("tracker_client")
    finally:
        sys.path.remove(str(folder))
        for name in [n for n in sys.modules if n == "tracker_client" or n.startswith("tracker_client.")]:
            del sys.modules[name]


@pytest.fixture
def api(tracker_client, live_server, editor, program, field, partner):
    for title, start in (("Beta", 2016), ("Alpha", 2016), ("Gamma", 2014)):
        make_project(title.lower(), title, program, [partner], [field], start, start + 1)
    key = Token.objects.create(user=editor).key
    return tracker_client.AuthenticatedClient(base_url=live_server.url, token=key, prefix="Token")


def _module(tracker_client, name):
    return importlib.import_module(f"tracker_client.api.projects.{name}")


def test_it_lists_filters_pages_and_orders_by_several_keys(tracker_client, api):
    listing = _module(tracker_client, "projects_list")
    order = importlib.import_module("tracker_client.models.projects_list_ordering_item").ProjectsListOrderingItem
    page = listing.sync(client=api, country=["VN"], ordering=[order.VALUE_1, order.TITLE], page_size=2)
    assert page.count == 3
    assert [p.slug for p in page.results] == ["alpha", "beta"]  # -start_year, then title
    second = listing.sync(client=api, country=["VN"], ordering=[order.VALUE_1, order.TITLE], page_size=2, page=2)
    assert [p.slug for p in second.results] == ["gamma"]
    reversed_titles = listing.sync(client=api, ordering=[order.VALUE_1, order.VALUE_3], page_size=3)
    assert [p.slug for p in reversed_titles.results] == ["beta", "alpha", "gamma"]
    assert listing.sync(client=api, country=["PH"]).count == 0


def test_it_reads_creates_and_updates_with_if_match(tracker_client, api, program, partner, field):
    retrieve = _module(tracker_client, "projects_retrieve")
    create = _module(tracker_client, "projects_create")
    update = _module(tracker_client, "projects_partial_update")
    models = importlib.import_module("tracker_client.models")

    read = retrieve.sync_detailed("alpha", client=api)
    assert read.status_code == 200 and read.parsed.title == "Alpha"
    etag = read.headers["ETag"]

    body = models.ProjectRequest(
        slug="delta", title="Delta", program=program.slug, partners=[partner.slug], fields=[field.slug], start_year=2018
    )
    made = create.sync_detailed(client=api, body=body)
    assert made.status_code == 201 and made.parsed.slug == "delta"
    assert made.headers["Location"].endswith("/api/v1/projects/delta/") and made.headers["ETag"]

    changed = update.sync_detailed(
        "alpha", client=api, body=models.PatchedProjectRequest(title="Alpha 2", change_reason="Renamed"), if_match=etag
    )
    assert changed.status_code == 200 and changed.parsed.title == "Alpha 2"
    stale = update.sync_detailed(
        "alpha", client=api, body=models.PatchedProjectRequest(title="Alpha 3", change_reason="Renamed"), if_match=etag
    )
    assert stale.status_code == 412
    assert Project.objects.get(slug="alpha").title == "Alpha 2"
