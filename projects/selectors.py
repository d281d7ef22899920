"""Reports over projects, shared by the API and the public pages.

Each takes a queryset of projects that the caller has already restricted to what the
user may see and filtered with ProjectFilterSet, so a report means the same thing
wherever it is shown.
"""

import contextlib
from collections import defaultdict

from django.core.cache import cache
from django.db import connections
from django.db.models import Count, F, Max, Min, Prefetch, Q, QuerySet
from django_countries import countries

from core.dates import iso_date
from core.db import years_series
from partners.models import Partner
from projects.models import COUNTED_ROLES, Citation, Field, Program, Project, ProjectPartner, project_years_display

# Group-by dimensions: the related path whose values form the groups, and how a group
# is shown (a key and a human-readable name).
DIMENSIONS = ("partner", "country", "field", "program", "status", "year")


class ReportError(ValueError):
    """A report request that cannot be answered; the message names the parameter."""

    def __init__(self, parameter, message):
        super().__init__(message)
        self.parameter = parameter
        self.message = message


class _Memo(dict):
    """A function's results for one list: the same few countries, statuses, spans and
    dates recur on every page, and each costs a translation lookup to compute."""

    def __init__(self, function):
        super().__init__()
        self.function = function

    def __missing__(self, key):
        value = self[key] = str(self.function(*key))
        return value


def report_parse_group_by(raw: str | None) -> list[str]:
    """`group_by=field,year` → ["field", "year"]; one or two known dimensions."""
    if not raw or not raw.strip():
        raise ReportError("group_by", f"Give one or two of: {', '.join(DIMENSIONS)}.")
    dims = [d.strip() for d in raw.split(",")]
    unknown = [d for d in dims if d not in DIMENSIONS]
    if unknown:
        raise ReportError("group_by", f"Unknown dimension {unknown[0]!r}; use one or two of: {', '.join(DIMENSIONS)}.")
    if len(dims) > 2 or len(set(dims)) != len(dims):
        raise ReportError("group_by", "Give one or two different dimensions, separated by a comma.")
    return dims


def report_year_range(projects: QuerySet) -> tuple[int, int] | None:
    """The years the projects count as active in: from the earliest start to the latest
    `active_until` (an end year, or an open-ended project's latest evidence)."""
    bounds = projects.aggregate(first=Min("start_year"), last=Max("active_until"))
    if bounds["first"] is None or bounds["last"] is None:
        return None
    return bounds["first"], bounds["last"]


def _project_years(projects: QuerySet):
    return {
        pk: range(start, until + 1)
        for pk, start, until in projects.values_list("pk", "start_year", "active_until")
        if start is not None and until is not None
    }


