"""projects.facets: each project's partner and field ids kept on its row by PostgreSQL's
triggers, whatever writes the links; on SQLite the filters read the link tables."""

import threading

import psycopg
import pytest
from django.db import connection

from partners.models import Partner
from projects.facets import uses_facets
from projects.filtersets import ProjectFilterSet
from projects.models import Field, Project

pytestmark = pytest.mark.django_db

POSTGRES = connection.vendor == "postgresql"


def _ids(project):
    project = Project.objects.get(pk=project.pk)
    return project.partner_ids, project.field_ids


def _linked(project):
    return (
        sorted(project.partners.values_list("pk", flat=True)),
        sorted(project.fields.values_list("pk", flat=True)),
    )


def _found_by(**params):
    return set(ProjectFilterSet(params, queryset=Project.objects.all()).qs.values_list("pk", flat=True))


def _check(project):
    """The filters find the project by each of its partners and fields and by no other;
    on PostgreSQL the arrays they read are the links, exactly."""
    partners, fields = _linked(project)
    for partner in Partner.objects.all():
        assert (project.pk in _found_by(partner=[partner.slug])) is (partner.pk in partners), partner.slug
    for field in Field.objects.all():
        assert (project.pk in _found_by(field=[field.slug])) is (field.pk in fields), field.slug
    if POSTGRES:
        assert _ids(project) == (partners, fields)


def test_the_filters_read_the_arrays_on_postgresql_and_the_links_elsewhere(world):
    qs = ProjectFilterSet({"country": ["VN"], "field": ["ha-dr"]}, queryset=Project.objects.all()).qs
    sql = str(qs.query).split(" WHERE ", 1)[1]
    assert uses_facets(qs) is POSTGRES
    if POSTGRES:
        assert "partner_ids" in sql and "field_ids" in sql and "EXISTS" not in sql
    else:
        assert "partner_ids" not in sql and sql.count("EXISTS") == 2
    assert {p.slug for p in qs} == {"hadr-seminar"}


class TestTheFiltersFollowTheLinks:
    def test_every_kind_of_link_change(self, world):
        project = world["vn_ph_hadr"]
        _check(project)
        png = Partner.objects.get(slug="png")
        band = Field.objects.get(slug="military-band")
        project.partners.add(png)  # forward add
        _check(project)
        png.projects.remove(project)  # reverse remove
        _check(project)
        band.projects.add(project)  # reverse add
        _check(project)
        project.fields.set([band])  # set
        _check(project)
        project.fields.clear()
        _check(project)
        assert _linked(project)[1] == []

    def test_a_partner_deleted_with_its_links(self, world):
        project = world["vn_ph_hadr"]
        Partner.objects.get(slug="philippines").delete()
        _check(project)
        assert len(_linked(project)[0]) == 1

    def test_a_stale_instance_saved_cannot_overwrite_them(self, world):
        project = world["vn_medicine"]
        stale = Project.objects.get(pk=project.pk)
        project.partners.add(Partner.objects.get(slug="png"))
        stale.title = "Renamed"
        stale.save()
        _check(project)
        assert len(_linked(project)[0]) == 2

    def test_raw_sql_on_the_link_table(self, world):
        project = world["png_band"]
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO projects_project_partners (project_id, partner_id) VALUES (%s, %s)",
                [project.pk, Partner.objects.get(slug="vietnam").pk],
            )
        _check(project)


@pytest.mark.engines("postgresql")  # the arrays are PostgreSQL's; SQLite is covered above
@pytest.mark.django_db(transaction=True)
def test_two_transactions_linking_one_project_leave_both_links(world):
    """The second waits for the first's lock on the project row, then reads the links
    afresh: the array holds both, not only its own."""
    project, vn, png = world["png_band"], Partner.objects.get(slug="vietnam"), Partner.objects.get(slug="png")
    ph = Partner.objects.get(slug="philippines")
    params = connection.get_connection_params()
    insert = "INSERT INTO projects_project_partners (project_id, partner_id) VALUES (%s, %s)"
    with psycopg.connect(**params) as first, psycopg.connect(**params) as second:
        first.execute(insert, [project.pk, vn.pk])  # holds the project row's lock
        done = threading.Event()

        def other():
            second.execute(insert, [project.pk, ph.pk])
            second.commit()
            done.set()

        thread = threading.Thread(target=other)
        thread.start()
        assert not done.wait(0.5)  # waiting for the first transaction
        first.commit()
        thread.join(10)
        assert done.is_set()
    _check(project)
    assert len(_ids(project)[0]) == 3 and png.pk in _ids(project)[0]


@pytest.mark.engines("postgresql")
def test_the_covering_index_holds_every_column_a_filtered_page_tests(world):
    """The public order's covering index (projects_project_facets_idx) holds every column
    of projects_project that a filtered page of ids (the API list's first query) reads, so
    that at scale the page is an index-only scan: the projects passed over on the way to a
    page are never read from the table. (It once kept an old "active in" expression after
    the rule moved to `active_until`, and every filtered page read the table.)"""
    import re

    from django.db import connection as conn

    params = {"country": ["VN", "PH"], "field": [Field.objects.first().slug], "year": "2014", "asean": "true"}
    ids = ProjectFilterSet(params, queryset=Project.objects.public()).qs.order_by("start_year", "title")
    sql = str(ids.values_list("pk", flat=True)[:50].query)
    read = set(re.findall(r'"projects_project"\."(\w+)"', sql))
    with conn.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", ["projects_project_facets_idx"])
        (definition,) = cursor.fetchone()
    held = set(re.findall(r"\w+", definition.split(" USING btree ", 1)[1]))
    assert read, sql
    assert read <= held, f"read but not in the index: {sorted(read - held)} ({definition})"
