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


# A project's ids, from its links; `{row}` is the project row (NEW in the trigger). Only
# the partners in a counted role (projects.models.COUNTED_ROLES: not venues) are in
# `partner_ids`; the filters that ask for other roles read the link table.
def _ids(counted_roles):
    partner_condition = ""
    if counted_roles is not None:
        partner_condition = " AND role IN (" + ", ".join(f"'{role}'" for role in counted_roles) + ")"
    return {
        column: f"COALESCE((SELECT array_agg({link} ORDER BY {link}) FROM {table} "
        f"WHERE project_id = {{row}}.id{condition}), '{{{{}}}}')"
        for column, link, table, condition in (
            ("partner_ids", "partner_id", "projects_project_partners", partner_condition),
            ("field_ids", "field_id", "projects_project_fields", ""),
        )
    }


def _recompute(ids):
    return f"""CREATE OR REPLACE FUNCTION {TRIGGER}() RETURNS trigger AS $$
    BEGIN
        NEW.partner_ids := {ids["partner_ids"].format(row="NEW")};
        NEW.field_ids := {ids["field_ids"].format(row="NEW")};
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


def _create(ids):
    statements = [
        _recompute(ids),
        _touch(f"{TRIGGER}_new", "new_links"),
        _touch(f"{TRIGGER}_old", "old_links"),
        f"""CREATE OR REPLACE TRIGGER {TRIGGER} BEFORE INSERT OR UPDATE ON projects_project
        FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()""",
    ]
    for links in ("projects_project_partners", "projects_project_fields"):
        statements += [
            f"""CREATE OR REPLACE TRIGGER {TRIGGER}_insert AFTER INSERT ON {links}
            REFERENCING NEW TABLE AS new_links FOR EACH STATEMENT EXECUTE FUNCTION {TRIGGER}_new()""",
            f"""CREATE OR REPLACE TRIGGER {TRIGGER}_update_new AFTER UPDATE ON {links}
            REFERENCING NEW TABLE AS new_links FOR EACH STATEMENT EXECUTE FUNCTION {TRIGGER}_new()""",
            f"""CREATE OR REPLACE TRIGGER {TRIGGER}_update_old AFTER UPDATE ON {links}
            REFERENCING OLD TABLE AS old_links FOR EACH STATEMENT EXECUTE FUNCTION {TRIGGER}_old()""",
            f"""CREATE OR REPLACE TRIGGER {TRIGGER}_delete AFTER DELETE ON {links}
            REFERENCING OLD TABLE AS old_links FOR EACH STATEMENT EXECUTE FUNCTION {TRIGGER}_old()""",
        ]
    return statements


# The roles counted, as migration 0018 left them (written out: a migration's SQL must not
# change when the model's constant does; a change of the counted roles is a migration).
COUNTED_ROLES_0018 = ("recipient", "host", "co_host", "co_chair", "participant")
_IDS = _ids(COUNTED_ROLES_0018)
POSTGRES_CREATE = _create(_IDS)
# Before partners had roles (migrations 0009-0017): every link counted.
POSTGRES_CREATE_BEFORE_ROLES = _create(_ids(None))

POSTGRES_DROP = [f"DROP TRIGGER IF EXISTS {TRIGGER} ON projects_project"]
for _links in ("projects_project_partners", "projects_project_fields"):
    POSTGRES_DROP += [
        f"DROP TRIGGER IF EXISTS {TRIGGER}_{event} ON {_links}"
        for event in ("insert", "update_new", "update_old", "delete")
    ]
POSTGRES_DROP += [f"DROP FUNCTION IF EXISTS {name}()" for name in (TRIGGER, f"{TRIGGER}_new", f"{TRIGGER}_old")]


def _fill(ids):
    """Every project's arrays from its links, in one statement (a migration's backfill)."""
    return "UPDATE projects_project p SET " + ", ".join(
        f"{column} = {sql.format(row='p')}" for column, sql in ids.items()
    )


# As migration 0007 filled them, before partners had roles.
POSTGRES_FILL = _fill(_ids(None))


def facets_create(apps, schema_editor) -> None:
    """Create the triggers: a migration's RunPython (projects.db_rules says when)."""
    execute_dialect(schema_editor, postgresql=POSTGRES_CREATE, sqlite=[])


def facets_create_before_roles(apps, schema_editor) -> None:
    """The triggers as migration 0009 created them, before partners had roles."""
    execute_dialect(schema_editor, postgresql=POSTGRES_CREATE_BEFORE_ROLES, sqlite=[])


def facets_fill(apps, schema_editor) -> None:
    """Every project's arrays computed again by the triggers' rule of now."""
    execute_dialect(schema_editor, postgresql=["UPDATE projects_project SET id = id"], sqlite=[])


def facets_drop(apps, schema_editor) -> None:
    """Drop the triggers and their functions: a migration's RunPython."""
    execute_dialect(schema_editor, postgresql=POSTGRES_DROP, sqlite=[])


FACETS_INDEX = "projects_project_facets_idx"


def facets_index_replace(create: str):
    """A migration's function that makes the filtered lists' covering index (migrations
    0007, 0020, 0021) the one `create` makes: PostgreSQL only (SQLite filters through the
    link tables and has no covering indexes)."""

    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(f"DROP INDEX IF EXISTS {FACETS_INDEX}")
        schema_editor.execute(create)

    return run


def uses_facets(queryset) -> bool:
    """Whether filters on this queryset may read the arrays (PostgreSQL)."""
    return LinkIdArrays.read_by(queryset)