def report_counts(
    *, projects: QuerySet, group_by: list[str], partners: QuerySet | None = None, roles=COUNTED_ROLES
) -> list[dict]:
    """Number of projects per group: one row per group (or pair of groups), with each
    dimension's key and name and the count. A project with two partners counts once for
    each partner; a project counts once in every year it is active. `partners`, if given,
    limits the partner and country groups to those partners (a draft partner of a
    published project stays hidden from those who may not see it); `roles`, to the links
    in these roles (by default every role but venue: COUNTED_ROLES).

    One GROUP BY in the database (the years from core.db.years_series), so its cost is
    the database's at any number of projects."""
    projects = projects.order_by()
    year_span = None
    if "year" in group_by:
        year_span = report_year_range(projects)
        if year_span is None:
            return []
    connection = connections[projects.db]
    columns_needed = ("id", "program_id", "status", "start_year", "active_until")
    inner, inner_params = projects.values(*columns_needed).query.sql_with_params()
    qn = connection.ops.quote_name
    cte, cte_params, joins, join_params, columns, conditions, condition_params = "", [], [], [], [], [], []
    for i, dim in enumerate(group_by):
        alias = f"d{i}"
        if dim == "partner":
            # A partner's projects include its services' and agencies' (PartnerQuerySet):
            # each link counts for the partner and its ancestors, through (partner,
            # ancestor) pairs sent as a VALUES list (column1, column2 on both databases).
            pairs = [
                (pid, ancestor)
                for pid, line in (partners if partners is not None else Partner.objects.all()).ancestry().items()
                for ancestor in line
            ]
            if not pairs:
                return []
            link = qn(ProjectPartner._meta.db_table)
            values = ", ".join(["(%s, %s)"] * len(pairs))
            joins.append(
                f"JOIN {link} {alias}l ON {alias}l.project_id = p.id "
                f"JOIN (VALUES {values}) {alias}f ON {alias}f.column1 = {alias}l.partner_id "
                f"JOIN {qn(Partner._meta.db_table)} {alias} ON {alias}.id = {alias}f.column2"
            )
            join_params += [n for pair in pairs for n in pair]
            columns += [f"{alias}.slug", f"{alias}.name"]
            conditions.append(f"{alias}l.role IN ({', '.join(['%s'] * len(roles))})")
            condition_params += list(roles)
        elif dim == "country":
            link = qn(ProjectPartner._meta.db_table)
            joins.append(
                f"JOIN {link} {alias}l ON {alias}l.project_id = p.id "
                f"JOIN {qn(Partner._meta.db_table)} {alias} ON {alias}.id = {alias}l.partner_id"
            )
            columns.append(f"{alias}.country")
            conditions.append(f"{alias}.country <> ''")
            conditions.append(f"{alias}l.role IN ({', '.join(['%s'] * len(roles))})")
            condition_params += list(roles)
            if partners is not None:
                visible, visible_params = partners.order_by().values("id").query.sql_with_params()
                conditions.append(f"{alias}.id IN ({visible})")
                condition_params += visible_params
        elif dim == "field":
            link = qn(Project.fields.through._meta.db_table)
            joins.append(
                f"JOIN {link} {alias}l ON {alias}l.project_id = p.id "
                f"JOIN {qn(Field._meta.db_table)} {alias} ON {alias}.id = {alias}l.field_id"
            )
            columns += [f"{alias}.slug", f"{alias}.name"]
        elif dim == "program":
            joins.append(f"JOIN {qn(Program._meta.db_table)} {alias} ON {alias}.id = p.program_id")
            columns += [f"{alias}.slug", f"{alias}.name"]
        elif dim == "status":
            columns.append("p.status")
        elif dim == "year":
            first, last = year_span
            years = years_series(
                connection, alias=alias, start="p.start_year", end="p.active_until", first=first, last=last
            )
            cte, cte_params = years.with_sql, years.with_params
            joins.append(years.join_sql)
            join_params += years.join_params
            columns.append(f"{alias}.y")
            conditions.append("p.start_year IS NOT NULL")
        else:
            raise ValueError(dim)
    # A project is in a field, program, status or year group once; two partners of one
    # country, or a partner and its service, can put it in a group twice.
    counted = "COUNT(DISTINCT p.id)" if {"country", "partner"} & set(group_by) else "COUNT(*)"
    grouped = ", ".join(columns)
    sql = f"{cte}SELECT {grouped}, {counted} FROM ({inner}) p {' '.join(joins)}"
    if conditions:
        sql += f" WHERE {' AND '.join(conditions)}"
    sql += f" GROUP BY {grouped}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*cte_params, *inner_params, *join_params, *condition_params])
        fetched = cursor.fetchall()

    statuses = dict(Project.Status.choices)
    rows = []
    for record in fetched:
        values, row = list(record[:-1]), {}
        for dim in group_by:
            if dim in ("partner", "field", "program"):
                key, name = values.pop(0), values.pop(0)
            elif dim == "country":
                key = values.pop(0)
                name = countries.name(key)
            elif dim == "status":
                key = values.pop(0)
                name = str(statuses.get(key, key))
            else:
                key = values.pop(0)
                name = str(key)
            row[dim] = key
            row[f"{dim}_name"] = name
        row["count"] = record[-1]
        rows.append(row)
    rows.sort(key=lambda r: tuple(str(r[dim]) for dim in group_by))
    return rows


