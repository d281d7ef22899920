"""core.db: each PostgreSQL/SQLite difference does what its engine should, on the engine
the suite runs on (every test here runs on both); and the triggers are the migrations'."""

import contextlib
from types import SimpleNamespace

import pytest
from django.db import IntegrityError, OperationalError, connection, migrations, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import OuterRef
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.cache.version import COUNTER
from core.db import Counter, LinkIdArrays, TextSearch, execute_dialect, take_ids, update_rows, years_series
from projects import db_rules, facets
from projects.models import Activity, Field, Project
from tests.conftest import current_engine

POSTGRES = current_engine() == "postgresql"

pytestmark = pytest.mark.django_db


class TestLinkIdArrays:
    def test_postgresql_keeps_the_ids_in_an_array_that_the_filters_read(self, project, partner, field):
        assert LinkIdArrays.kept(connection) is POSTGRES
        assert LinkIdArrays.read_by(Project.objects.all()) is POSTGRES
        assert LinkIdArrays.column_type(connection) == ("bigint[]" if POSTGRES else "text")
        stored = Project.objects.values_list("partner_ids", "field_ids").get(pk=project.pk)
        assert stored == (([partner.pk], [field.pk]) if POSTGRES else ([], []))
        if POSTGRES:
            assert list(Project.objects.filter(partner_ids__overlap=[partner.pk])) == [project]

    def test_django_writes_the_ids_on_postgresql_and_an_empty_text_on_sqlite(self):
        assert LinkIdArrays.db_value(["2", 1], connection) == ([2, 1] if POSTGRES else "")


class TestTextSearch:
    search = TextSearch("search_document", config="english")

    @pytest.fixture
    def found(self, project):
        Project.objects.filter(pk=project.pk).update(search_document="A seminar on disaster relief")

        def found(query, linked=None):
            qs = self.search.filter(
                Project.objects.all(), query, words=query.split(), linked=linked, linked_text=("partner__name",)
            )
            return project in qs

        return found

    def test_every_word_must_match(self, found):
        assert found("seminar")
        assert found("Disaster SEMINAR")
        assert not found("seminar vietnam")

    def test_postgresql_stems_words_and_sqlite_matches_them_as_written(self, found):
        assert found("seminars") is POSTGRES
        assert found("semin") is not POSTGRES

    def test_the_linked_text_is_searched_with_the_document(self, found):
        links = Project.partners.through.objects.filter(project_id=OuterRef("pk"))
        assert not found("vietnam")
        assert found("vietnam", linked=links)
        assert found("vietnam seminar", linked=links)
        assert not found("vietnam seminar", linked=links.exclude(partner__name="Vietnam"))

    def test_postgresql_searches_the_indexed_expression(self):
        sql = str(self.search.filter(Project.objects.all(), "relief", words=["relief"]).query)
        assert ("to_tsvector" in sql) is POSTGRES and ("LIKE" in sql) is not POSTGRES


def test_years_series_joins_each_row_to_each_year_of_its_span():
    years = years_series(connection, alias="y", start="p.s", end="p.e", first=2010, last=2014)
    rows = "SELECT 1 AS k, 2011 AS s, 2012 AS e UNION ALL SELECT 2, 2013, NULL UNION ALL SELECT 3, 2014, 2014"
    with connection.cursor() as cursor:
        cursor.execute(
            f"{years.with_sql}SELECT p.k, y.y FROM ({rows}) p {years.join_sql} ORDER BY 1, 2",
            [*years.with_params, *years.join_params],
        )
        assert cursor.fetchall() == [(1, 2011), (1, 2012), (2, 2013), (2, 2014), (3, 2014)]
    assert ("generate_series" in years.join_sql) is POSTGRES
    assert years.with_sql.startswith("WITH RECURSIVE") is not POSTGRES


class TestCounter:
    counter = Counter(COUNTER)

    def test_each_number_is_new_and_higher(self):
        before = self.counter.last(connection)
        first = self.counter.take(connection, above=before)
        second = self.counter.take(connection, above=0)
        assert before < first < second == self.counter.last(connection)

    def test_a_number_is_above_what_the_caller_has_seen(self):
        seen = self.counter.last(connection) + 1_000_000
        assert self.counter.take(connection, above=seen) > seen

    def test_a_number_taken_in_a_transaction_that_rolled_back_is_not_handed_out_again(self):
        with pytest.raises(RuntimeError), transaction.atomic():
            undone = self.counter.take(connection, above=0)
            raise RuntimeError
        assert self.counter.take(connection, above=0) > undone


