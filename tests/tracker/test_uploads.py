"""Admin spreadsheet imports refuse a file that is too large, of the wrong type, wrongly
encoded or malformed, with a message that names the problem, and import nothing."""

import io
import zipfile

import pytest
from django.urls import reverse
from openpyxl import Workbook

from core.forms import IMPORT_MAX_BYTES, IMPORT_MAX_UNPACKED_BYTES
from partners.models import Partner
from projects.models import Project
from tests.fuzz.snapshot import changed_tables, db_snapshot

# Once per CI run: upload checks happen while the file is read, before any write.
pytestmark = [pytest.mark.django_db, pytest.mark.engines("once")]

CSV_FORMAT, XLSX_FORMAT = "0", "1"
HEADER = "slug,title,program,partners,fields,start_year,end_year,status,cooperating_countries,description,published"
GOOD_ROW = "new-one,New project,capacity-building,vietnam,ha-dr,2016,2017,completed,,Text,1"


def _url(model, view):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}")


def _upload(client, content, filename, fmt=CSV_FORMAT, model=Project):
    upload = io.BytesIO(content.encode() if isinstance(content, str) else content)
    upload.name = filename
    return client.post(_url(model, "import"), {"import_file": upload, "format": fmt, "resource": 0})


def _xlsx(rows):
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _file_errors(response):
    assert response.status_code == 200
    form = response.context["form"]
    assert response.context.get("confirm_form") is None, "a refused file must not be offered for confirmation"
    return " ".join(form.errors.get("import_file", []))


@pytest.fixture
def refused(editor_client, project):
    """Uploads a file and returns the message on the file field, checking that the file
    was refused at the preview and that the database is exactly as it was."""

    def check(content, filename, fmt=CSV_FORMAT, model=Project):
        before = db_snapshot()
        message = _file_errors(_upload(editor_client, content, filename, fmt, model))
        assert changed_tables(before, db_snapshot()) == []
        assert message, "the refusal must say why"
        return message

    return check


def test_a_good_csv_and_a_good_xlsx_are_offered_for_confirmation(editor_client, project):
    # The control: the checks below refuse bad files, not every file.
    csv = _upload(editor_client, f"{HEADER}\n{GOOD_ROW}\n", "projects.csv")
    assert csv.context["confirm_form"] is not None
    xlsx = _upload(editor_client, _xlsx([HEADER.split(","), GOOD_ROW.split(",")]), "projects.xlsx", XLSX_FORMAT)
    assert xlsx.context["confirm_form"] is not None
    assert not Project.objects.filter(slug="new-one").exists()


def test_a_file_over_the_size_limit_is_refused_with_its_size(refused):
    big = f"{HEADER}\n" + f"{GOOD_ROW}\n" * (IMPORT_MAX_BYTES // len(GOOD_ROW) + 10)
    message = refused(big, "projects.csv")
    assert "may be at most 2.0 MB" in message
    assert "The file is 2." in message


def test_an_empty_file_is_refused(refused):
    assert "The submitted file is empty" in refused(b"", "projects.csv")


@pytest.mark.parametrize(
    "filename,fmt,expected",
    [
        ("projects.pdf", CSV_FORMAT, "“projects.pdf” is not a CSV file: its name should end in .csv"),
        ("projects.xlsx", CSV_FORMAT, "“projects.xlsx” is not a CSV file"),
        ("projects.csv", XLSX_FORMAT, "“projects.csv” is not a XLSX file: its name should end in .xlsx"),
        ("projects", CSV_FORMAT, "“projects” is not a CSV file"),
    ],
)
def test_a_file_of_the_wrong_type_is_refused_naming_the_type(refused, filename, fmt, expected):
    assert expected in refused(f"{HEADER}\n{GOOD_ROW}\n", filename, fmt)


def test_a_utf16_csv_is_refused_as_utf16(refused):
    message = refused(f"{HEADER}\n{GOOD_ROW}\n".encode("utf-16"), "projects.csv")
    assert "is UTF-16" in message and "CSV UTF-8" in message


def test_a_utf16_csv_without_a_byte_order_mark_is_refused_as_binary_or_utf16(refused):
    message = refused(f"{HEADER}\n{GOOD_ROW}\n".encode("utf-16-le"), "projects.csv")
    assert "NUL bytes" in message and "UTF-16" in message


def test_a_latin1_csv_is_refused_naming_the_byte_and_line(refused):
    content = f"{HEADER}\n{GOOD_ROW.replace('Text', 'Défense')}\n".encode("latin-1")
    message = refused(content, "projects.csv")
    assert "is not UTF-8 text: byte 0xe9 on line 2" in message


def test_a_binary_passed_off_as_csv_is_refused(refused):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"
    assert "contains NUL bytes: it is a binary file" in refused(png, "projects.csv")
    assert "is not UTF-8 text" in refused(b"\xff\xd8\xff\xe0 JFIF", "projects.csv")


def test_an_xlsx_passed_off_as_csv_is_refused(refused):
    workbook = _xlsx([HEADER.split(","), GOOD_ROW.split(",")])
    message = refused(workbook, "projects.csv")
    assert "NUL bytes" in message or "not UTF-8" in message


def test_a_broken_xlsx_zip_is_refused(refused):
    truncated = _xlsx([HEADER.split(","), GOOD_ROW.split(",")])[:300]
    assert "is not a valid XLSX workbook" in refused(truncated, "projects.xlsx", XLSX_FORMAT)
    assert "is not a valid XLSX workbook" in refused(f"{HEADER}\n", "projects.xlsx", XLSX_FORMAT)


def test_a_zip_that_is_not_a_workbook_is_refused(refused):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("readme.txt", "not a workbook")
    assert "could not be read as an XLSX workbook" in refused(archive.getvalue(), "projects.xlsx", XLSX_FORMAT)


def test_a_workbook_that_unpacks_too_large_is_refused(refused):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"0" * (IMPORT_MAX_UNPACKED_BYTES + 1))
    assert len(archive.getvalue()) < IMPORT_MAX_BYTES  # small on the wire
    assert "unpacks to 20.0 MB; a workbook may unpack to at most 20.0 MB" in refused(
        archive.getvalue(), "projects.xlsx", XLSX_FORMAT
    )


