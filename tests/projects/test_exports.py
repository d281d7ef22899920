"""Exports that are safe to open: formula cells neutralised in every CSV the tracker
writes (and restored on re-import), a UTF-8 BOM on request, booleans as true/false, a
machine-readable activity date, aligned multi-valued columns, a file name on every CSV."""

import csv
import io

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from core.dates import iso_date
from core.spreadsheet import BOM, TRIGGERS, names_cell, neutralise, restore
from partners.models import Partner
from projects.models import Activity, Project

pytestmark = [pytest.mark.django_db, pytest.mark.engines("once")]

DANGEROUS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "'=already quoted"]


def _rows(response):
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


class TestTheRule:
    @pytest.mark.parametrize("value", DANGEROUS)
    def test_a_cell_a_spreadsheet_would_run_starts_with_an_apostrophe(self, value):
        assert neutralise(value) == "'" + value

    @pytest.mark.parametrize("value", ["Plain", "'quoted but harmless", "a=b", "", "1-2", " =spaced"])
    def test_other_text_is_left_alone(self, value):
        assert neutralise(value) == value

    @given(st.text(alphabet=st.sampled_from(["'", "a", " ", *TRIGGERS]), max_size=6) | st.text(max_size=12))
    def test_restore_undoes_neutralise_for_every_string(self, value):
        written = neutralise(value)
        assert restore(written) == value
        assert not written.lstrip("'").startswith(TRIGGERS) or written.startswith("'")

    def test_names_stay_aligned_with_their_codes(self):
        cell = names_cell(["A; B", "C\\D", "E"])
        parts = [p.replace("\\;", ";").replace("\\\\", "\\") for p in _split_unescaped(cell)]
        assert parts == ["A; B", "C\\D", "E"]

    def test_a_year_stays_a_year_in_the_iso_date(self):
        assert [iso_date(2014), iso_date(2014, 6), iso_date(2014, 6, 2), iso_date(None)] == [
            "2014",
            "2014-06",
            "2014-06-02",
            "",
        ]


def _split_unescaped(cell):
    parts, current, i = [], "", 0
    while i < len(cell):
        if cell[i] == "\\":
            current += cell[i : i + 2]
            i += 2
        elif cell.startswith("; ", i):
            parts.append(current)
            current, i = "", i + 2
        else:
            current += cell[i]
            i += 1
    return [*parts, current]


@pytest.fixture
def hostile(project, partner):
    project.title = DANGEROUS[0]
    project.description = "-1 lots of text"
    project.save()
    partner.name = "@evil"
    partner.save()
    activity = project.activities.first()
    activity.title, activity.month = "+cmd|' /C calc'!A0", 6
    activity.save()
    return project


class TestTheApi:
    def test_every_list_csv_neutralises_formula_cells(self, client, hostile):
        projects = _rows(client.get("/api/v1/projects/?format=csv"))
        assert projects[0]["title"] == "'" + DANGEROUS[0]
        assert projects[0]["description"] == "'-1 lots of text"
        assert projects[0]["partner_names"] == "'@evil"
        activities = _rows(client.get("/api/v1/activities/?format=csv"))
        assert activities[0]["title"].startswith("'+cmd")
        partners = _rows(client.get("/api/v1/partners/?format=csv"))
        assert partners[0]["name"] == "'@evil"

    def test_booleans_are_true_and_false(self, client, hostile):
        assert {r["published"] for r in _rows(client.get("/api/v1/projects/?format=csv"))} == {"true"}
        assert {r["asean_member"] for r in _rows(client.get("/api/v1/partners/?format=csv"))} == {"true"}

    def test_activities_carry_a_machine_readable_date_beside_the_prose_one(self, client, hostile):
        row = _rows(client.get("/api/v1/activities/?format=csv"))[0]
        assert row["date_iso"] == "2014-06" and row["date"] == "June 2014"

    @pytest.mark.parametrize(
        "path",
        ["/api/v1/projects/", "/api/v1/activities/", "/api/v1/partners/", "/api/v1/fields/", "/api/v1/programs/",
         "/api/v1/sources/", "/api/v1/reports/counts/?group_by=field", "/api/v1/reports/matrix/",
         "/api/v1/reports/timeline/"],
    )  # fmt: skip
    def test_every_csv_answer_is_a_named_download_with_a_bom_on_request(self, client, hostile, path):
        joiner = "&" if "?" in path else "?"
        plain = client.get(f"{path}{joiner}format=csv")
        assert plain.status_code == 200, path
        assert plain["Content-Type"] == "text/csv; charset=utf-8"
        assert plain["Content-Disposition"].startswith('attachment; filename="') and plain[
            "Content-Disposition"
        ].endswith('.csv"')
        body = b"".join(plain.streaming_content) if plain.streaming else plain.content
        assert not body.startswith(BOM.encode())
        marked = client.get(f"{path}{joiner}format=csv&bom=true")
        marked_body = b"".join(marked.streaming_content) if marked.streaming else marked.content
        assert marked_body == BOM.encode() + body

    def test_a_bom_value_that_is_not_a_boolean_is_a_400_naming_it(self, client, hostile):
        response = client.get("/api/v1/projects/?format=csv&bom=please")
        assert response.status_code == 400
        assert "bom" in response.content.decode()


