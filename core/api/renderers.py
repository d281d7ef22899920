"""The API's renderers: JSON through orjson (DRF's bytes), and CSV."""

import csv
import json

import orjson
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.utils import encoders

from core.api.queryparams import wants_bom
from core.spreadsheet import BOM, neutralise


class CSVRenderer(BaseRenderer):
    """`?format=csv` or `Accept: text/csv`. List endpoints stream their own rows
    (CSVStreamMixin); this renders what is left: reports and error bodies."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        bom = BOM if wants_bom((renderer_context or {}).get("request"), strict=False) else ""
        return (bom + "".join(self._lines(data))).encode("utf-8")

    @staticmethod
    def _lines(data):
        if isinstance(data, CSVTable):
            return csv_lines(data, header=data.header)
        if isinstance(data, dict) and "errors" in data:
            rows = [{"field": e.get("field", ""), "code": e["code"], "detail": e["detail"]} for e in data["errors"]]
        elif isinstance(data, dict) and "results" in data:
            rows = data["results"]
        elif isinstance(data, list):
            rows = data
        else:
            rows = [data]
        return csv_lines(rows)


class CSVTable(list):
    """Rows with their columns, so a CSV with no rows still has its header row (and a
    body, so a Content-Type). `filename` names the download."""

    def __init__(self, rows, *, header, filename):
        super().__init__(rows)
        self.header = list(header)
        self.filename = filename


def csv_table_response(table: CSVTable):
    response = Response(table)
    response["Content-Disposition"] = f'attachment; filename="{table.filename}"'
    return response


class EchoWriter:
    def write(self, value):
        return value


def csv_lines(rows, header=None):
    """CSV text a line at a time, for plain dict rows (nested values as JSON)."""
    writer = csv.writer(EchoWriter())
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        if header:
            yield writer.writerow(header)
        return
    header = header or list(first.keys())
    yield writer.writerow(header)
    yield writer.writerow([csv_cell(first.get(h)) for h in header])
    for row in rows:
        yield writer.writerow([csv_cell(row.get(h)) for h in header])


def csv_cell(value):
    """A value as a CSV cell: empty for None, `true`/`false` for booleans, JSON for nested
    values, and text a spreadsheet would run as a formula neutralised (core/spreadsheet.py)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        value = json.dumps(value, ensure_ascii=False)
    return neutralise(value)


class ORJSONRenderer(JSONRenderer):
    """DRF's JSONRenderer, byte for byte, through orjson: compact UTF-8, DRF's encoder for
    what JSON has no type for (lazy translations, datetimes with `Z`, decimals), and
    U+2028/U+2029 escaped. Indented output (`Accept: application/json; indent=4`, the
    browsable API) still goes through DRF's own renderer."""

    _default = encoders.JSONEncoder().default
    _options = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if self.ensure_ascii or not self.compact or self.get_indent(accepted_media_type, renderer_context or {}):
            return super().render(data, accepted_media_type, renderer_context)
        body = orjson.dumps(data, default=self._default, option=self._options)
        return body.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
