"""Counts that agree wherever they appear: one rule (a partner's projects include its
services' and agencies', each project once; README, "Counts that agree"), walked over
every place a number is shown, for the seed data and several selections."""

import csv
import io

import pytest
from django.core.management import call_command

from partners.models import Partner
from projects.models import Field, Program, Project

pytestmark = [pytest.mark.django_db, pytest.mark.engines("once")]


@pytest.fixture
def seeded(db):
    call_command("seed", stdout=io.StringIO())


def _api_count(client, **params):
    body = client.get("/api/v1/projects/", {**params, "page_size": 1}).json()
    return body["count"]


def _csv_rows(client, **params):
    response = client.get("/api/v1/projects/", {**params, "format": "csv"})
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def _report(client, group_by, **params):
    return client.get("/api/v1/reports/counts/", {"group_by": group_by, **params}).json()["results"]


def _page_list_count(client, **params):
    return client.get("/projects/", params).context["paginator"].count


def _partner_list_counts(client):
    response = client.get("/partners/")
    return {p.slug: p.project_count for region in response.context["regions"] for p in region["partners"]}


def _matrix_projects(client, **params):
    """For each matrix row (partner), the distinct projects in its cells."""
    body = client.get("/api/v1/reports/matrix/", params).json()
    return {
        row["partner"]["slug"]: {p["slug"] for cell in row["cells"] for p in cell["projects"]} for row in body["rows"]
    }


def test_the_issues_examples_hold(seeded, client):
    """Vietnam's page said 7 where country=VN gave 8; the Philippines' 10 where country=PH gave 14."""
    for slug, code in (("vietnam", "VN"), ("philippines", "PH")):
        page = client.get(Partner.objects.get(slug=slug).get_absolute_url())
        assert len(page.context["projects"]) == _api_count(client, country=code), slug


def test_every_partner_is_counted_the_same_everywhere(seeded, client):
    listed = _partner_list_counts(client)
    by_partner = {row["partner"]: row["count"] for row in _report(client, "partner")}
    matrix = _matrix_projects(client)
    for partner in Partner.objects.public():
        page = client.get(partner.get_absolute_url())
        shown = {p.slug for p in page.context["projects"]}
        api = _api_count(client, partner=partner.slug)
        everywhere = {
            "partner page": len(shown),
            "partners list": listed[partner.slug],
            "API partner filter": api,
            "API CSV": len(_csv_rows(client, partner=partner.slug)),
            "projects page": _page_list_count(client, partner=partner.slug),
            "counts report": by_partner.get(partner.slug, 0),
        }
        assert len(set(everywhere.values())) == 1, (partner.slug, everywhere)
        if shown:
            assert matrix.get(partner.slug, set()) <= shown  # the matrix holds projects with a field
        if partner.kind == Partner.Kind.COUNTRY and partner.country:
            assert api == _api_count(client, country=partner.country.code), partner.slug
        breakdown = page.context["breakdown"]
        if partner.children.filter(published=True).exists():
            assert breakdown and breakdown[0]["own"] and breakdown[0]["partner"] == partner
            for item in breakdown:  # each member's own count is its own page's, for a service
                if not item["own"] and not item["partner"].children.exists():
                    assert item["count"] == _api_count(client, partner=item["partner"].slug)
            assert max(i["count"] for i in breakdown) <= len(shown) <= sum(i["count"] for i in breakdown)
        else:
            assert breakdown == []


@pytest.mark.parametrize("model, parameter", [(Field, "field"), (Program, "program")])
def test_fields_and_programs_are_counted_the_same_everywhere(seeded, client, model, parameter):
    by_report = {row[parameter]: row["count"] for row in _report(client, parameter)}
    for obj in model.objects.all():
        page = client.get(obj.get_absolute_url())
        everywhere = {
            "page": len(page.context["projects"]),
            "API filter": _api_count(client, **{parameter: obj.slug}),
            "API CSV": len(_csv_rows(client, **{parameter: obj.slug})),
            "projects page": _page_list_count(client, **{parameter: obj.slug}),
            "counts report": by_report.get(obj.slug, 0),
        }
        assert len(set(everywhere.values())) == 1, (obj.slug, everywhere)


@pytest.mark.parametrize(
    "selection",
    [{}, {"country": "PH"}, {"field": "ha-dr"}, {"region": "southeast_asia"}, {"status": "completed"}],
    ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()) or "everything",
)
def test_totals_agree_for_a_selection(seeded, client, selection):
    total = _api_count(client, **selection)
    assert _page_list_count(client, **selection) == total
    assert len(_csv_rows(client, **selection)) == total
    if not selection:
        assert client.get("/").context["headline"]["projects"] == total == Project.objects.public().count()
    timeline = client.get("/api/v1/reports/timeline/", selection).json()
    for row in timeline["rows"]:
        assert row["total"] == _api_count(client, **selection, year=row["year"]), row["year"]
    by_year = {row["year"]: row["count"] for row in _report(client, "year", **selection)}
    assert by_year == {row["year"]: row["total"] for row in timeline["rows"] if row["total"]}
