"""Public pages of projects. Every view starts from Project.objects.on_site(user): the
public records, and a liaison officer's releasable ones too.

The list, matrix and timeline pages are filtered by the same ProjectFilterSet as the API,
from plain GET parameters, so every state of a page is a shareable URL. A bad parameter
is shown as an error beside its control, with a 400 status and no results, never a 500.
"""

import functools

from django import forms
from django.db.models import Count, Prefetch, Q
from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.generic import DetailView, TemplateView
from django_countries import countries

from core.api.pagination import CachedCountPaginator
from core.dates import from_iso_date
from core.i18n import localname
from core.models import is_liaison
from core.views import PreviewMixin
from partners.models import Partner
from projects.filtersets import ProjectFilterSet
from projects.models import (
    Activity,
    Field,
    PartnerRole,
    Program,
    ProgramEvent,
    Project,
    StatusReport,
    status_with_date,
)
from projects.selectors import (
    project_cards,
    public_citations,
    report_headline,
    report_matrix,
    report_timeline,
    stable_order,
)

PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 25

# The orderings offered on the list page, in the filterset's own `ordering` values.
ORDERINGS = [
    ("", _("Start year, oldest first")),
    ("-start_year", _("Start year, newest first")),
    ("title", _("Title, A to Z")),
    ("-title", _("Title, Z to A")),
    ("-end_year", _("End year, latest first")),
    ("status", _("Status")),
    ("-updated", _("Recently updated")),
]


class DisplayForm(forms.Form):
    """How the list is shown (not what it holds): the page size."""

    page_size = forms.TypedChoiceField(
        label=_("Per page"),
        choices=[(n, n) for n in PAGE_SIZES],
        coerce=int,
        required=False,
        empty_value=DEFAULT_PAGE_SIZE,
    )


@functools.lru_cache(maxsize=64)
def _country_names(language, codes):
    """(code, name) of each country code, in the language's order of names: the same for
    every request of a language until a partner of a new country is published, and a
    tenth of the filter form's cost when looked up for each (django-countries translates
    each name on every call)."""
    return sorted(((code, str(countries.name(code))) for code in codes), key=lambda pair: pair[1])


def _options(items, selected, value, label):
    return [{"value": value(item), "label": label(item), "checked": value(item) in selected} for item in items]


