"""A real database outage: gunicorn serving the app on a throwaway PostgreSQL cluster that
the test stops and starts again. Requests fail fast with a 503 while it is down, and the
first request after it is back succeeds, with no restart of the app."""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from harness.pgcluster import find_bindir, free_port, pg_cluster, wait_for_http

# Once per CI run: stops and starts a PostgreSQL of its own, whatever the suite's engine.
pytestmark = [pytest.mark.engines("once"), pytest.mark.serial]

ROOT = Path(__file__).resolve().parents[2]

if find_bindir() is None:
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI must have PostgreSQL's binaries for the fault test")
    pytest.skip("No PostgreSQL binaries (initdb): apt-get install postgresql", allow_module_level=True)


def _get(url, accept="text/html"):
    request = urllib.request.Request(url, headers={"Accept": accept})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode(), time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), time.monotonic() - started


@pytest.fixture(scope="module")
def served_on_throwaway_postgres():
    with pg_cluster() as cluster:
        env = {
            **os.environ,
            "DATABASE_URL": cluster.url,
            "SECRET_KEY": "fault-test-only-key",
            "DEBUG": "false",
            "SECURE_SSL_REDIRECT": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "CONN_MAX_AGE": "600",
            "DB_CONNECT_TIMEOUT": "2",
        }
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "tracker.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1", "--timeout", "30"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_http(f"http://127.0.0.1:{port}/healthz")
            yield cluster, f"http://127.0.0.1:{port}"
        finally:
            server.terminate()
            server.wait(timeout=10)


def test_requests_fail_fast_with_503_while_postgres_is_down_and_recover_without_restart(served_on_throwaway_postgres):
    cluster, base = served_on_throwaway_postgres
    # Up: the database is used (a persistent connection is opened and kept).
    assert _get(f"{base}/healthz")[0] == 200
    assert _get(f"{base}/projects/")[0] == 200

    cluster.stop()
    assert not cluster.is_ready()
    status, body, took = _get(f"{base}/projects/")
    assert status == 503
    assert "Service unavailable" in body and "Traceback" not in body
    api_status, api_body, _ = _get(f"{base}/healthz", accept="application/json")
    assert api_status == 503
    assert json.loads(api_body)["checks"]["database"]["status"] == "down"
    print(f"503 while down after {took:.3f} s")

    cluster.start()
    back = time.monotonic()
    # The first request once PostgreSQL accepts connections is served normally.
    status, _, _ = _get(f"{base}/projects/")
    recovered = time.monotonic() - back
    assert status == 200
    assert _get(f"{base}/healthz")[0] == 200
    print(f"served normally {recovered:.3f} s after PostgreSQL came back")
