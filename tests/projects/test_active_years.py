"""A project counts as active from its start year to its end year; an open-ended one up to
the year of its latest evidence (its latest status report or activity, or the publication
of the latest source cited for it), never up to today. One rule (Project.active_until),
read by the filter, the reports, the public pages and the API alike."""

import re

import pytest
from rest_framework.test import APIClient

from projects.models import ACTIVE_UNTIL, Activity, Citation, Project, StatusReport, project_active_until
from projects.selectors import report_counts, report_headline, report_timeline
from tests.conftest import make_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_ended(program, partner, field):
    """Started 2012, no end year, and nothing yet says anything about it after that."""
    return make_project("open", "Open-ended", program, [partner], [field], 2012, None, status="not_reported")


def _until(project):
    return Project.objects.values_list("active_until", flat=True).get(pk=project.pk)


class TestTheEvidence:
    def test_with_no_evidence_it_counts_in_its_start_year_only(self, open_ended):
        assert _until(open_ended) == 2012
        assert list(Project.objects.active_in(2012)) == [open_ended]
        assert not Project.objects.active_in(2013).exists()

    def test_a_status_report_an_activity_and_a_cited_source_each_carry_it_on(self, open_ended, source):
        StatusReport.objects.create(project=open_ended, status="ongoing", year=2014, month=6)
        assert _until(open_ended) == 2014
        activity = Activity.objects.create(project=open_ended, title="A seminar", kind="seminar", year=2016)
        assert _until(open_ended) == 2016
        # The fixture's source was published in 2020: citing it is evidence for 2020.
        citation = Citation.objects.create(source=source, section="S", excerpt="E", activity=activity)
        assert _until(open_ended) == 2020
        citation.delete()
        assert _until(open_ended) == 2016
        activity.delete()
        assert _until(open_ended) == 2014

    def test_a_source_whose_year_changes_moves_every_project_it_is_cited_for(self, open_ended, source):
        Citation.objects.create(source=source, section="S", excerpt="E", project=open_ended)
        assert _until(open_ended) == 2020
        source.year = 2018
        source.save()
        assert _until(open_ended) == 2018

    def test_an_end_year_is_the_end_whatever_the_evidence(self, open_ended):
        StatusReport.objects.create(project=open_ended, status="ongoing", year=2019)
        Project.objects.filter(pk=open_ended.pk).update(end_year=2013)  # however written
        assert _until(open_ended) == 2013
        Project.objects.filter(pk=open_ended.pk).update(start_year=None, end_year=None)
        assert _until(open_ended) is None  # counted in no year

    @pytest.mark.parametrize(
        "start, end, evidence",
        [(2012, None, None), (2012, None, 2010), (2012, None, 2019), (2012, 2014, 2019), (None, None, 2019)],
    )
    def test_the_database_and_python_agree(self, open_ended, start, end, evidence):
        Project.objects.filter(pk=open_ended.pk).update(start_year=start, end_year=end, evidence_year=evidence)
        assert _until(open_ended) == project_active_until(start, end, evidence)
        computed = Project.objects.annotate(rule=ACTIVE_UNTIL).values_list("rule", flat=True).get(pk=open_ended.pk)
        assert computed == _until(open_ended)

    def test_an_import_that_moves_the_years_moves_the_count(self, editor_client, project):
        from tests.projects.test_status_reports import TestImports

        _, confirm = TestImports()._import(
            editor_client, "ha-dr-vietnam,HA/DR for Vietnam,capacity-building,vietnam,ha-dr,2013,,completed,,,1"
        )
        confirm()
        project.refresh_from_db()
        # No end year now: its latest evidence is its report as of 2015 and the 2020
        # source its citations come from.
        assert project.end_year is None and project.active_until == 2020

    def test_the_seed_loading_path_computes_it_too(self, open_ended):
        Project.objects.filter(pk=open_ended.pk).update(evidence_year=None)
        StatusReport.objects.bulk_create([StatusReport(project=open_ended, status="ongoing", year=2017, slug="x")])
        assert Project.refresh_latest_of([open_ended.pk]) == 1
        assert _until(open_ended) == 2017