def test_a_csv_with_ragged_rows_is_refused(refused):
    message = refused(f"{HEADER}\n{GOOD_ROW},extra,cells\n", "projects.csv")
    assert "could not be read as CSV" in message


@pytest.mark.parametrize(
    "header,expected",
    [
        (HEADER.replace("program,", ""), "missing column(s): program"),
        (HEADER.replace("slug,", ""), "missing column(s): slug"),
        (HEADER + ",colour", "unknown column(s): colour"),
        (HEADER.replace("title", "Title"), "unknown column(s): Title; missing column(s): title"),
        (HEADER + ",title", "column(s) named twice: title"),
        (HEADER.replace("fields", ""), "Column 5 of the header row has no name"),
    ],
)
def test_missing_unknown_or_repeated_columns_are_refused_by_name(refused, header, expected):
    row = ",".join(["x"] * len(header.split(",")))
    message = refused(f"{header}\n{row}\n", "projects.csv")
    assert expected in message
    if "column(s)" in expected:
        assert "The columns are: slug, title, program" in message


def test_unknown_columns_in_an_xlsx_are_refused_too(refused):
    workbook = _xlsx([["slug", "name", "secret"], ["x", "y", "z"]])
    message = refused(workbook, "partners.xlsx", XLSX_FORMAT, Partner)
    assert "unknown column(s): secret" in message and "missing column(s): kind, country, region" in message


def test_a_header_without_rows_or_without_a_header_is_refused(refused):
    assert "no rows to import" in refused(f"{HEADER}\n", "projects.csv")
    assert "no header row" in refused(_xlsx([[None, None], ["a", "b"]]), "projects.xlsx", XLSX_FORMAT)


def test_a_file_with_an_invalid_row_imports_nothing(editor_client, project):
    # Readable, right columns, but the second row is wrong: the whole file is refused.
    before = db_snapshot()
    bad = GOOD_ROW.replace("new-one", "other").replace("2016,2017", "2016,2010")
    response = _upload(editor_client, f"{HEADER}\n{GOOD_ROW}\n{bad}\n", "projects.csv")
    assert response.context.get("confirm_form") is None
    assert "cannot be before start year" in response.content.decode()
    assert changed_tables(before, db_snapshot()) == []


def test_a_forged_or_expired_confirmation_imports_nothing_and_says_so(editor_client, project):
    before = db_snapshot()
    for forged in (
        {"import_file_name": "no-such-file", "original_file_name": "x.csv", "format": "0", "resource": ""},
        {"import_file_name": "x", "original_file_name": "x.csv", "format": "7", "resource": ""},
        {"import_file_name": "x", "original_file_name": "x.csv", "format": "csv", "resource": ""},
        {"import_file_name": "x", "original_file_name": "x.csv", "format": "0", "resource": "9"},
        {"format": "0"},
    ):
        response = editor_client.post(_url(Project, "process_import"), forged, follow=True)
        assert response.status_code == 200
        assert "Nothing was imported" in response.content.decode()
    assert changed_tables(before, db_snapshot()) == []


@pytest.mark.parametrize("model,fmt", [(Project, XLSX_FORMAT), (Project, CSV_FORMAT), (Partner, XLSX_FORMAT)])
def test_the_trackers_own_export_imports_again(editor_client, project, draft_project, model, fmt):
    # Found by the fuzz suite: an XLSX export's empty cells (a project without a
    # description) were read back as nothing and refused as a database error.
    meta = model._meta
    exported = editor_client.post(_url(model, "export"), {"resource": 0, "format": fmt, **{
        f"{meta.model_name}resource_{c}": "on" for c in ["slug", "title", "name", "program", "partners", "fields",
        "start_year", "end_year", "status", "cooperating_countries", "description", "published", "version", "kind",
        "country", "region", "asean_member", "parent", "name_ja"]}})  # fmt: skip
    content = b"".join(exported.streaming_content) if exported.streaming else exported.content
    before = db_snapshot()
    preview = _upload(editor_client, content, f"export.{'xlsx' if fmt == XLSX_FORMAT else 'csv'}", fmt, model)
    assert preview.context["form"].errors == {}
    assert preview.context["confirm_form"] is not None, preview.context["result"].row_errors()
    done = editor_client.post(_url(model, "process_import"), preview.context["confirm_form"].initial)
    assert done.status_code == 302 and not done["Location"].endswith("/import/")
    # Nothing changed, so nothing was written (no new versions, no history).
    assert changed_tables(before, db_snapshot()) == []
