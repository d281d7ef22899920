"""Two app servers (two gunicorn processes on different ports) sharing one PostgreSQL and
one Redis, with the response cache on: a write through one is seen at once through the
other, and each really serves from the shared cache (a change made behind the app's
back is not seen until a write through the app bumps the data version)."""

import json
import os
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest

from harness.pgcluster import find_bindir, free_port, pg_cluster, wait_for_http
from tests.services import REDIS_URL

# Once per CI run: the servers run on a PostgreSQL of their own, whatever the suite's engine.
pytestmark = [pytest.mark.engines("once"), pytest.mark.serial]

ROOT = Path(__file__).resolve().parents[2]


def _unavailable(reason):
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"CI must be able to run the two-server test: {reason}")
    pytest.skip(reason, allow_module_level=True)


if find_bindir() is None:
    _unavailable("No PostgreSQL binaries (initdb): apt-get install postgresql")
try:
    import redis

    redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
except Exception as exc:  # any failure to reach Redis
    _unavailable(f"No Redis at {REDIS_URL}: {exc}")

SETUP = """
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from partners.models import Liaison, Partner
from projects.models import Field, Program, Project
user = User.objects.create_user("two-servers-editor", is_staff=True)
user.groups.add(Group.objects.get(name="Editors"))
partner = Partner.objects.create(slug="vietnam", name="Vietnam", country="VN", region="southeast_asia")
field = Field.objects.create(slug="ha-dr", name="HA/DR")
program = Program.objects.create(slug="cba", name="Capacity building assistance")
for i in range(3):
    project = Project.objects.create(slug=f"p{i}", title=f"Project {i}", program=program, start_year=2015 + i,
                                     publication_state="published")
    project.partners.add(partner)
    project.fields.add(field)
# What only some may see: a project releasable to Vietnam's liaison officers, an internal one.
liaison = User.objects.create_user("two-servers-liaison")
liaison.groups.add(Group.objects.get(name="Liaisons"))
Liaison.objects.create(user=liaison, partner=partner)
for slug, release in (("for-vietnam", {"releasability": "partners", "releasable_to": [partner.pk]}),
                      ("internal-plan", {"releasability": "internal"})):
    project = Project.objects.create(slug=slug, title=slug, program=program, start_year=2016,
                                     publication_state="published", **release)
    project.partners.add(partner)
reviewer = User.objects.create_user("two-servers-reviewer", is_staff=True)
reviewer.groups.add(Group.objects.get(name="Reviewers"))
print(*(Token.objects.create(user=someone).key for someone in (user, liaison, reviewer)))
"""


def _call(method, url, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Accept": "application/json"})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Token {token}")
    if method != "GET":
        request.add_header("X-Change-Reason", "Two servers test")  # a published record's change says why
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture(scope="module")
def servers():
    prefix = f"two-servers-{secrets.token_hex(6)}"
    with pg_cluster() as cluster:
        env = {
            **os.environ,
            "DATABASE_URL": cluster.url,
            "CACHE_URL": REDIS_URL,
            "CACHE_KEY_PREFIX": prefix,
            "API_RESPONSE_CACHE": "true",
            "API_COUNT_CACHE": "true",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "false",
            "SECURE_SSL_REDIRECT": "false",
            "STATIC_MANIFEST": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
        }
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)
        setup = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", SETUP], cwd=ROOT, env=env, check=True, timeout=120,
            capture_output=True, text=True,
        )  # fmt: skip
        token, liaison_token, reviewer_token = setup.stdout.strip().splitlines()[-1].split()
        processes, bases = [], []
        try:
            for _ in range(2):
                port = free_port()
                processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "gunicorn", "tracker.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2"],
                        cwd=ROOT,
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )  # fmt: skip
                )
                bases.append(f"http://127.0.0.1:{port}")
            for base in bases:
                wait_for_http(f"{base}/healthz")
            yield bases[0], bases[1], token, cluster.url, liaison_token, reviewer_token
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=15)
            client = redis.Redis.from_url(REDIS_URL)
            for key in client.scan_iter(f"{prefix}:*"):
                client.delete(key)