class TestEverySurfaceFollowsIt:
    @pytest.fixture
    def world(self, open_ended, project, source):
        # `project` runs 2013-2015; the open-ended one is reported ongoing as of 2017.
        StatusReport.objects.create(project=open_ended, status="ongoing", year=2017)
        Project.objects.update(publication_state="published", published=True)
        return open_ended

    def test_reports_and_headline_end_at_the_latest_evidence(self, world):
        years = {r["year"]: r["count"] for r in report_counts(projects=Project.objects.all(), group_by=["year"])}
        assert max(years) == 2017 and years[2017] == 1 and years[2014] == 2
        assert report_timeline(projects=Project.objects.all())["years"][-1] == 2017
        headline = report_headline(projects=Project.objects.all())
        assert (headline["first_year"], headline["last_year"]) == (2012, 2017)

    def test_the_api_gives_active_until_and_filters_by_it(self, world):
        client = APIClient()
        body = client.get("/api/v1/projects/open/").json()
        assert body["active_until"] == 2017 and body["end_year"] is None
        slugs = [p["slug"] for p in client.get("/api/v1/projects/?year=2017").json()["results"]]
        assert slugs == ["open"]
        assert client.get("/api/v1/projects/?year=2018").json()["count"] == 0
        timeline = client.get("/api/v1/reports/timeline/").json()
        assert timeline["years"][-1] == 2017
        schema = client.get("/api/v1/schema/?format=json").json()
        assert (
            "latest evidence" in schema["components"]["schemas"]["Project"]["properties"]["active_until"]["description"]
        )

    def test_the_public_pages_end_at_the_latest_evidence(self, world, anonymous_client, partner):
        home = anonymous_client.get("/").content.decode()
        assert "2012–2017" in home
        timeline = anonymous_client.get("/timeline/").content.decode()
        assert re.findall(r'<th scope="col" class="num">(\d+)</th>', timeline)[-1] == "2017"
        partner_page = anonymous_client.get(partner.get_absolute_url()).content.decode()
        grid_years = re.findall(r'<th scope="col"[^>]*>(\d{4})</th>', partner_page)
        assert grid_years and grid_years[-1] == "2017"
        listed = anonymous_client.get("/projects/?year=2018").content.decode()
        assert "Open-ended" not in listed


class TestWhatTheDataIsAsOf:
    PAGES = ["/", "/projects/", "/projects/open/", "/matrix/", "/timeline/", "/partners/", "/fields/ha-dr/"]

    @pytest.fixture
    def world(self, open_ended):
        StatusReport.objects.create(project=open_ended, status="ongoing", year=2017, month=6)
        Project.objects.update(publication_state="published", published=True)
        return open_ended

    @pytest.mark.parametrize("url", PAGES)
    def test_every_public_page_says_it(self, world, anonymous_client, url):
        from django.utils import timezone
        from django.utils.formats import date_format

        response = anonymous_client.get(url)
        assert response.status_code == 200
        footer = re.search(r'<p class="data-as-of">(.*?)</p>', response.content.decode()).group(1)
        assert date_format(timezone.localdate(), "DATE_FORMAT") in footer
        assert "up to 2017" in footer

    def test_drafts_move_neither_date_nor_year(self, world, anonymous_client, program, partner, field):
        from projects.selectors import data_as_of

        before = data_as_of()
        draft = make_project("draft", "Draft", program, [partner], [field], 2012, None, published=False, as_of=2024)
        assert draft.evidence_year == 2024
        assert data_as_of() == before  # the cached value under a new data version, recomputed
        assert "up to 2024" not in anonymous_client.get("/").content.decode()

    def test_the_matrix_shows_each_status_with_its_date(self, world, anonymous_client):
        html = anonymous_client.get("/matrix/").content.decode()
        assert "Ongoing, as of June 2017" in html