class FilteredProjectsMixin:
    """Builds the ProjectFilterSet from the query string over the published projects, and
    the choices of the filter form (checkbox groups), each in one query."""

    # The filters this page's form shows; the others still apply when given in the URL.
    form_filters = ("q", "partner", "country", "partner_role", "region", "asean", "field", "program", "status", "year")
    # Parameters the page's form sets besides the filters (sorting, page size).
    display_params = ()

    def get_filterset(self):
        # The projects and the filters' choices (partners, search matches) are those the
        # site shows this reader: a liaison officer's releasable ones too (the API's rule,
        # for_user, is theirs on the site as well); staff see what the public sees.
        user = self.request.user
        return ProjectFilterSet(
            self.request.GET or None,
            queryset=Project.objects.on_site(user),
            request=self.request if is_liaison(user) else None,
        )

    def filter_options(self):
        get = self.request.GET
        shown = set(self.form_filters)
        options = {}
        if shown & {"partner", "country"}:
            if "partner" in shown:
                # Dicts, not instances: 300 partners' other columns are a tenth of the page.
                visible = Partner.objects.on_site(self.request.user)
                partners = visible.order_by("name", "slug").values("slug", "name", "name_ja")
                options["partner"] = _options(
                    sorted(partners, key=localname), set(get.getlist("partner")), lambda p: p["slug"], localname
                )
            if "country" in shown:
                codes = (
                    Partner.objects.on_site(self.request.user)
                    .exclude(country="")
                    .values_list("country", flat=True)
                    .distinct()
                )
                chosen = {c.strip().upper() for c in get.getlist("country")}
                named = _country_names(get_language(), frozenset(codes))
                options["country"] = _options(named, chosen, lambda c: c[0], lambda c: c[1])
        if "partner_role" in shown:
            options["partner_role"] = _options(
                PartnerRole.choices, set(get.getlist("partner_role")), lambda c: c[0], lambda c: c[1]
            )
        if "region" in shown:
            options["region"] = _options(
                Partner.Region.choices, set(get.getlist("region")), lambda c: c[0], lambda c: c[1]
            )
        if "field" in shown:
            fields = sorted(Field.objects.all(), key=lambda f: localname(f))
            options["field"] = _options(fields, set(get.getlist("field")), lambda f: f.slug, localname)
        if "program" in shown:
            programs = sorted(Program.objects.all(), key=lambda p: localname(p))
            options["program"] = _options(programs, set(get.getlist("program")), lambda p: p.slug, localname)
        if "status" in shown:
            options["status"] = _options(
                Project.Status.choices, set(get.getlist("status")), lambda c: c[0], lambda c: c[1]
            )
        return options

    def filter_context(self, filterset, extra_errors=None):
        errors = dict(filterset.errors) if filterset.is_bound else {}
        errors.update(extra_errors or {})
        labels = {name: f.label for name, f in filterset.filters.items()}
        labels["page_size"] = DisplayForm.base_fields["page_size"].label
        return {
            "filterset": filterset,
            "options": self.filter_options(),
            "errors": errors,
            "error_list": [
                {"name": name, "label": labels.get(name, name), "messages": msgs} for name, msgs in errors.items()
            ],
            "values": {
                "q": self.request.GET.get("q", ""),
                "year": self.request.GET.get("year", ""),
                "asean": self.request.GET.get("asean", ""),
                "ordering": self.request.GET.get("ordering", ""),
            },
            "active_filters": any(self.request.GET.get(name) for name in filterset.filters if name != "ordering"),
            # Filters given in the URL that this page's form has no control for, kept on resubmit.
            "hidden_params": [
                (name, value)
                for name in filterset.filters
                if name not in self.form_filters and name not in self.display_params
                for value in self.request.GET.getlist(name)
            ],
        }

    def render_filtered(self, context):
        return self.render_to_response(context, status=400 if context["errors"] else 200)


class HomeView(TemplateView):
    template_name = "projects/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        shown = Project.objects.on_site(user)
        published = Q(projects__in=shown)
        context["headline"] = report_headline(projects=shown, partners=Partner.objects.on_site(user))
        context["fields"] = sorted(
            Field.objects.annotate(project_count=Count("projects", filter=published)).filter(project_count__gt=0),
            key=lambda f: localname(f),
        )
        context["programs"] = sorted(
            Program.objects.annotate(project_count=Count("projects", filter=published)).filter(project_count__gt=0),
            key=lambda p: localname(p),
        )
        return context


class ProjectListView(FilteredProjectsMixin, TemplateView):
    template_name = "projects/project_list.html"
    display_params = ("ordering",)

    def get(self, request, *args, **kwargs):
        filterset = self.get_filterset()
        display = DisplayForm(request.GET)
        display_errors = {} if display.is_valid() else dict(display.errors)
        page_size = (
            display.cleaned_data.get("page_size", DEFAULT_PAGE_SIZE) if not display_errors else DEFAULT_PAGE_SIZE
        )
        context = self.get_context_data(**kwargs)
        context.update(self.filter_context(filterset, display_errors))
        projects = (
            Project.objects.none() if context["errors"] else project_cards(stable_order(filterset.qs), request.user)
        )
        # The count is remembered per data version (API_COUNT_CACHE), as the API's is.
        paginator = CachedCountPaginator(projects, page_size)
        # get_page() turns a missing, malformed or out-of-range page into the first or last page.
        page = paginator.get_page(request.GET.get("page"))
        export = request.GET.copy()
        for name in ("page", "page_size", "format"):
            export.pop(name, None)
        context.update(
            {
                "page_obj": page,
                "paginator": paginator,
                "projects": page.object_list,
                "page_size": page_size,
                "page_sizes": PAGE_SIZES,
                "orderings": ORDERINGS,
                "api_csv": _api_url(export, "csv"),
                "api_json": _api_url(export, "json"),
            }
        )
        return self.render_filtered(context)


