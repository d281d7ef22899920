"""Reports over projects, shared by the API and the public pages.

Each takes a queryset of projects that the caller has already restricted to what the
user may see and filtered with ProjectFilterSet, so a report means the same thing
wherever it is shown.
"""

from collections import defaultdict

from django.db.models import Count, F, Max, Min, Q, QuerySet
from django.utils import timezone
from django_countries import countries

from partners.models import Partner
from projects.models import Project

# Group-by dimensions: the related path whose values form the groups, and how a group
# is shown (a key and a human-readable name).
DIMENSIONS = ("partner", "country", "field", "program", "status", "year")


class ReportError(ValueError):
    """A report request that cannot be answered; the message names the parameter."""

    def __init__(self, parameter, message):
        super().__init__(message)
        self.parameter = parameter
        self.message = message


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
    """The years the projects cover; open-ended projects run to this year (or their
    latest stated year)."""
    bounds = projects.aggregate(first=Min("start_year"), last_end=Max("end_year"), last_start=Max("start_year"))
    if bounds["first"] is None:
        return None
    last = max(y for y in (bounds["last_end"], bounds["last_start"]) if y is not None)
    if projects.filter(end_year__isnull=True, start_year__isnull=False).exists():
        last = max(last, timezone.now().year)
    return bounds["first"], last


def _partner_links(projects: QuerySet, partners: QuerySet | None):
    links = Project.partners.through.objects.filter(project__in=projects.values("pk"))
    return links.filter(partner__in=partners) if partners is not None else links


def _project_rows(projects: QuerySet, dim: str, partners: QuerySet | None = None):
    """(project id, key, name) rows for one dimension, in one query. `partners`, if
    given, limits the partner and country groups to those partners."""
    if dim == "partner":
        rows = _partner_links(projects, partners).values_list("project_id", "partner__slug", "partner__name")
    elif dim == "country":
        codes = _partner_links(projects, partners).values_list("project_id", "partner__country")
        return ((pk, code, countries.name(code)) for pk, code in codes if code)
    elif dim == "field":
        rows = projects.values_list("pk", "fields__slug", "fields__name")
    elif dim == "program":
        rows = projects.values_list("pk", "program__slug", "program__name")
    elif dim == "status":
        labels = dict(Project.Status.choices)
        return ((pk, s, str(labels[s])) for pk, s in projects.values_list("pk", "status"))
    else:
        raise ValueError(dim)
    return ((pk, key, name) for pk, key, name in rows if key is not None)


def _project_years(projects: QuerySet):
    span = report_year_range(projects)
    if span is None:
        return {}
    _, last = span
    years = {}
    for pk, start, end in projects.values_list("pk", "start_year", "end_year"):
        if start is None:
            continue
        years[pk] = range(start, (end if end is not None else max(last, start)) + 1)
    return years


def report_counts(*, projects: QuerySet, group_by: list[str], partners: QuerySet | None = None) -> list[dict]:
    """Number of projects per group: one row per group (or pair of groups), with each
    dimension's key and name and the count. A project with two partners counts once for
    each partner; a project counts once in every year it is active. `partners`, if given,
    limits the partner and country groups to those partners (a draft partner of a
    published project stays hidden from those who may not see it)."""
    projects = projects.order_by()
    memberships = []
    for dim in group_by:
        if dim == "year":
            years = _project_years(projects)
            memberships.append({pk: [(y, str(y)) for y in span] for pk, span in years.items()})
            continue
        groups = defaultdict(set)
        for pk, key, name in _project_rows(projects, dim, partners):
            if key in (None, ""):
                continue
            groups[pk].add((key, name))
        memberships.append(groups)

    counts = defaultdict(set)
    names = {}
    for pk in projects.values_list("pk", flat=True):
        combos = [()]
        for groups in memberships:
            combos = [c + (g,) for c in combos for g in groups.get(pk, ())]
        for combo in combos:
            key = tuple(k for k, _ in combo)
            counts[key].add(pk)
            names[key] = tuple(n for _, n in combo)

    rows = []
    for key in sorted(counts, key=lambda k: tuple(str(x) for x in k)):
        row = {}
        for dim, k, name in zip(group_by, key, names[key], strict=True):
            row[dim] = k
            row[f"{dim}_name"] = name
        row["count"] = len(counts[key])
        rows.append(row)
    return rows


def report_matrix(*, projects: QuerySet, partners: QuerySet | None = None) -> dict:
    """Partner × field, like the table in the 2015 source: for each partner (grouped
    under its country) and field, the projects with their year spans.

    `partners`, if given, limits the rows to those partners (the public site passes
    `Partner.objects.public()`, so a draft partner of a published project stays hidden)."""
    projects = projects.select_related("program").prefetch_related("partners", "fields").order_by("start_year", "title")
    cells = defaultdict(list)
    partner_ids, field_map = set(), {}
    for project in projects:
        entry = {
            "slug": project.slug,
            "title": project.title,
            "start_year": project.start_year,
            "end_year": project.end_year,
            "years": str(project.years_display),
            "status": project.status,
        }
        for field in project.fields.all():
            field_map[field.pk] = field
            for partner in project.partners.all():
                partner_ids.add(partner.pk)
                cells[(partner.pk, field.pk)].append(entry)
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
    counted (the public site counts published partners only)."""
    partner_filter = Q(partners__in=partners) if partners is not None else None
    agg = projects.order_by().aggregate(
        projects=Count("pk", distinct=True),
        partners=Count("partners", distinct=True, filter=partner_filter),
        fields=Count("fields", distinct=True),
    )
    span = report_year_range(projects)
    agg["first_year"], agg["last_year"] = span if span else (None, None)
    return agg
