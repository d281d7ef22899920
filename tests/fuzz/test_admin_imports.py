"""Hostile spreadsheets through the admin's import (CSV and XLSX, preview then confirm), as
an editor: each is refused with a message or imported whole, never a server error, and a
refused file leaves every row of the database as it was.

Each case starts from a file the import accepts (the tracker's own export, with a new row)
and breaks it: cells replaced by hostile values, columns renamed, dropped, repeated or
added, a row repeated, empty rows added (or nothing but empty rows), the text re-encoded
(UTF-16, Latin-1, invalid UTF-8), the workbook truncated, or the whole file replaced by
random bytes; the form's own fields are broken too."""

import csv
import io
from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from partners.models import Partner
from partners.resources import PartnerResource
from projects.models import Project
from projects.resources import ProjectResource
from tests.fuzz.client import fuzz_request
from tests.fuzz.snapshot import changed_tables, db_snapshot
from tests.fuzz.strategies import ABSURD_NUMBERS, fuzz_settings, nasty_text

# Once per CI run: hostile files are refused while being read; the import's writes are tested on both engines.
pytestmark = [pytest.mark.django_db, pytest.mark.engines("once")]

CSV_FORMAT, XLSX_FORMAT = "0", "1"
NEW_ROWS = {
    Project: {"slug": "fuzz-new", "title": "Fuzz project", "program": "capacity-building", "partners": "vietnam",
              "fields": "ha-dr", "start_year": "2016", "end_year": "2017", "status": "completed", "published": "1"},
    Partner: {"slug": "fuzz-navy", "name": "Fuzz navy", "kind": "service", "country": "VN",
              "region": "southeast_asia", "parent": "vietnam", "published": "1"},
}  # fmt: skip
RESOURCES = {Project: ProjectResource, Partner: PartnerResource}


def _table(model):
    """The header and rows of a file the import accepts: the export of what is stored,
    and one new record."""
    exported = RESOURCES[model]().export()
    header = list(exported.headers)
    rows = [[("" if v is None else str(v)) for v in row] for row in exported]
    rows.append([NEW_ROWS[model].get(column, "") for column in header])
    return header, rows


def cells():
    return st.one_of(nasty_text(), st.sampled_from(ABSURD_NUMBERS), st.integers(-(2**70), 2**70).map(str))


@st.composite
def broken_table(draw, header, rows):
    header, rows = list(header), [list(r) for r in rows]
    for _ in range(draw(st.integers(0, 4))):
        r, c = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, len(header) - 1))
        rows[r][c] = draw(cells())
    how = draw(
        st.sampled_from(
            ["keep", "keep", "keep", "rename", "drop", "repeat", "add", "shuffle", "ragged", "twice", "blank", "blanks"]
        )
    )
    if how == "rename":
        header[draw(st.integers(0, len(header) - 1))] = draw(nasty_text())
    elif how == "drop":
        i = draw(st.integers(0, len(header) - 1))
        header.pop(i)
        rows = [row[:i] + row[i + 1 :] for row in rows]
    elif how == "repeat":
        header.append(draw(st.sampled_from(header)))
        rows = [[*row, draw(cells())] for row in rows]
    elif how == "add":
        header.append(draw(nasty_text()))
        rows = [[*row, draw(cells())] for row in rows]
    elif how == "shuffle":
        order = draw(st.permutations(range(len(header))))
        header, rows = [header[i] for i in order], [[row[i] for i in order] for row in rows]
    elif how == "ragged":
        rows[0] = rows[0] + ["extra"]
    elif how == "twice":  # two rows for one record
        rows.insert(draw(st.integers(0, len(rows))), list(draw(st.sampled_from(rows))))
    elif how == "blank":  # an empty row among the records
        rows.insert(draw(st.integers(0, len(rows))), [""] * len(header))
    elif how == "blanks":  # nothing but empty rows
        rows = [[""] * len(header)] * draw(st.integers(1, 3000))
    return header, rows


def _csv(header, rows, encoding):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    text = out.getvalue()
    if encoding == "utf-8":
        return text.encode("utf-8", "surrogatepass")  # a lone surrogate becomes invalid UTF-8
    return text.encode(encoding, "replace") if encoding != "utf-16" else text.encode("utf-16", "surrogatepass")


def _clean_cell(value):
    value = ILLEGAL_CHARACTERS_RE.sub("", value).encode("utf-8", "ignore").decode("utf-8")
    return value[:32_000]  # an XLSX cell holds at most 32,767 characters


def _xlsx(header, rows, truncate):
    book = Workbook()
    sheet = book.active
    for row in [header, *rows]:
        sheet.append([_clean_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    data = out.getvalue()
    return data[: len(data) * truncate // 100] if truncate < 100 else data


@st.composite
def upload(draw, model, fmt):
    header, rows = _table(model)
    kind = draw(st.sampled_from(["broken", "broken", "broken", "random bytes", "as it is", "as it is"]))
    if kind == "random bytes":
        content = draw(st.binary(min_size=1, max_size=2000))
    else:
        if kind == "broken":
            header, rows = draw(broken_table(header, rows))
        if fmt == CSV_FORMAT:
            encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16"]))
            content = _csv(header, rows, encoding)
        else:
            content = _xlsx(header, rows, draw(st.sampled_from([100, 100, 100, 60, 10])))
    extension = {CSV_FORMAT: "csv", XLSX_FORMAT: "xlsx"}[fmt]
    # Mostly the right name, format and resource, so most files are read and checked.
    name = draw(st.sampled_from([f"file.{extension}"] * 6 + ["file.txt", "file", "file.xlsx.csv"]))
    form_format = draw(st.sampled_from([fmt] * 8 + ["", "7", "csv", "-1"]))
    resource = draw(st.sampled_from(["0"] * 6 + ["", "1", "x"]))
    return content, name, form_format, resource


@pytest.mark.parametrize("fmt", [CSV_FORMAT, XLSX_FORMAT], ids=["csv", "xlsx"])
@pytest.mark.parametrize("model", [Project, Partner], ids=lambda m: m.__name__)
def test_admin_imports_refuse_hostile_files_cleanly_and_change_nothing(editor_client, fuzz_world, model, fmt):
    meta = model._meta
    import_url = reverse(f"admin:{meta.app_label}_{meta.model_name}_import")
    confirm_url = reverse(f"admin:{meta.app_label}_{meta.model_name}_process_import")
    target = f"admin-import {model.__name__} {'csv' if fmt == CSV_FORMAT else 'xlsx'}"
    outcomes = []

    @fuzz_settings(25)
    @given(case=upload(model, fmt))
    def case(case):
        content, name, form_format, resource = case
        with transaction.atomic():
            before = db_snapshot()
            file = io.BytesIO(content)
            file.name = name
            fields = {"import_file": file, "format": form_format, "resource": resource}
            preview = fuzz_request(editor_client, target, "POST", import_url, files=fields)
            assert preview.status_code < 500
            confirm = preview.context.get("confirm_form") if preview.context else None
            imported = False
            if confirm is not None:
                done = fuzz_request(editor_client, target, "POST", confirm_url, body=_urlencoded(confirm.initial))
                imported = done.status_code == 302 and not done["Location"].endswith("/import/")
            if not imported:
                assert changed_tables(before, db_snapshot()) == [], f"a refused file changed the database: {name}"
            outcomes.append("imported" if imported else "refused")
            transaction.set_rollback(True)

    case()
    # The control: some cases went all the way through, some were refused.
    assert "refused" in outcomes


def _urlencoded(data):
    return urlencode({k: str(v) for k, v in data.items()})
