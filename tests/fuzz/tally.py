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


def export() -> dict:
    """The tally as plain data, for a pytest-xdist worker to hand to the controller."""
    return {
        "cases": dict(CASES),
        "statuses": [[kind, code, n] for (kind, code), n in STATUSES.items()],
        "server_errors": SERVER_ERRORS,
    }


def merge(data: dict) -> None:
    CASES.update(data["cases"])
    for kind, code, n in data["statuses"]:
        STATUSES[(kind, code)] += n
    for error in data["server_errors"]:
        if not any(e["target"] == error["target"] and e["cause"] == error["cause"] for e in SERVER_ERRORS):
            SERVER_ERRORS.append(error)


def summary_lines() -> list[str]:
    if not CASES:
        return []
    lines = []
    for kind in sorted({t.split(" ", 1)[0] for t in CASES}):
        tried = sum(n for t, n in CASES.items() if t.split(" ", 1)[0] == kind)
        statuses = ", ".join(f"{code}: {n}" for (k, code), n in sorted(STATUSES.items()) if k == kind)
        lines.append(f"{kind}: {tried} cases ({statuses})")
    lines.append(f"fuzz cases tried: {sum(CASES.values())}; server errors (5xx) found: {len(SERVER_ERRORS)}")
    lines += [f"5xx: {error['target']}: {error['request']}" for error in SERVER_ERRORS[:20]]
    return lines
