"""Every difference between PostgreSQL and SQLite, one function or class per concern: the
apps call these and never ask which database they are on. Each says what each engine
does and why; tests/core/test_db.py runs them on both."""

import time
from typing import NamedTuple

from django.contrib.postgres.aggregates import StringAgg
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connections
from django.db.models import Exists, F, Q, Subquery, TextField, Value
from django.db.models.functions import Coalesce, Concat


def _postgresql(connection) -> bool:
    return connection.vendor == "postgresql"


class LinkIdArrays:
    """The ids of a row's linked rows, kept on the row itself (core.models.LinkIdsField).

    PostgreSQL: a bigint[] column that triggers keep (projects.facets) and that the list
    filters test with `&&` inside an index, so a filtered page never probes the link
    tables. SQLite has no arrays: the column is an empty text nobody reads, and the
    filters test the link tables with EXISTS."""

    @staticmethod
    def kept(connection) -> bool:
        """Whether this database keeps the arrays."""
        return _postgresql(connection)

    @classmethod
    def read_by(cls, queryset) -> bool:
        """Whether filters on this queryset may read the arrays (else the link tables)."""
        return cls.kept(connections[queryset.db])

    @classmethod
    def column_type(cls, connection) -> str:
        return "bigint[]" if cls.kept(connection) else "text"

    @classmethod
    def db_value(cls, value, connection):
        """What Django writes to the column (the database's trigger overwrites it)."""
        return [int(v) for v in value or []] if cls.kept(connection) else ""


class TextSearch:
    """Search of a text column, `document`, and of text linked to its row.

    PostgreSQL: full-text search (the web-search syntax, words stemmed by `config`)
    through a GIN index on `vector()`, the expression the search must use for the index
    to apply. SQLite has no full-text search without an extension: every word of the
    query must occur in the text, ignoring case."""

    def __init__(self, document: str, *, config: str):
        self.document, self.config = document, config

    def vector(self):
        """The indexed expression (PostgreSQL)."""
        return SearchVector(self.document, config=self.config)

    def filter(self, queryset, query: str, *, words, linked=None, linked_text=()):
        """The rows of `queryset` matching `query` (`words`, its words, for SQLite): in
        their document and, for the rows that have rows in `linked` (a queryset of rows
        that refer to the row through OuterRef("pk")), in those rows' `linked_text` fields
        too. On PostgreSQL the rows without linked rows are found through the index alone."""
        if not _postgresql(connections[queryset.db]):
            condition = Q()
            for word in words:
                matches = Q(**{f"{self.document}__icontains": word})
                if linked is not None:
                    named = Q()
                    for name in linked_text:
                        named |= Q(**{f"{name}__icontains": word})
                    matches |= Exists(linked.filter(named))
                condition &= matches
            return queryset.filter(condition)
        search = SearchQuery(query, config=self.config, search_type="websearch")
        if linked is None:
            return queryset.annotate(_search=self.vector()).filter(_search=search)
        rows = queryset.model._default_manager
        indexed = rows.annotate(_search=self.vector()).filter(_search=search)
        parts = []
        for name in linked_text:
            parts += [name, Value(" ")]
        joined = Concat(*parts[:-1], output_field=TextField()) if len(linked_text) > 1 else F(linked_text[0])
        text = StringAgg(joined, delimiter=" ")
        # A constant to group by: one aggregate over the row's linked rows.
        texts = linked.order_by().annotate(_one=Value(1)).values("_one").annotate(text=text).values("text")
        extended = rows.filter(Exists(linked)).annotate(
            _search=self.vector()
            + SearchVector(Coalesce(Subquery(texts), Value(""), output_field=TextField()), config=self.config)
        )
        return queryset.filter(Q(pk__in=indexed.values("pk")) | Q(pk__in=extended.filter(_search=search).values("pk")))


class YearsJoin(NamedTuple):
    """SQL joining each row to each year of its span, as `years_series` builds it: a WITH
    clause to put before the SELECT (empty if none) and a JOIN, each with its parameters."""

    with_sql: str
    with_params: list
    join_sql: str
    join_params: list


def years_series(connection, *, alias: str, start: str, end: str, first: int, last: int) -> YearsJoin:
    """Join every row to each year from its `start` column to its `end` column (an open
    end: up to `last`), the year as `{alias}.y`; `first` and `last` bound every span.

    PostgreSQL: generate_series for each row (CROSS JOIN LATERAL), which makes only the
    row's own years. SQLite has no generate_series (without an extension): a recursive
    CTE makes the years from `first` to `last` once, and each row joins those in its span."""
    if _postgresql(connection):
        return YearsJoin(
            "", [], f"CROSS JOIN LATERAL generate_series({start}::int, COALESCE({end}::int, %s)) {alias}(y)", [last]
        )
    return YearsJoin(
        "WITH RECURSIVE report_years(y) AS (SELECT %s UNION ALL SELECT y + 1 FROM report_years WHERE y < %s) ",
        [first, last],
        f"JOIN report_years {alias} ON {alias}.y BETWEEN {start} AND COALESCE({end}, %s)",
        [last],
    )