def report_matrix(*, projects: QuerySet, partners: QuerySet | None = None, roles=COUNTED_ROLES) -> dict:
    """Partner × field, like the table in the 2015 source: for each partner (grouped
    under its country) and field, the projects with their year spans. A project is in
    the rows of its partners in `roles` (by default every role but venue).

    `partners`, if given, limits the rows to those partners (the public site passes
    `Partner.objects.public()`, so a draft partner of a published project stays hidden)."""
    # values() rows and the two link tables, not model instances with prefetches: at
    # 100,000 projects this is seconds, not tens of seconds, and a fraction of the memory.
    projects = projects.order_by("start_year", "title")
    selected = projects.order_by().values("pk")
    fields_of, partners_of = defaultdict(list), defaultdict(list)
    for pid, field_id in Project.fields.through.objects.filter(project_id__in=selected).values_list(
        "project_id", "field_id"
    ):
        fields_of[pid].append(field_id)
    for pid, partner_id in ProjectPartner.objects.filter(project_id__in=selected, role__in=roles).values_list(
        "project_id", "partner_id"
    ):
        partners_of[pid].append(partner_id)
    years_display = _Memo(project_years_display)
    ancestry = (partners if partners is not None else Partner.objects.all()).ancestry()
    cells = defaultdict(list)
    partner_ids, field_ids = set(), set()
    for pid, slug, title, start, end, status, *as_of in projects.values_list(
        "pk", "slug", "title", "start_year", "end_year", "status", "status_year", "status_month", "status_day"
    ):
        entry = {
            "slug": slug,
            "title": title,
            "start_year": start,
            "end_year": end,
            "years": years_display[start, end],
            "status": status,
            "status_as_of": iso_date(*as_of) or None,
        }
        # A partner's row holds its services' and agencies' projects too, each once.
        row_ids = {a for partner_id in partners_of.get(pid, ()) for a in ancestry.get(partner_id, ())}
        for field_id in fields_of.get(pid, ()):
            field_ids.add(field_id)
            for partner_id in row_ids:
                partner_ids.add(partner_id)
                cells[(partner_id, field_id)].append(entry)
    field_map = {field.pk: field for field in Field.objects.filter(pk__in=field_ids)}
    partners = (partners if partners is not None else Partner.objects.all()).filter(pk__in=partner_ids)
    partners = sorted(partners, key=lambda p: p.name.lower())
    fields = sorted(field_map.values(), key=lambda f: f.name.lower())
    rows = []
    for partner in partners:
        rows.append(
            {
                "partner": {"slug": partner.slug, "name": partner.name, "name_ja": partner.name_ja},
                "country": partner.country.code or None,
                "cells": [{"field": field.slug, "projects": cells.get((partner.pk, field.pk), [])} for field in fields],
            }
        )
    return {
        "fields": [{"slug": f.slug, "name": f.name, "name_ja": f.name_ja} for f in fields],
        "rows": rows,
    }


def report_timeline(*, projects: QuerySet) -> dict:
    """Projects active per year, by field: {"years": [...], "fields": [...], "series": ...}.

    `total` counts each project once a year, whatever its number of fields."""
    projects = projects.order_by()
    years_of = _project_years(projects)
    if not years_of:
        return {"years": [], "fields": [], "rows": []}
    first = min(r.start for r in years_of.values())
    last = max(r.stop - 1 for r in years_of.values())
    field_rows = projects.values_list("pk", "fields__slug", "fields__name").order_by(F("fields__name").asc())
    fields, per_field = {}, defaultdict(lambda: defaultdict(int))
    for pk, slug, name in field_rows:
        if slug is None or pk not in years_of:
            continue
        fields[slug] = name
        for year in years_of[pk]:
            per_field[year][slug] += 1
    totals = defaultdict(int)
    for span in years_of.values():
        for year in span:
            totals[year] += 1
    years = list(range(first, last + 1))
    return {
        "years": years,
        "fields": [{"slug": s, "name": n} for s, n in sorted(fields.items(), key=lambda i: i[1].lower())],
        "rows": [
            {"year": y, "total": totals[y], "counts": {slug: per_field[y][slug] for slug in fields}} for y in years
        ],
    }