def _admin_export(client, model, fmt, columns):
    meta = model._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_export")
    data = {"resource": 0, "format": fmt, **{f"{meta.model_name}resource_{c}": "on" for c in columns}}
    response = client.post(url, data)
    return b"".join(response.streaming_content) if response.streaming else response.content, response


PROJECT_COLUMNS = ["slug", "title", "program", "partners", "fields", "start_year", "end_year", "status",
                   "cooperating_countries", "description", "published", "version"]  # fmt: skip


class TestTheAdmin:
    def test_the_csv_export_neutralises_formula_cells(self, editor_client, hostile):
        hostile.description = "'=quoted on purpose"
        hostile.save()
        content, response = _admin_export(editor_client, Project, "0", PROJECT_COLUMNS)
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        row = next(csv.DictReader(io.StringIO(content.decode())))
        assert row["title"] == "'" + DANGEROUS[0] and row["description"] == "''=quoted on purpose"
        assert row["published"] == "true"

    def test_the_round_trip_restores_every_dangerous_value(self, editor_client, hostile):
        hostile.description = DANGEROUS[-1]
        hostile.save()
        content, _ = _admin_export(editor_client, Project, "0", PROJECT_COLUMNS)
        hostile.refresh_from_db()
        upload = io.BytesIO(content)
        upload.name = "export.csv"
        preview = editor_client.post(
            reverse("admin:projects_project_import"), {"import_file": upload, "format": "0", "resource": 0}
        )
        result = preview.context["result"]
        assert not result.has_errors() and not result.has_validation_errors()
        # Nothing changed: every row is skipped as unchanged, so the values read back equal the stored ones.
        assert result.totals["skip"] == Project.objects.count(), result.totals

    def test_the_excel_csv_starts_with_a_bom(self, editor_client, hostile):
        content, response = _admin_export(editor_client, Project, "2", PROJECT_COLUMNS)
        assert content.startswith(BOM.encode())
        assert response["Content-Disposition"].endswith('.csv"')

    def test_the_xlsx_export_keeps_values_as_text_never_formulas(self, editor_client, hostile):
        content, _ = _admin_export(editor_client, Project, "1", PROJECT_COLUMNS)
        sheet = load_workbook(io.BytesIO(content)).active
        header = [c.value for c in sheet[1]]
        title = sheet.cell(row=2, column=header.index("title") + 1)
        assert title.data_type == "s" and str(title.value) == DANGEROUS[0]
        published = sheet.cell(row=2, column=header.index("published") + 1)
        assert published.value is True

    def test_a_boolean_that_is_not_one_is_refused_naming_the_column(self, editor_client, hostile):
        content = "slug,name,kind,country,region,asean_member\nnew-one,New,country,VN,southeast_asia,yes\n"
        upload = io.BytesIO(content.encode())
        upload.name = "new.csv"
        before = Partner.objects.count()
        preview = editor_client.post(
            reverse("admin:partners_partner_import"), {"import_file": upload, "format": "0", "resource": 0}
        )
        page = preview.content.decode()
        assert "Enter true or false" in page and "asean_member" in page
        assert Partner.objects.count() == before


def test_names_columns_align_with_codes(client, project, partner):
    other = Partner.objects.create(name="Army; Navy", slug="army-navy", country="VN", publication_state="published")
    project.partners.add(other)
    row = _rows(client.get("/api/v1/projects/?format=csv"))[0]
    codes = row["partners"].split(",")
    names = _split_unescaped(row["partner_names"])
    assert len(codes) == len(names) == 2
    assert dict(zip(codes, names, strict=True))["army-navy"] == "Army\\; Navy"
    assert Activity.objects.exists()
