"""Every fuzz case tried and every server error found, for the summary at the end of the
run (tests/fuzz/conftest.py)."""

from collections import Counter

CASES = Counter()
STATUSES = Counter()  # (kind of target, status code)
SERVER_ERRORS = []


def count_case(target):
    CASES[target] += 1


def record_server_error(target, request, detail):
    """Records a server error once per target and cause (hypothesis replays a failing
    example while it shrinks it)."""
    cause = detail.strip().splitlines()[-1] if detail.strip() else ""
    if not any(e["target"] == target and e["cause"] == cause for e in SERVER_ERRORS):
        SERVER_ERRORS.append({"target": target, "request": request, "cause": cause, "detail": detail})


def count_status(target, status):
    STATUSES[(target.split(" ", 1)[0], status)] += 1
