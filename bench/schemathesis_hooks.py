"""schemathesis hooks for bench/fuzz_api.py (loaded through SCHEMATHESIS_HOOKS)."""

import csv
import io

import schemathesis


@schemathesis.deserializer("text/csv")
def deserialize_csv(ctx, response):
    """A CSV body is checked to parse as CSV with a header row, then validated as the
    string the schema documents."""
    text = response.content.decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    if text and not rows:
        raise ValueError("CSV body without a header row")
    return text
