"""CI runs the suite twice, on PostgreSQL and then on SQLite with `--second-engine`
(tests/conftest.py). Together the two passes must run every test: each `both` test on
each engine, each `postgresql` and `once` test exactly once, in the PostgreSQL pass, and
each `sqlite` test exactly once, in the SQLite pass."""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import ENGINE_SCOPES

pytestmark = pytest.mark.engines("once")

ROOT = Path(__file__).resolve().parents[1]


def _collect(database_url, *options):
    """{test id: (scope, selected)} as one pass would collect it (nothing is run, and
    collection opens no database connection)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DATABASE_URL"))}
    if database_url:
        env["DATABASE_URL"] = database_url
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:xdist", "-p", "no:cacheprovider",
         "--list-engine-scopes", *options],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode in (0, 5), result.stdout[-3000:] + result.stderr[-3000:]
    listed = {}
    for line in result.stdout.splitlines():
        if line.startswith("ENGINE-SCOPE "):
            _, scope, selected, nodeid = line.split(" ", 3)
            listed[nodeid] = (scope, selected == "1")
    assert listed, result.stdout[-3000:]
    return listed


def test_the_two_ci_passes_run_every_test_and_the_engine_dependent_ones_on_both():
    with ThreadPoolExecutor(3) as pool:
        postgresql = pool.submit(_collect, "postgres://postgres@127.0.0.1:5432/tracker_split_check")
        sqlite_second = pool.submit(_collect, None, "--second-engine")
        sqlite_alone = pool.submit(_collect, None)
        postgresql, sqlite_second, sqlite_alone = postgresql.result(), sqlite_second.result(), sqlite_alone.result()

    everything = set(postgresql)
    assert set(sqlite_second) == set(sqlite_alone) == everything, "both engines collect the same tests"
    assert {scope for scope, _ in postgresql.values()} <= set(ENGINE_SCOPES)
    assert {node: scope for node, (scope, _) in postgresql.items()} == {
        node: scope for node, (scope, _) in sqlite_second.items()
    }, "a test's scope does not depend on the engine it is collected on"

    in_pg_pass = {node for node, (_, selected) in postgresql.items() if selected}
    in_sqlite_pass = {node for node, (_, selected) in sqlite_second.items() if selected}
    scopes = {node: scope for node, (scope, _) in postgresql.items()}
    both = {node for node, scope in scopes.items() if scope == "both"}
    sqlite_only = {node for node, scope in scopes.items() if scope == "sqlite"}
    assert in_pg_pass == everything - sqlite_only, "the PostgreSQL pass runs every test but the SQLite-only ones"
    assert in_sqlite_pass == both | sqlite_only, "the SQLite pass runs exactly the engine-dependent tests"
    assert in_pg_pass | in_sqlite_pass == everything and in_pg_pass & in_sqlite_pass == both
    # On SQLite alone (a developer's `make test`), only the PostgreSQL-only tests are left out.
    assert {node for node, (_, selected) in sqlite_alone.items() if not selected} == {
        node for node, scope in scopes.items() if scope == "postgresql"
    }
    # Spot checks that the marks are where they belong.
    this = "tests/test_engine_split.py::test_the_two_ci_passes_run_every_test_and_the_engine_dependent_ones_on_both"
    facets = "tests/projects/test_facets.py::test_two_transactions_linking_one_project_leave_both_links"
    assert postgresql[this][0] == "once" and postgresql[facets][0] == "postgresql"
    fallback = "tests/core/test_db.py::TestBulkWrites::test_an_sqlite_without_update_from_takes_bulk_update"
    assert postgresql[fallback][0] == "sqlite"
    assert all(scope == "once" for node, (scope, _) in postgresql.items() if node.startswith("tests/browser/"))


def test_ci_runs_the_postgresql_pass_in_full_and_the_sqlite_pass_as_the_second_engine():
    script = (ROOT / ".ci" / "run").read_text()
    lines = [line for line in script.splitlines() if "make test" in line and not line.lstrip().startswith(("#", "log"))]
    postgresql = [line for line in lines if "DATABASE_URL=" in line and "env -u" not in line]
    sqlite = [line for line in lines if "env -u DATABASE_URL" in line]
    assert postgresql and sqlite, lines
    assert all("--second-engine" not in line for line in postgresql)
    assert all("--second-engine" in line for line in sqlite)
