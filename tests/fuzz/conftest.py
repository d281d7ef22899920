"""The fuzz suite's tally: every case tried and every server error found, printed at the
end of the run (and written to FUZZ_REPORT, a JSON file, when that is set)."""

import json
import os

import pytest
from django.core.cache import cache

from tests.fuzz.tally import CASES, SERVER_ERRORS, STATUSES


def pytest_terminal_summary(terminalreporter):
    cases, errors = CASES, SERVER_ERRORS
    if not cases:
        return
    terminalreporter.write_sep("-", "fuzz")
    for kind in sorted({t.split(" ", 1)[0] for t in cases}):
        tried = sum(n for t, n in cases.items() if t.split(" ", 1)[0] == kind)
        statuses = ", ".join(f"{code}: {n}" for (k, code), n in sorted(STATUSES.items()) if k == kind)
        terminalreporter.write_line(f"{kind}: {tried} cases ({statuses})")
    terminalreporter.write_line(f"fuzz cases tried: {sum(cases.values())}; server errors (5xx) found: {len(errors)}")
    for error in errors[:20]:
        terminalreporter.write_line(f"5xx: {error['target']}: {error['request']}")
    if os.environ.get("FUZZ_REPORT"):
        with open(os.environ["FUZZ_REPORT"], "w") as out:
            summary = {"cases": dict(cases), "total": sum(cases.values()), "server_errors": errors}
            json.dump(summary, out, indent=1)


@pytest.fixture
def fuzz_world(project, draft_project):
    """A small data set: a published project with an activity and citations, a draft,
    and their partner, field, program and source. The cache starts empty: anonymous API
    answers are cached per data version, which a test's uncommitted writes do not move
    on, so an earlier test's answers would otherwise be served."""
    cache.clear()
    return {"project": project, "draft": draft_project}