class Counter:
    """A number the database hands out once and only ever higher (the data version,
    core.cache.version), named `name`; core's migration 0001 creates it.

    PostgreSQL: a sequence. nextval is not undone by a rollback and makes no writer wait
    for another. SQLite has no sequences: a table of one row, whose update is undone with
    a transaction around it that rolls back, and whose number would then be handed out
    again, so a new number is also at least the clock's nanoseconds."""

    def __init__(self, name: str):
        self.name = name

    def last(self, connection) -> int:
        """The last number handed out (0 if none)."""
        with connection.cursor() as cursor:
            if _postgresql(connection):
                cursor.execute(f"SELECT last_value FROM {self.name}")
                return cursor.fetchone()[0]
            cursor.execute(f"SELECT value FROM {self.name} WHERE id = 1")
            row = cursor.fetchone()
            return row[0] if row else 0

    def take(self, connection, *, above: int) -> int:
        """A new number, greater than `above` and than every number handed out before."""
        with connection.cursor() as cursor:
            if _postgresql(connection):
                cursor.execute(f"SELECT nextval('{self.name}')")
                number = cursor.fetchone()[0]
                if number <= above:  # the database is behind what the caller saw (restored from a backup)
                    cursor.execute(
                        f"SELECT setval('{self.name}', GREATEST(last_value, %s) + 1) FROM {self.name}", [above]
                    )
                    number = cursor.fetchone()[0]
                return number
            # A missing row is put back.
            cursor.execute(
                f"INSERT INTO {self.name} (id, value) VALUES (1, %s) "
                "ON CONFLICT (id) DO UPDATE SET value = MAX(value + 1, excluded.value) RETURNING value",
                [max(above + 1, time.time_ns())],
            )
            return cursor.fetchone()[0]


def take_ids(model, objs, *, using: str) -> bool:
    """Give new records their primary keys before they are inserted, and say whether it
    did (so their links can be written before them).

    PostgreSQL: from the table's sequence, all in one statement. SQLite has no sequence
    to draw from (a row's id is known only once it is inserted): it gives none."""
    connection = connections[using]
    if not _postgresql(connection):
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, model._meta.pk.column, len(objs)],
        )
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = pk
    return True


def update_rows(model, objs, names, *, using: str, rows_per_statement: int = 500) -> None:
    """Write these fields of these records, a statement per few hundred records: an
    UPDATE from a VALUES list. (QuerySet.bulk_update builds a CASE expression per record
    and field, which costs far more.)

    PostgreSQL gives a VALUES column the type of its values, and a column of NULLs none:
    each cell is cast to its column's type. SQLite takes the values as they are, but has
    no UPDATE ... FROM before 3.33: there, QuerySet.bulk_update."""
    connection = connections[using]
    if not _postgresql(connection) and connection.Database.sqlite_version_info < (3, 33):
        model.objects.using(using).bulk_update(objs, names)
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    fields = [model._meta.pk, *(model._meta.get_field(name) for name in names)]
    for obj in objs:  # as bulk_update: a relation to a record saved since takes its id
        obj._prepare_related_fields_for_save(operation_name="bulk_update", fields=fields[1:])
    if _postgresql(connection):
        cells = [f"CAST(%s AS {f.cast_db_type(connection)})" for f in fields]
    else:
        cells = ["%s"] * len(fields)
    placeholder = f"({', '.join(cells)})"
    columns = ", ".join(f"c{i}" for i in range(len(fields)))
    assignments = ", ".join(f"{quote(f.column)} = v.c{i}" for i, f in enumerate(fields) if i)
    with connection.cursor() as cursor:
        for start in range(0, len(objs), rows_per_statement):
            chunk = objs[start : start + rows_per_statement]
            params = [f.get_db_prep_save(getattr(obj, f.attname), connection) for obj in chunk for f in fields]
            cursor.execute(
                f"WITH v({columns}) AS (VALUES {', '.join([placeholder] * len(chunk))}) "
                f"UPDATE {table} SET {assignments} FROM v WHERE {table}.{quote(fields[0].column)} = v.c0",
                params,
            )


def execute_dialect(schema_editor, *, postgresql, sqlite) -> None:
    """Run the statements written for this database's dialect (a migration's triggers).

    The two engines share no trigger language: PostgreSQL's triggers call functions
    written in PL/pgSQL (and may see a statement's rows as a table); SQLite's have a WHEN
    condition and a body of plain statements, and no functions. A database that is
    neither is refused."""
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": postgresql, "sqlite": sqlite}.get(vendor)
    if statements is None:
        raise RuntimeError(f"No statements for the {vendor} database.")
    for sql in statements:
        schema_editor.execute(sql, params=None)


class JsonIdsIncludeAny:
    """Whether a JSON array of ids (core.models.IdListField: the partners a record is
    releasable to) holds any of the given ids.

    PostgreSQL: jsonb containment, one `@>` per id (`'[5]'`), which a GIN index could
    serve. SQLite: JSON1's json_each over the array. Both give false for an empty list of
    ids, so "releasable to no one" never matches."""

    @staticmethod
    def as_sql(connection, lhs: str, lhs_params, ids) -> tuple[str, list]:
        ids = sorted({int(i) for i in ids})
        if not ids:
            return "1 = 0", []
        if _postgresql(connection):
            tests = " OR ".join(f"{lhs} @> %s::jsonb" for _ in ids)
            return f"({tests})", _interleave(lhs_params, [f"[{i}]" for i in ids])
        marks = ", ".join("%s" for _ in ids)
        return f"EXISTS (SELECT 1 FROM json_each({lhs}) WHERE json_each.value IN ({marks}))", [*lhs_params, *ids]


def _interleave(lhs_params, values):
    params = []
    for value in values:
        params += [*lhs_params, value]
    return params
