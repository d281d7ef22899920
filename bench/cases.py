"""The benchmark's cases and goals, as data: what each case requests from which server and
what it is compared with, and what each goal measures against which target. Adding a case
is adding an entry to CASES; adding a goal, an entry to GOALS."""

import math
import operator
from dataclasses import dataclass, field
from urllib import parse

ASEAN = ["BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "VN"]
FILTER = [("country", c) for c in ASEAN] + [("field", f"field-{i:02d}") for i in range(1, 21)] + [("year", "2020")]
SEARCH_QUERY = "maritime 0042"  # a word and a partner number: a few hundred matches at 100,000 projects
PAGE_SIZE = 50

LIST_QUERY = parse.urlencode(FILTER + [("page_size", PAGE_SIZE)])
LIST_PATH = f"/api/v1/projects/?{LIST_QUERY}"
SEARCH = parse.urlencode([("q", SEARCH_QUERY), ("page_size", PAGE_SIZE)])
COUNTS = "group_by=field,year"


@dataclass(frozen=True)
class Case:
    """One request loaded with wrk. `server` names the server that answers it (see
    bench/run.py: app, nocache, small, raw); `path` and `what` may name the run's values in
    braces ({last_page}, {small_projects}). Its req/s is shown as a ratio of its
    `counterpart`'s; `same_json`: its JSON must be the counterpart's, checked before any
    load; `revalidate`: it sends If-None-Match with the list's ETag and expects a 304."""

    name: str
    server: str
    path: str
    what: str
    counterpart: str | None = None
    expect: int = 200
    same_json: bool = False
    revalidate: bool = False


CASES = [
    Case("list_raw", "raw", f"/raw/projects/?{LIST_QUERY}", "raw SQL + JSON, filtered list"),
    Case("list_api", "nocache", LIST_PATH, "API list, filtered, no response cache", "list_raw", same_json=True),
    Case("fixed", "raw", "/fixed", "fixed pre-built body (the list's bytes)"),
    Case("list_cached", "app", LIST_PATH, "API list repeated, response cache", "fixed"),
    Case("fixed_304", "raw", "/fixed-304", "fixed empty 304", expect=304),
    Case("list_etag", "app", LIST_PATH, "API list repeated with If-None-Match", "fixed_304", revalidate=True),
    Case(
        "page_public",
        "nocache",
        f"/projects/?{parse.urlencode(FILTER)}",
        "public /projects/ page, same filters",
        "list_raw",
    ),
    Case("counts_raw", "raw", f"/raw/reports/counts/?{COUNTS}", "raw GROUP BY field, year"),
    Case(
        "counts_api",
        "nocache",
        f"/api/v1/reports/counts/?{COUNTS}",
        "counts report group_by=field,year",
        "counts_raw",
        same_json=True,
    ),
    Case("search_raw", "raw", f"/raw/projects/?{SEARCH}", "raw full-text search"),
    Case(
        "search_api", "nocache", f"/api/v1/projects/?{SEARCH}", f"API q={SEARCH_QUERY!r}", "search_raw", same_json=True
    ),
    Case(
        "deep_first",
        "nocache",
        f"/api/v1/projects/?cursor=&page_size={PAGE_SIZE}",
        "unfiltered list, first page, cursor",
    ),
    Case("deep_last", "nocache", "/api/v1/projects/?{last_page}", "unfiltered list, last page, cursor", "deep_first"),
    Case("list_small", "small", LIST_PATH, "API list, filtered, no response cache, {small_projects:,} projects"),
]


@dataclass
class Target:
    """A case as this run sends it: its server, path, headers and expected status, and the
    figures of each wrk run against it."""

    case: Case
    server: object  # a bench.servers.Server
    path: str
    what: str
    headers: dict
    expect: int
    rounds: list = field(default_factory=list)

    @property
    def name(self):
        return self.case.name

    @property
    def url(self):
        return self.server.base + self.path

    @classmethod
    def of(cls, case, *, servers, values, etag):
        headers = {"If-None-Match": etag or '"none"'} if case.revalidate else {}
        expect = (304 if etag else 200) if case.revalidate else case.expect
        return cls(case, servers[case.server], case.path.format(**values), case.what.format(**values), headers, expect)


def run_values(*, last_cursor, small_projects):
    """The run's values that the cases' paths and descriptions name."""
    return {
        "last_page": parse.urlencode({"cursor": last_cursor, "page_size": PAGE_SIZE}),
        "small_projects": small_projects,
    }


def ratio(case, other, figure="rps", if_zero=None):
    """A goal's value: `case`'s figure over `other`'s (`if_zero` when `other`'s is 0)."""

    def value(measured):
        below = measured.figures[other][figure]
        return measured.figures[case][figure] / below if below else if_zero

    return value


@dataclass(frozen=True)
class Note:
    """The goal's value in the table's ratio column of `case`: `text` with {value} and the
    case's own ratio text, {ratio}."""

    case: str
    text: str


COMPARISONS = {">=": operator.ge, "<=": operator.le, "<": operator.lt, "=": operator.eq}


@dataclass(frozen=True)
class Goal:
    """One `RESULT <name> <value>` line: `value` computed from what the run measured, met
    when it compares with `target` (">= 0.30", "< 3", "= 1") as the target says.
    `quick_name` replaces the name in a --quick run."""

    name: str
    value: object  # bench.report.Measured -> float | None
    target: str
    note: Note | None = None
    quick_name: str | None = None

    def met(self, value):
        comparison, threshold = self.target.split()
        return COMPARISONS[comparison](value, float(threshold))


GOALS = [
    Goal("list_filtered", ratio("list_api", "list_raw"), ">= 0.30"),
    Goal("list_repeat_cached", ratio("list_cached", "fixed"), ">= 0.80"),
    Goal("list_repeat_etag", ratio("list_etag", "fixed_304"), ">= 0.80"),
    Goal("public_page", ratio("page_public", "list_raw"), ">= 0.20"),
    Goal("counts_field_year", ratio("counts_api", "counts_raw"), ">= 0.50"),
    Goal(
        "search_p95_vs_raw",
        ratio("search_api", "search_raw", "p95"),
        "< 3",
        Note("search_api", "{ratio}; p95 {value:.2f}x raw"),
    ),
    Goal(
        "cursor_last_vs_first_cost",
        ratio("deep_first", "deep_last", if_zero=math.inf),
        "<= 1.5",
        Note("deep_last", "cost {value:.2f}x deep_first"),
    ),
    Goal("csv_export_peak_mb", lambda measured: measured.export["peak_mb"], "< 200"),
    Goal(
        "scale_100k_vs_10k",
        ratio("list_api", "list_small"),
        ">= 0.80",
        Note("list_small", "list_api is {value:.2f} of this"),
        quick_name="scale_vs_tenth",
    ),
    Goal("two_servers_fresh_reads", lambda measured: measured.fresh / measured.writes, "= 1"),
]