def report_headline(*, projects: QuerySet, partners: QuerySet | None = None) -> dict:
    """Headline figures for the home page. `partners`, if given, limits the partners
    counted (the public site counts published partners only); a partner counts in a
    counted role (not only as a venue)."""
    partner_filter = Q(projectpartner__role__in=COUNTED_ROLES)
    if partners is not None:
        partner_filter &= Q(projectpartner__partner__in=partners)
    agg = projects.order_by().aggregate(
        projects=Count("pk", distinct=True),
        partners=Count("projectpartner__partner", distinct=True, filter=partner_filter),
        fields=Count("fields", distinct=True),
    )
    span = report_year_range(projects)
    agg["first_year"], agg["last_year"] = span if span else (None, None)
    return agg


def public_citations(user=None):
    """The citations a public page shows `user` (Citation.objects.released_for, on the site)."""
    citations = Citation.objects.released_for(user, on_site=True).select_related("source")
    return Prefetch("citations", queryset=citations.order_by("source", "id"))


def project_cards(projects, user=None):
    """What a list of project cards shows `user` on the public site, fetched in a fixed
    number of queries."""
    # Each partner the reader may see, with its role (`partner_links_shown`, by name).
    links = ProjectPartner.objects.filter(partner__in=Partner.objects.on_site(user)).select_related("partner")
    return projects.select_related("program").prefetch_related(
        Prefetch("projectpartner_set", queryset=links.order_by("partner__name"), to_attr="partner_links_shown"),
        Prefetch("fields", queryset=Field.objects.order_by("name")),
    )


def citations_prefetch(user):
    """The citations the API shows `user` of records it may see (Citation.objects.released_for)."""
    return Prefetch("citations", queryset=Citation.objects.released_for(user).select_related("source"))


def stable_order(projects):
    """The filterset's ordering (or the default), years not stated last on every database,
    and the primary key last so pages never overlap or skip a row when two projects tie."""
    ordering = []
    for term in list(projects.query.order_by) or list(Project._meta.ordering):
        name = term.lstrip("-") if isinstance(term, str) else None
        if name in ("start_year", "end_year"):
            term = F(name).desc(nulls_last=True) if term.startswith("-") else F(name).asc(nulls_last=True)
        ordering.append(term)
    return projects.order_by(*ordering, "pk")


DATA_AS_OF_KEY = "tracker:data-as-of"


def data_as_of() -> dict:
    """What the public data is as of, for every page's footer: the latest change to a
    published record (a project, or an activity or status report of one) and the latest
    year its evidence reaches (Project.evidence_year). Computed once per data version and
    kept in the shared cache beside it; straight from the database when the cache fails."""
    from core.cache.responses import lookup

    try:
        version, entry = lookup(DATA_AS_OF_KEY)
    except Exception:  # the cache or the version check failed: answer without them
        return _data_as_of()
    if entry is not None:
        return entry[1]
    value = _data_as_of()
    with contextlib.suppress(Exception):
        cache.set(DATA_AS_OF_KEY, (version, value), timeout=None)
    return value


def _data_as_of() -> dict:
    from projects.models import Activity, StatusReport

    public = Project.objects.public().order_by()
    changes = [
        public.aggregate(at=Max("updated"))["at"],
        Activity.objects.public().order_by().aggregate(at=Max("updated"))["at"],
        StatusReport.objects.public().order_by().aggregate(at=Max("updated"))["at"],
    ]
    changes = [at for at in changes if at is not None]
    return {
        "updated": max(changes) if changes else None,
        "evidence_year": public.aggregate(y=Max("evidence_year"))["y"],
    }
