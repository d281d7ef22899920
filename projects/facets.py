"""Each project's partner and field ids on its own row, for the list filters at scale
(issue 5), kept by PostgreSQL itself.

A filtered list (`?country=..&field=..&year=..`, 50 a page in the default order) reads
projects in order until it has a page; with the partners and fields only in the link
tables, every project it passes costs two index probes, so a page of rare matches costs
more the more projects there are. With `partner_ids` and `field_ids` on the row, and
in the public order's index (INCLUDE, migration 0007), the whole test happens inside
the index: `partner_ids && '{..}' AND field_ids && '{..}'`.

The arrays are the database's to keep, whatever writes: a BEFORE INSERT OR UPDATE
trigger on projects sets them from the link tables (so a save from Django, which knows
nothing of their current value, cannot overwrite them), and statement triggers on the
link tables touch the projects whose links changed (the API, the admin, imports, a
partner deleted with its links, raw SQL alike). The trigger locks the project row
before it reads the links, and each statement of a PL/pgSQL function reads committed
data afresh, so two transactions changing one project's links cannot leave it stale.

PostgreSQL only (core.db.LinkIdArrays): on SQLite the columns stay empty and the filters
use the link tables (projects.filtersets). Created and dropped by migrations, like
projects.db_rules, whose rules for changing them apply here too.
"""

from core.db import LinkIdArrays, execute_dialect

TRIGGER = "projects_project_link_ids"

# A project's ids, from its links; `{row}` is the project row (NEW in the trigger).
_IDS = {
    column: f"COALESCE((SELECT array_agg({link} ORDER BY {link}) FROM {table} "
    f"WHERE project_id = {{row}}.id), '{{{{}}}}')"
    for column, link, table in (
        ("partner_ids", "partner_id", "projects_project_partners"),
        ("field_ids", "field_id", "projects_project_fields"),
    )
}

_RECOMPUTE = f"""CREATE OR REPLACE FUNCTION {TRIGGER}() RETURNS trigger AS $$
    BEGIN
        NEW.partner_ids := {_IDS["partner_ids"].format(row="NEW")};
        NEW.field_ids := {_IDS["field_ids"].format(row="NEW")};
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql"""


def _touch(name, table):
    return f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
    BEGIN
        UPDATE projects_project SET id = id WHERE id IN (SELECT project_id FROM {table});
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql"""


POSTGRES_CREATE = [
    _RECOMPUTE,
    _touch(f"{TRIGGER}_new", "new_links"),
    _touch(f"{TRIGGER}_old", "old_links"),
    f"""CREATE OR REPLACE TRIGGER {TRIGGER} BEFORE INSERT OR UPDATE ON projects_project
    FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()""",
]
for _links in ("projects_project_partners", "projects_project_fields"):
    POSTGRES_CREATE += [
        f"""CREATE OR REPLACE TRIGGER {TRIGGER}_insert AFTER INSERT ON {_links}
        REFERENCING NEW TABLE AS new_links FOR EACH STATEMENT EXECUTE FUNCTION {TRIGGER}_new()""",
        f"""CREATE OR REPLACE TRIGGER {TRIGGER}_update_new AFTER UPDATE ON {_links}
        REFERENCING NEW TABLE AS new_links FOR EACH STATEMENT EXECUTE FUNCTION {TRIGGER}_new()""",
        f"""CREATE OR REPLACE TRIGGER {TRIGGER}_update_old AFTER UPDATE ON {_links}
        REFERENCING OLD TABLE AS old_links FOR EACH STATEMENT EXECUTE FUNCTION {TRIGGER}_old()""",
        f"""CREATE OR REPLACE TRIGGER {TRIGGER}_delete AFTER DELETE ON {_links}
        REFERENCING OLD TABLE AS old_links FOR EACH STATEMENT EXECUTE FUNCTION {TRIGGER}_old()""",
    ]

POSTGRES_DROP = [f"DROP TRIGGER IF EXISTS {TRIGGER} ON projects_project"]
for _links in ("projects_project_partners", "projects_project_fields"):
    POSTGRES_DROP += [
        f"DROP TRIGGER IF EXISTS {TRIGGER}_{event} ON {_links}"
        for event in ("insert", "update_new", "update_old", "delete")
    ]
POSTGRES_DROP += [f"DROP FUNCTION IF EXISTS {name}()" for name in (TRIGGER, f"{TRIGGER}_new", f"{TRIGGER}_old")]

# Every project's arrays from its links, in one statement (the migration's backfill).
POSTGRES_FILL = "UPDATE projects_project p SET " + ", ".join(
    f"{column} = {ids.format(row='p')}" for column, ids in _IDS.items()
)


def facets_create(apps, schema_editor) -> None:
    """Create the triggers: a migration's RunPython (projects.db_rules says when)."""
    execute_dialect(schema_editor, postgresql=POSTGRES_CREATE, sqlite=[])


def facets_drop(apps, schema_editor) -> None:
    """Drop the triggers and their functions: a migration's RunPython."""
    execute_dialect(schema_editor, postgresql=POSTGRES_DROP, sqlite=[])


def uses_facets(queryset) -> bool:
    """Whether filters on this queryset may read the arrays (PostgreSQL)."""
    return LinkIdArrays.read_by(queryset)
