"""Hypothesis strategies for hostile input: NUL bytes, huge strings, wrong types, malformed
Unicode (lone surrogates, invalid UTF-8 percent-encodings), SQL and HTML metacharacters,
unknown parameters, absurd page numbers and page sizes; and the encodings that carry them
to the server byte for byte (the test client would refuse to encode a lone surrogate)."""

import os
import traceback
from urllib.parse import quote_from_bytes

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Every fuzz test runs the same examples on every run (CI is reproducible) and keeps no
# example database. FUZZ_SCALE multiplies the number of examples (default 1).
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))


def fuzz_settings(examples):
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=False,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )


NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x00" * 64,
    "\ud800",  # a lone surrogate: not encodable as UTF-8
    "x\udfffy",
    "\ufeff",
    "\u202e",
    "\uffff",
    "\x7f\x1b[31m",
    "\r\n",
    "\t",
    "😀" * 10,
    "日本語の文字列",
    "' OR '1'='1",
    "1; DROP TABLE projects_project; --",
    '" OR 1=1 --',
    "%' UNION SELECT username, password FROM auth_user --",
    "\\",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{ 7*7 }}",
    "{% debug %}",
    "../../../etc/passwd",
    "-1",
    "0",
    "1.5",
    "1e309",
    "NaN",
    "-inf",
    "9" * 40,
    "-9223372036854775809",
    "0x10",
    "true",
    "null",
    "[]",
    "{}",
    "a" * 10_000,
    "é" * 5_000,
    "x" * 100_000,
]

# Pieces put into a query string as they are, not percent-encoded again: malformed escapes,
# invalid UTF-8 (an encoded surrogate, an overlong slash, a truncated sequence) and separators.
RAW_QUERY_PIECES = [
    "%",
    "%%",
    "%G1",
    "%zz",
    "%E2%82",
    "%C0%AF",
    "%ED%A0%80",
    "%FF%FE%00",
    "%00",
    "&&&",
    "=&=",
    "a=1=2",
    ";",
    "+",
    "%2B%20%26",
]

KNOWN_PARAMETERS = [
    "q", "search", "page", "page_size", "per_page", "limit", "offset", "cursor", "ordering", "sort", "o",
    "format", "lang", "language", "group_by", "partner", "country", "region", "field", "program", "status",
    "year", "year_from", "year_to", "start_year", "end_year", "kind", "asean_member", "published", "project",
    "source", "cooperating_country", "activity_kind", "active_in", "started_after", "ended_before",
]  # fmt: skip

ABSURD_NUMBERS = ["0", "-1", "-99999", "1" + "0" * 30, str(2**63), str(2**31), "999999999", "1.0", " 1", "1 ", "٣"]


def filter_parameters():
    """The names of every filter of every FilterSet the site uses (loaded with the URLs)."""
    import django_filters
    from django.urls import get_resolver

    _ = get_resolver().url_patterns  # imports the views, and with them their filtersets
    found, todo = set(), list(django_filters.FilterSet.__subclasses__())
    while todo:
        filterset = todo.pop()
        found |= set(filterset.base_filters)
        todo += filterset.__subclasses__()
    return sorted(found)


def real_values(slugs=()):
    """Values that mean something to the filters, so a query gets past the first check."""
    fixed = ["completed", "ongoing", "planned", "VN", "US", "southeast_asia", "2014", "2016", "seminar", "true"]
    return st.sampled_from([*fixed, *slugs])


def nasty_text():
    return st.one_of(
        st.sampled_from(NASTY),
        st.text(max_size=40),
        st.text(
            alphabet=st.characters(categories=["Cs", "Cc", "Co", "Cf", "Zs", "Mn", "So", "Lo"]),
            max_size=40,
        ),
    )


def query_values(slugs=()):
    return st.one_of(nasty_text(), st.sampled_from(ABSURD_NUMBERS), real_values(slugs), st.binary(max_size=24))


def encode(value):
    """Percent-encode a value byte for byte: lone surrogates become invalid UTF-8."""
    data = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return quote_from_bytes(data, safe="")


@st.composite
def query_strings(draw, parameters=(), slugs=(), only_known=False):
    """A whole query string: known and unknown parameters, repeated ones, raw pieces; or,
    `only_known`, hostile values of the given parameters alone (a page that refuses any
    unknown parameter outright is then tested past that first check)."""
    if only_known:
        names = st.sampled_from(list(parameters))
    else:
        names = st.one_of(st.sampled_from([*parameters, *KNOWN_PARAMETERS]), nasty_text())
    pairs = draw(st.lists(st.tuples(names, query_values(slugs)), min_size=1, max_size=6))
    parts = [f"{encode(name)}={encode(value)}" for name, value in pairs]
    if not only_known:
        for piece in draw(st.lists(st.sampled_from(RAW_QUERY_PIECES), max_size=2)):
            parts.insert(draw(st.integers(0, len(parts))), piece)
    return "&".join(parts)


def form_body(data):
    """An application/x-www-form-urlencoded body from {name: value or [values]}, byte for
    byte (a browser posting a lone surrogate or invalid UTF-8 sends exactly this)."""
    parts = []
    for name, value in data.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            parts.append(f"{encode(name)}={encode(item)}")
    return "&".join(parts)


def describe_exception(exc):
    return "".join(traceback.format_exception(exc)[-12:])
