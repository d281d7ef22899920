"""The rule "an activity's year lies inside its project's span" as a database rule.

A CHECK constraint cannot look at another table, so the rule is a pair of triggers
(on activities, and on projects whose years change), named like the other
constraints: projects_activity_within_project_span. Both raise an integrity error.
"""

from django.db import migrations

RULE = "projects_activity_within_project_span"
MESSAGE = "projects_activity_within_project_span: the year of an activity must lie inside the years of its project"

SQLITE_CREATE = [
    f"""
    CREATE TRIGGER {RULE}_activity_insert BEFORE INSERT ON projects_activity
    FOR EACH ROW WHEN EXISTS (
        SELECT 1 FROM projects_project p WHERE p.id = NEW.project_id
        AND (NEW.year < p.start_year OR (p.end_year IS NOT NULL AND NEW.year > p.end_year))
    )
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
    """,
    f"""
    CREATE TRIGGER {RULE}_activity_update BEFORE UPDATE OF year, project_id ON projects_activity
    FOR EACH ROW WHEN EXISTS (
        SELECT 1 FROM projects_project p WHERE p.id = NEW.project_id
        AND (NEW.year < p.start_year OR (p.end_year IS NOT NULL AND NEW.year > p.end_year))
    )
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
    """,
    f"""
    CREATE TRIGGER {RULE}_project_update BEFORE UPDATE OF start_year, end_year ON projects_project
    FOR EACH ROW WHEN EXISTS (
        SELECT 1 FROM projects_activity a WHERE a.project_id = NEW.id
        AND (a.year < NEW.start_year OR (NEW.end_year IS NOT NULL AND a.year > NEW.end_year))
    )
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
    """,
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS {RULE}_activity_insert",
    f"DROP TRIGGER IF EXISTS {RULE}_activity_update",
    f"DROP TRIGGER IF EXISTS {RULE}_project_update",
]

POSTGRES_CREATE = [
    f"""
    CREATE OR REPLACE FUNCTION {RULE}_activity() RETURNS trigger AS $$
    BEGIN
        IF EXISTS (
            SELECT 1 FROM projects_project p WHERE p.id = NEW.project_id
            AND (NEW.year < p.start_year OR (p.end_year IS NOT NULL AND NEW.year > p.end_year))
        ) THEN
            RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation', CONSTRAINT = '{RULE}';
        END IF;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql
    """,
    f"""
    CREATE OR REPLACE FUNCTION {RULE}_project() RETURNS trigger AS $$
    BEGIN
        IF EXISTS (
            SELECT 1 FROM projects_activity a WHERE a.project_id = NEW.id
            AND (a.year < NEW.start_year OR (NEW.end_year IS NOT NULL AND a.year > NEW.end_year))
        ) THEN
            RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation', CONSTRAINT = '{RULE}';
        END IF;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql
    """,
    f"""
    CREATE TRIGGER {RULE}_activity BEFORE INSERT OR UPDATE OF year, project_id ON projects_activity
    FOR EACH ROW EXECUTE FUNCTION {RULE}_activity()
    """,
    f"""
    CREATE TRIGGER {RULE}_project BEFORE UPDATE OF start_year, end_year ON projects_project
    FOR EACH ROW EXECUTE FUNCTION {RULE}_project()
    """,
]
POSTGRES_DROP = [
    f"DROP TRIGGER IF EXISTS {RULE}_activity ON projects_activity",
    f"DROP TRIGGER IF EXISTS {RULE}_project ON projects_project",
    f"DROP FUNCTION IF EXISTS {RULE}_activity()",
    f"DROP FUNCTION IF EXISTS {RULE}_project()",
]

STATEMENTS = {"sqlite": (SQLITE_CREATE, SQLITE_DROP), "postgresql": (POSTGRES_CREATE, POSTGRES_DROP)}


def _run(schema_editor, index):
    statements = STATEMENTS.get(schema_editor.connection.vendor)
    if statements is None:
        raise RuntimeError(f"No {RULE} trigger for the {schema_editor.connection.vendor} database.")
    for sql in statements[index]:
        schema_editor.execute(sql)


def create(apps, schema_editor):
    _run(schema_editor, 0)


def drop(apps, schema_editor):
    _run(schema_editor, 1)


class Migration(migrations.Migration):
    dependencies = [("projects", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