class TestBulkWrites:
    def test_postgresql_gives_new_records_ids_before_they_are_inserted(self):
        new = [Field(name="Medicine", slug="medicine"), Field(name="Band", slug="band")]
        assert take_ids(Field, new, using="default") is POSTGRES
        assert all(f.pk is not None for f in new) is POSTGRES
        Field.objects.bulk_create(new)
        assert {f.pk for f in Field.objects.filter(slug__in=["medicine", "band"])} == {f.pk for f in new}

    def test_update_rows_writes_the_fields_nulls_included(self, project):
        other = Project.objects.create(title="Other", slug="other", program=project.program, start_year=2001)
        project.title, project.end_year = "Renamed", None
        other.title, other.end_year = "Also renamed", 2003
        with CaptureQueriesContext(connection) as queries:
            update_rows(Project, [project, other], ["title", "end_year"], using="default")
        assert len(queries) == 1 and "VALUES" in queries[0]["sql"]
        assert ("CAST(" in queries[0]["sql"]) is POSTGRES
        assert set(Project.objects.values_list("title", "end_year")) == {("Renamed", None), ("Also renamed", 2003)}

    @pytest.mark.engines("sqlite")  # an SQLite version's fallback
    def test_an_sqlite_without_update_from_takes_bulk_update(self, project, monkeypatch):
        monkeypatch.setattr(connection.Database, "sqlite_version_info", (3, 31, 1))
        project.title = "Renamed"
        with CaptureQueriesContext(connection) as queries:
            update_rows(Project, [project], ["title"], using="default")
        assert any("CASE" in q["sql"] for q in queries) and not any("VALUES" in q["sql"] for q in queries)
        assert Project.objects.get(pk=project.pk).title == "Renamed"


class TestExecuteDialect:
    def _run(self, vendor):
        ran = []
        editor = SimpleNamespace(
            connection=SimpleNamespace(vendor=vendor), execute=lambda sql, params=(): ran.append(sql)
        )
        execute_dialect(editor, postgresql=["pg 1", "pg 2"], sqlite=["lite"])
        return ran

    def test_it_runs_the_statements_of_the_database_dialect(self):
        assert self._run(connection.vendor) == (["pg 1", "pg 2"] if POSTGRES else ["lite"])

    def test_it_refuses_another_database(self):
        with pytest.raises(RuntimeError, match="oracle"):
            self._run("oracle")


# -- The triggers are the migrations' ------------------------------------------------

BEFORE_TRIGGERS = ("projects", "0008_search_documents_public_partners")
if POSTGRES:
    EXPECTED = {f"{db_rules.RULE}_activity", f"{db_rules.RULE}_project", facets.TRIGGER} | {
        f"{facets.TRIGGER}_{event}" for event in ("insert", "update_new", "update_old", "delete")
    }
else:
    EXPECTED = {f"{db_rules.RULE}_{event}" for event in ("activity_insert", "activity_update", "project_update")}


def _triggers():
    with connection.cursor() as cursor:
        if POSTGRES:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        return {name for (name,) in cursor.fetchall() if name.startswith("projects_")}


def _assert_the_rules_hold(project):
    assert _triggers() == EXPECTED
    with pytest.raises(IntegrityError, match=db_rules.RULE), transaction.atomic():
        Activity.objects.create(project=project, title="Too late", kind="seminar", year=2016)


def _migrate(*targets):
    executor = MigrationExecutor(connection)
    executor.migrate(list(targets) or executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_triggers_come_with_migration_0009_and_go_when_it_is_unapplied(project):
    _assert_the_rules_hold(project)
    try:
        _migrate(BEFORE_TRIGGERS)
        assert _triggers() == set()
        # Raw SQL: the model has columns later migrations add. Without the triggers, an
        # activity outside its project's years goes in.
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO projects_activity (project_id, title, slug, kind, year, location, location_country, "
                "description, created, updated) VALUES (%s, 'Too late', 'too-late', 'seminar', 2016, '', '', '', "
                "%s, %s)",
                [project.pk, timezone.now(), timezone.now()],
            )
            cursor.execute("DELETE FROM projects_activity WHERE slug = 'too-late'")
    finally:
        _migrate()
    _assert_the_rules_hold(project)


def _title_longer_by_one():
    field = Project._meta.get_field("title").clone()
    field.max_length += 1
    return migrations.AlterField("project", "title", field)


@contextlib.contextmanager
def _migration_applied(operations):
    """A migration of these operations applied to the tables, and unapplied after."""
    migration = migrations.Migration("test", "projects")
    migration.operations = operations
    state = MigrationExecutor(connection).loader.project_state()
    with connection.schema_editor() as editor:
        after = migration.apply(state.clone(), editor)
    yield
    with connection.schema_editor() as editor:
        migration.unapply(after, editor)


@pytest.mark.django_db(transaction=True)
def test_a_migration_that_alters_the_tables_inside_around_table_changes_keeps_the_triggers(project):
    with _migration_applied(db_rules.around_table_changes(_title_longer_by_one())):
        _assert_the_rules_hold(project)
    _assert_the_rules_hold(project)


@pytest.mark.engines("sqlite")  # PostgreSQL alters a table in place
@pytest.mark.django_db(transaction=True)
def test_without_it_sqlite_cannot_rebuild_a_table_the_triggers_name():
    with pytest.raises(OperationalError, match=db_rules.RULE), _migration_applied([_title_longer_by_one()]):
        pass
    assert _triggers() == EXPECTED