def _api_url(params: QueryDict, fmt: str) -> str:
    params = params.copy()
    params["format"] = fmt
    return f"{reverse('projects-api:project-list')}?{params.urlencode()}"


class ProjectDetailView(PreviewMixin, DetailView):
    model = Project
    template_name = "projects/project_detail.html"
    context_object_name = "project"

    def get_queryset(self):
        user = self.request.user
        activities = Activity.objects.released_for(user, on_site=True).prefetch_related(public_citations(user))
        reports = StatusReport.objects.released_for(user, on_site=True).prefetch_related(public_citations(user))
        return project_cards(self.visible(), user).prefetch_related(
            Prefetch("activities", queryset=activities),
            Prefetch("status_reports", queryset=reports),
            public_citations(user),
        )


class _ReferenceDetailView(DetailView):
    """A field or a program with its published projects."""

    lookup = ""  # how a project refers to the object
    parameter = ""  # the ProjectFilterSet parameter naming it

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        projects = Project.objects.on_site(user).filter(**{self.lookup: self.object})
        context["projects"] = project_cards(stable_order(projects), user)
        context["filter_url"] = f"{reverse('projects:project-list')}?{self.parameter}={self.object.slug}"
        return context


class FieldDetailView(_ReferenceDetailView):
    template_name = "projects/field_detail.html"
    context_object_name = "field"
    queryset = Field.objects.prefetch_related(public_citations())
    lookup, parameter = "fields", "field"


class ProgramDetailView(_ReferenceDetailView):
    template_name = "projects/program_detail.html"
    context_object_name = "program"
    queryset = Program.objects.prefetch_related(
        public_citations(), Prefetch("events", queryset=ProgramEvent.objects.prefetch_related(public_citations()))
    )
    lookup, parameter = "program", "program"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["events"] = list(self.object.events.all())
        return context


class MatrixView(FilteredProjectsMixin, TemplateView):
    """Partner × field, each cell the projects and their years, filterable by program and year."""

    template_name = "projects/matrix.html"
    form_filters = ("program", "year")
    CELL_LIMIT = 6

    def get(self, request, *args, **kwargs):
        filterset = self.get_filterset()
        context = self.get_context_data(**kwargs)
        context.update(self.filter_context(filterset))
        projects = Project.objects.none() if context["errors"] else filterset.qs
        context["matrix"] = matrix = report_matrix(projects=projects, partners=Partner.objects.on_site(request.user))
        # Each project shown with its status and the date it is known as of.
        shown = functools.cache(lambda status, as_of: status_with_date(status, *from_iso_date(as_of or "")))
        for row in matrix["rows"]:
            for cell in row["cells"]:
                for entry in cell["projects"][: self.CELL_LIMIT]:
                    entry["status_with_date"] = shown(entry["status"], entry["status_as_of"])
        # A crowded cell lists its first projects and links to all of them on the list page
        # (with this page's filters), so the page stays readable on a large data set.
        context["cell_limit"] = f":{self.CELL_LIMIT}"
        context["cell_limit_count"] = self.CELL_LIMIT
        query = request.GET.copy()
        for name in ("partner", "field", "page"):
            query.pop(name, None)
        context["list_query"] = f"{query.urlencode()}&" if query else ""
        return self.render_filtered(context)


