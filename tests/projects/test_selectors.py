"""The report selectors shared by the API and the public pages."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from projects.models import Project
from projects.selectors import (
    ReportError,
    report_counts,
    report_headline,
    report_matrix,
    report_parse_group_by,
    report_timeline,
)


def _counts(group_by):
    return report_counts(projects=Project.objects.all(), group_by=report_parse_group_by(group_by))


class TestCounts:
    def test_counts_by_partner_count_a_shared_project_for_each_partner(self, world):
        rows = {r["partner"]: r["count"] for r in _counts("partner")}
        assert rows == {"vietnam": 2, "philippines": 2, "png": 1}

    def test_counts_by_country_name_the_country(self, world):
        rows = _counts("country")
        assert {r["country"]: (r["country_name"], r["count"]) for r in rows}["PG"] == ("Papua New Guinea", 1)

    def test_counts_by_field_program_and_status(self, world):
        assert {r["field"]: r["count"] for r in _counts("field")} == {
            "ha-dr": 2,
            "underwater-medicine": 1,
            "military-band": 1,
        }
        assert {r["program"]: r["count"] for r in _counts("program")} == {
            "capacity-building-assistance": 3,
            "vientiane-vision": 1,
        }
        assert {r["status"]: r["count"] for r in _counts("status")} == {"completed": 3, "ongoing": 1}

    def test_counts_by_year_count_every_active_year_and_run_open_ends_to_their_evidence(self, world):
        rows = {r["year"]: r["count"] for r in _counts("year")}
        assert rows[2012] == 1 and rows[2015] == 1
        assert 2014 in rows and rows[2018] == 2
        # The open-ended Balikatan's latest evidence is a report as of 2020: not this year.
        assert max(rows) == 2020
        assert rows[2020] == 1

    def test_two_dimensions(self, world):
        rows = {(r["field"], r["year"]): r["count"] for r in _counts("field,year")}
        assert rows[("ha-dr", 2016)] == 1
        assert rows[("ha-dr", 2017)] == 1
        assert rows[("underwater-medicine", 2013)] == 1
        assert ("military-band", 2017) not in rows

    def test_counts_honour_the_given_queryset(self, world):
        rows = report_counts(projects=Project.objects.filter(program__slug="vientiane-vision"), group_by=["program"])
        assert rows == [
            {"program": "vientiane-vision", "program_name": "Vientiane Vision", "count": 1},
        ]

    @pytest.mark.parametrize("raw", ["", "colour", "field,year,status", "field,field"])
    def test_a_bad_group_by_is_an_error_naming_the_parameter(self, raw):
        with pytest.raises(ReportError) as excinfo:
            report_parse_group_by(raw)
        assert excinfo.value.parameter == "group_by"

    def test_query_count_does_not_grow_with_the_data(self, world):
        with CaptureQueriesContext(connection) as small:
            _counts("partner,year")
        for i in range(5):
            project = Project.objects.create(
                slug=f"extra-{i}", title="x", program=world["png_band"].program, start_year=2010
            )
            project.partners.set(world["vn_ph_hadr"].partners.all())
        with CaptureQueriesContext(connection) as large:
            _counts("partner,year")
        assert len(large) == len(small)


class TestMatrixAndTimeline:
    def test_matrix_puts_each_project_in_its_partner_and_field_cell(self, world):
        matrix = report_matrix(projects=Project.objects.all())
        assert [f["slug"] for f in matrix["fields"]] == ["ha-dr", "military-band", "underwater-medicine"]
        vietnam = next(r for r in matrix["rows"] if r["partner"]["slug"] == "vietnam")
        cells = {c["field"]: [p["years"] for p in c["projects"]] for c in vietnam["cells"]}
        assert cells == {"ha-dr": ["2016"], "military-band": [], "underwater-medicine": ["2012–2015"]}

    def test_timeline_counts_projects_per_year_by_field(self, world):
        timeline = report_timeline(projects=Project.objects.all())
        by_year = {r["year"]: r for r in timeline["rows"]}
        assert timeline["years"][0] == 2012
        assert by_year[2016]["counts"]["ha-dr"] == 1
        assert by_year[2018]["counts"] == {"ha-dr": 1, "military-band": 1, "underwater-medicine": 0}
        assert by_year[2018]["total"] == 2

    def test_headline(self, world):
        headline = report_headline(projects=Project.objects.all())
        assert headline["projects"] == 4
        assert headline["partners"] == 3
        assert headline["fields"] == 3
        assert headline["first_year"] == 2012

    def test_empty_selection(self, db):
        assert report_timeline(projects=Project.objects.none())["rows"] == []
        assert report_matrix(projects=Project.objects.none())["rows"] == []
        assert report_counts(projects=Project.objects.none(), group_by=["year"]) == []
