"""The rule "an activity's year lies inside its project's span", enforced by the database.

A CHECK constraint cannot look at another table, so the rule is a set of triggers (on
activities, and on projects whose years change) named like the other constraints:
projects_activity_within_project_span; each raises an integrity error.

SQLite rebuilds a table for most schema changes, and a trigger that names a table being
rebuilt breaks the rebuild. So the triggers are dropped before every `migrate` and
created again after it (projects.apps): they are part of every migrated database.
"""

from django.db import connections

RULE = "projects_activity_within_project_span"
MESSAGE = f"{RULE}: the year of an activity must lie inside the years of its project"

_ACTIVITY_OUTSIDE = """
    SELECT 1 FROM projects_project p WHERE p.id = NEW.project_id
    AND (NEW.year < p.start_year OR (p.end_year IS NOT NULL AND NEW.year > p.end_year))
"""
_PROJECT_STRANDS = """
    SELECT 1 FROM projects_activity a WHERE a.project_id = NEW.id
    AND (a.year < NEW.start_year OR (NEW.end_year IS NOT NULL AND a.year > NEW.end_year))
"""

SQLITE_CREATE = [
    f"""CREATE TRIGGER IF NOT EXISTS {RULE}_activity_insert BEFORE INSERT ON projects_activity
    FOR EACH ROW WHEN EXISTS ({_ACTIVITY_OUTSIDE}) BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS {RULE}_activity_update BEFORE UPDATE OF year, project_id ON projects_activity
    FOR EACH ROW WHEN EXISTS ({_ACTIVITY_OUTSIDE}) BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS {RULE}_project_update BEFORE UPDATE OF start_year, end_year ON projects_project
    FOR EACH ROW WHEN EXISTS ({_PROJECT_STRANDS}) BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS {RULE}_activity_insert",
    f"DROP TRIGGER IF EXISTS {RULE}_activity_update",
    f"DROP TRIGGER IF EXISTS {RULE}_project_update",
]


def _pg_function(name, condition):
    return f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
    BEGIN
        IF EXISTS ({condition}) THEN
            RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation', CONSTRAINT = '{RULE}';
        END IF;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql"""


POSTGRES_CREATE = [
    _pg_function(f"{RULE}_activity", _ACTIVITY_OUTSIDE),
    _pg_function(f"{RULE}_project", _PROJECT_STRANDS),
    f"""CREATE OR REPLACE TRIGGER {RULE}_activity BEFORE INSERT OR UPDATE OF year, project_id
    ON projects_activity FOR EACH ROW EXECUTE FUNCTION {RULE}_activity()""",
    f"""CREATE OR REPLACE TRIGGER {RULE}_project BEFORE UPDATE OF start_year, end_year
    ON projects_project FOR EACH ROW EXECUTE FUNCTION {RULE}_project()""",
]
POSTGRES_DROP = [
    f"DROP TRIGGER IF EXISTS {RULE}_activity ON projects_activity",
    f"DROP TRIGGER IF EXISTS {RULE}_project ON projects_project",
    f"DROP FUNCTION IF EXISTS {RULE}_activity()",
    f"DROP FUNCTION IF EXISTS {RULE}_project()",
]

_STATEMENTS = {"sqlite": (SQLITE_CREATE, SQLITE_DROP), "postgresql": (POSTGRES_CREATE, POSTGRES_DROP)}


def _tables_exist(connection):
    return {"projects_project", "projects_activity"} <= set(connection.introspection.table_names())


def _execute(connection, which):
    statements = _STATEMENTS.get(connection.vendor)
    if statements is None:
        raise RuntimeError(f"No {RULE} triggers for the {connection.vendor} database.")
    with connection.cursor() as cursor:
        for sql in statements[which]:
            cursor.execute(sql)


def span_rule_create(*, using="default") -> None:
    connection = connections[using]
    if _tables_exist(connection):
        _execute(connection, 0)


def span_rule_drop(*, using="default") -> None:
    connection = connections[using]
    if _tables_exist(connection):
        _execute(connection, 1)
