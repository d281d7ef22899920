"""What the apps' models share: the years and slugs every record may hold, a manager for
reference data looked up by slug, and a field for ids the database keeps on a row."""

import json
import re

from django.db import models

# The sane range for every year the tracker holds: the programs it records began in the
# post-war era, and nothing is planned further ahead than this.
MIN_YEAR = 1945


MAX_YEAR = 2100


# What may name a record in a URL, a filter or an API payload (Django's slug characters).
SLUG_RE = re.compile(r"[-a-zA-Z0-9_]+")


class SlugManager(models.Manager):
    """Reference data looked up by slug, so fixtures name records rather than ids."""

    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


class LinkIdsField(models.Field):
    """Ids of related rows, kept on the row by the database (projects.facets): an array
    on PostgreSQL, an unused empty text on SQLite. Never edited, never written by Django
    with effect (a trigger sets it on every insert and update), never shown."""

    description = "Ids of linked rows, kept by the database"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", list)
        super().__init__(*args, **kwargs)

    def db_type(self, connection):
        return "bigint[]" if connection.vendor == "postgresql" else "text"

    def from_db_value(self, value, expression, connection):
        return value if isinstance(value, list) else []

    def to_python(self, value):
        if isinstance(value, str):
            value = json.loads(value) if value.strip() else []
        return [int(v) for v in value or []]

    def get_db_prep_value(self, value, connection, prepared=False):
        if connection.vendor != "postgresql":
            return ""
        return [int(v) for v in value or []]

    def value_to_string(self, obj):
        return json.dumps(self.value_from_object(obj) or [])


@LinkIdsField.register_lookup
class LinkIdsOverlap(models.Lookup):
    """`partner_ids__overlap=[ids]`: shares at least one id (PostgreSQL's &&)."""

    lookup_name = "overlap"

    def get_db_prep_lookup(self, value, connection):
        return "%s", [[int(v) for v in value]]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} && {rhs}::bigint[]", [*lhs_params, *rhs_params]
