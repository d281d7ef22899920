"""The rule "an activity's year lies inside its project's span", enforced by the database.

A CHECK constraint cannot look at another table, so the rule is a set of triggers (on
activities, and on projects whose years change) named like the other constraints:
projects_activity_within_project_span; each raises an integrity error. The two engines
share no trigger language, so the statements are written for each (core.db.execute_dialect).

Migrations create and drop the triggers, with the link-id triggers of projects.facets:
migration 0009 creates them, so every migrated database has them (the test databases
too), and migrating back before 0009 drops them. Two things follow.

- SQLite rebuilds a table for most schema changes, and a rebuild drops the table's own
  triggers and fails on the other table's triggers that name it. A later migration that
  alters projects_project or projects_activity wraps its operations in
  `around_table_changes(...)`, which drops the triggers before them and creates them
  after (both ways); without it the migration fails on SQLite, the test database's too.
- A migration runs these statements as they are when it runs, 0009 included. A change to
  the rule (here or in projects.facets) needs a new migration that drops the triggers and
  creates them again (`span_rule_drop`, `span_rule_create`), or databases migrated before
  keep the old ones; and if the new statements name something that 0009's tables lack,
  keep the old ones under another name for 0009.
"""

from django.db import migrations

from core.db import execute_dialect
from projects.facets import facets_create, facets_create_before_roles, facets_drop

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


def span_rule_create(apps, schema_editor) -> None:
    """Create the triggers: a migration's RunPython."""
    execute_dialect(schema_editor, postgresql=POSTGRES_CREATE, sqlite=SQLITE_CREATE)


def span_rule_drop(apps, schema_editor) -> None:
    """Drop the triggers (and their functions): a migration's RunPython."""
    execute_dialect(schema_editor, postgresql=POSTGRES_DROP, sqlite=SQLITE_DROP)


def around_table_changes(*operations, before_roles=False) -> list:
    """A migration's operations on projects_project or projects_activity, with the span
    rule's and the link ids' triggers dropped before them and created after: applied and
    unapplied alike, the operations run without triggers and the database has them after.
    `before_roles`: the link ids' triggers as they were before partners had roles (for the
    migrations before 0018, whose tables have no role yet)."""
    link_ids = facets_create_before_roles if before_roles else facets_create
    triggers = [(span_rule_create, span_rule_drop), (link_ids, facets_drop)]
    return [
        *(migrations.RunPython(drop, create) for create, drop in triggers),
        *operations,
        *(migrations.RunPython(create, drop) for create, drop in reversed(triggers)),
    ]