class TimelineView(FilteredProjectsMixin, TemplateView):
    """Projects active per year by field: a server-rendered SVG chart and the same numbers
    as a data table."""

    template_name = "projects/timeline.html"
    form_filters = ("program", "region")

    # Chart geometry, in SVG user units (pixels at 100 %).
    LABEL_WIDTH = 160  # the field names, in a column of their own that does not scroll
    LABEL_CHARS = 20  # a label line's width in Latin characters at 12 px (wrapped, never cut)
    LINE = 12  # between a label's two lines
    COLUMN = 36
    ROW = 26  # a field's row with a one-line name; taller for a wrapped one
    BAR_AREA = 120
    TOP = 16

    def get(self, request, *args, **kwargs):
        filterset = self.get_filterset()
        context = self.get_context_data(**kwargs)
        context.update(self.filter_context(filterset))
        projects = Project.objects.none() if context["errors"] else filterset.qs
        timeline = report_timeline(projects=projects)
        context["timeline"] = timeline
        context["chart"] = self.chart(timeline)
        return self.render_filtered(context)

    def chart(self, timeline):
        years, rows = timeline["years"], timeline["rows"]
        if not years:
            return None
        names = {f.slug: f for f in Field.objects.filter(slug__in=[f["slug"] for f in timeline["fields"]])}
        fields = [{"slug": f["slug"], "name": localname(names.get(f["slug"], f))} for f in timeline["fields"]]
        max_total = max(r["total"] for r in rows) or 1
        max_cell = max((n for r in rows for n in r["counts"].values()), default=0) or 1
        grid_top = self.TOP + self.BAR_AREA + 28
        # Each field's whole name, wrapped (never cut), its row as tall as its lines need.
        for field in fields:
            field["lines"] = _wrap(field["name"], self.LABEL_CHARS)
            field["height"] = max(self.ROW, self.LINE * len(field["lines"]) + 10)
        top = grid_top
        for field in fields:
            field["top"], top = top, top + field["height"]
        columns = []
        for i, row in enumerate(rows):
            x = 4 + i * self.COLUMN
            height = round(row["total"] / max_total * (self.BAR_AREA - 16))
            cells = []
            # Only non-empty cells are drawn (four shades, the darker two with white text);
            # each field's row has one light background.
            for field in fields:
                count = row["counts"].get(field["slug"], 0)
                if count:
                    level = min(4, 1 + (count - 1) * 4 // max_cell)
                    middle = field["top"] + field["height"] // 2 + 3
                    cells.append(
                        {"y": field["top"], "height": field["height"] - 4, "text_y": middle, "count": count,
                         "level": level, "field": field["name"]}
                    )  # fmt: skip
            columns.append(
                {
                    "year": row["year"],
                    "total": row["total"],
                    "x": x,
                    "cx": x + self.COLUMN // 2,
                    "bar_y": self.TOP + self.BAR_AREA - height,
                    "bar_height": height,
                    "label_y": self.TOP + self.BAR_AREA - height - 4,
                    "cells": cells,
                }
            )
        return {
            "width": len(years) * self.COLUMN + 8,
            "label_width": self.LABEL_WIDTH,
            "height": top + 8,
            "columns": columns,
            "fields": [
                {
                    "name": f["name"],
                    # The whole name, its lines centred on the row: never cut.
                    "lines": [{"text": line, "dy": 0 if k == 0 else self.LINE} for k, line in enumerate(f["lines"])],
                    "y": f["top"] + f["height"] // 2 + 4 - (len(f["lines"]) - 1) * self.LINE // 2,
                    "row_y": f["top"],
                    "row_height": f["height"] - 4,
                }
                for f in fields
            ],
            "table": [
                {"slug": f["slug"], "name": f["name"], "counts": [r["counts"].get(f["slug"], 0) for r in rows]}
                for f in fields
            ],
            "axis_y": self.TOP + self.BAR_AREA + 18,
            "baseline_y": self.TOP + self.BAR_AREA,
            "label_x": self.LABEL_WIDTH - 8,
            "column": self.COLUMN,
            "grid_x": 4,
            "grid_width": len(years) * self.COLUMN,
            "cell": self.COLUMN - 4,
            "bar_width": self.COLUMN - 12,
            "grid_top": grid_top,
            "text_dx": (self.COLUMN - 4) // 2,
        }


def _width(text):
    """A label's width in Latin characters: a CJK character counts as two."""
    return sum(1 if ord(char) < 0x1100 else 2 for char in text)


def _wrap(text, width):
    """A label in lines of at most `width` (a word longer than that is a line of its own,
    and CJK text, which has no spaces, breaks between characters): nothing is cut."""
    lines, line = [], ""
    for word in text.split():
        pieces = [word] if _width(word) <= width or word.isascii() else list(word)
        for k, piece in enumerate(pieces):
            joined = f"{line} {piece}" if line and k == 0 else f"{line}{piece}"
            if line and _width(joined) > width:
                lines.append(line)
                line = piece
            else:
                line = joined
    return [*lines, line] if line else lines