def _descriptions(base, path="/api/v1/projects/?page_size=50"):
    status, body = _call("GET", base + path)
    assert status == 200, body
    return {p["slug"]: p["description"] for p in body["results"]}


def test_a_write_through_one_server_is_seen_at_once_through_the_other(servers):
    a, b, token, database_url, _, _ = servers
    for base in (a, b):  # both have the list in the shared cache
        assert _descriptions(base)["p1"] == ""
        assert _descriptions(base)["p1"] == ""

    # Behind the app's back: the cached answer is still served (the cache is real).
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE projects_project SET description = 'behind the back' WHERE slug = 'p1'")
    assert _descriptions(b)["p1"] == ""

    for round_ in range(5):
        writer, reader = (a, b) if round_ % 2 == 0 else (b, a)
        text = f"written through {writer} in round {round_}"
        status, body = _call("PATCH", f"{writer}/api/v1/projects/p1/", {"description": text}, token)
        assert status == 200, body
        assert _descriptions(reader)["p1"] == text
        status, detail = _call("GET", f"{reader}/api/v1/projects/p1/")
        assert detail["description"] == text


def test_a_new_project_counts_at_once_on_the_other_server(servers):
    a, b, token, _, _, reviewer = servers
    before = _call("GET", f"{b}/api/v1/projects/?page_size=1")[1]["count"]
    payload = {"slug": "new", "title": "New", "program": "cba", "partners": ["vietnam"], "start_year": 2020,
               "published": True}  # fmt: skip
    status, body = _call("POST", f"{a}/api/v1/projects/", payload, token)
    assert status == 201, body
    assert _call("GET", f"{b}/api/v1/projects/?page_size=1")[1]["count"] == before  # a draft
    assert _call("POST", f"{a}/api/v1/projects/new/submit/", {}, token)[0] == 200
    assert _call("POST", f"{b}/api/v1/projects/new/approve/", {}, reviewer)[0] == 200
    assert _call("GET", f"{b}/api/v1/projects/?page_size=1")[1]["count"] == before + 1
    counts = _call("GET", f"{b}/api/v1/reports/counts/?group_by=year")[1]["results"]
    assert {r["year"]: r["count"] for r in counts}[2020] >= 1


def _get(url, token=None, etag=None):
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    if token:
        request.add_header("Authorization", f"Token {token}")
    if etag:
        request.add_header("If-None-Match", etag)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get("ETag"), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("ETag"), None


def test_no_audience_is_served_another_audiences_answer(servers):
    """Anonymous, a liaison officer of Vietnam and an editor ask for the same lists,
    interleaved, through both servers, again and again (so the cache front and the shared
    response cache hold what they may): each gets its own answer every time, and an
    anonymous client that sends another audience's ETag gets the public answer, not a 304."""
    a, b, editor, _, liaison, _ = servers
    who = {"anonymous": None, "liaison": liaison, "editor": editor}
    expected = {"anonymous": set(), "liaison": {"for-vietnam"}, "editor": {"for-vietnam", "internal-plan"}}
    hidden = {"for-vietnam", "internal-plan"}
    paths = ["/api/v1/projects/?page_size=50", "/api/v1/projects/?page_size=50&year=2016"]
    etags = {}
    for _round in range(3):
        for base in (a, b):
            for path in paths:
                for name in ("anonymous", "liaison", "anonymous", "editor", "anonymous"):
                    status, etag, body = _get(base + path, who[name])
                    assert status == 200, (name, base, path)
                    assert {p["slug"] for p in body["results"]} & hidden == expected[name], (name, base, path)
                    etags[name, path] = etag
    for path in paths:
        assert len({etags[name, path] for name in who}) == 3
        for name in ("liaison", "editor"):
            status, _etag, body = _get(a + path, etag=etags[name, path])
            assert status == 200 and not {p["slug"] for p in body["results"]} & hidden
        status, _etag, _body = _get(b + path, liaison, etag=etags["liaison", path])
        assert status == 304
