from itertools import islice

from django.http import StreamingHttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from core.api.queryparams import StrictQueryParamsMixin
from core.api.renderers import CSVTable, csv_table_response
from core.api.views import CSVStreamMixin, ETagMixin, ReviewActionsMixin, TrackerViewSet
from core.cache.responses import streamed_etag
from core.dates import iso_date
from core.spreadsheet import names_cell
from partners.models import Partner
from projects.api.serializers import (
    ActivitySerializer,
    CountsReportSerializer,
    FieldSerializer,
    MatrixReportSerializer,
    ProgramEventSerializer,
    ProgramSerializer,
    ProjectSerializer,
    SourceSerializer,
    StatusReportSerializer,
    TimelineReportSerializer,
    project_representations,
    project_row,
    project_row_values,
)
from projects.filtersets import (
    ActivityFilterSet,
    ProgramEventFilterSet,
    ProjectFilterSet,
    ProjectReportFilterSet,
    StatusReportFilterSet,
)
from projects.iati import iati_activities_chunks, iati_errors_document
from projects.models import (
    COUNTED_ROLES,
    PROJECT_CURSOR_KEYS,
    Activity,
    Field,
    Program,
    ProgramEvent,
    Project,
    Source,
    StatusReport,
)
from projects.selectors import (
    DIMENSIONS,
    ReportError,
    citations_prefetch,
    report_counts,
    report_matrix,
    report_parse_group_by,
    report_timeline,
)


class FieldViewSet(TrackerViewSet):
    """Fields: the thematic areas of the projects (HA/DR, maritime security, PKO, ...), with their citations."""

    serializer_class = FieldSerializer
    queryset = Field.objects.all()
    filterset_fields = []

    def get_queryset(self):
        return Field.objects.prefetch_related(citations_prefetch(self.request.user))

    csv_columns = [("slug", lambda o: o.slug), ("name", lambda o: o.name), ("name_ja", lambda o: o.name_ja)]


class ProgramViewSet(TrackerViewSet):
    """Programs: the frameworks projects run under, with their citations and their dated
    events (the program's own: an announcement, an update)."""

    serializer_class = ProgramSerializer
    queryset = Program.objects.all()
    filterset_fields = []

    def get_queryset(self):
        return Program.objects.prefetch_related(citations_prefetch(self.request.user), "events")

    csv_columns = [
        ("slug", lambda o: o.slug),
        ("name", lambda o: o.name),
        ("name_ja", lambda o: o.name_ja),
        ("start_year", lambda o: o.start_year),
    ]


class SourceViewSet(TrackerViewSet):
    """Sources: the documents the records and their citations come from."""

    serializer_class = SourceSerializer
    queryset = Source.objects.all()
    filterset_fields = []
    csv_columns = [("slug", lambda o: o.slug), ("title", lambda o: o.title), ("year", lambda o: o.year)]


class ProjectViewSet(ReviewActionsMixin, TrackerViewSet):
    """Projects: published ones for everyone, drafts too for staff who may view them."""

    serializer_class = ProjectSerializer
    filterset_class = ProjectFilterSet
    # Read from the project's representation (project_representations), flattened.
    csv_columns = [
        ("slug", lambda p: p["slug"]),
        ("title", lambda p: p["title"]),
        ("program", lambda p: p["program"]["slug"]),
        ("program_name", lambda p: p["program"]["name"]),
        ("partners", lambda p: ",".join(x["slug"] for x in p["partners"])),
        ("partner_names", lambda p: names_cell(x["name"] for x in p["partners"])),
        # Each partner's role, in the order of `partners`; the countries of the partners
        # in a counted role (a venue is only where it took place).
        ("partner_roles", lambda p: ",".join(x["role"] for x in p["partners"])),
        (
            "countries",
            lambda p: ",".join(
                sorted({x["country"] for x in p["partners"] if x["country"] and x["role"] in COUNTED_ROLES})
            ),
        ),
        ("fields", lambda p: ",".join(x["slug"] for x in p["fields"])),
        ("field_names", lambda p: names_cell(x["name"] for x in p["fields"])),
        ("start_year", lambda p: p["start_year"]),
        ("end_year", lambda p: p["end_year"]),
        ("status", lambda p: p["status"]),
        ("status_name", lambda p: p["status_display"]),
        ("status_as_of", lambda p: p["status_as_of"]),
        ("active_until", lambda p: p["active_until"]),
        ("cooperating_countries", lambda p: ",".join(c["code"] for c in p["cooperating_countries"])),
        ("cooperating_country_names", lambda p: names_cell(c["name"] for c in p["cooperating_countries"])),
        ("published", lambda p: p["published"]),
        ("publication_state", lambda p: p["publication_state"]),
        ("description", lambda p: p["description"]),
    ]
    # The keys those columns read: the CSV fetches neither activities nor citations.
    csv_keys = {"slug", "title", "program", "partners", "fields", "start_year", "end_year", "status",
                "status_display", "status_as_of", "active_until", "cooperating_countries", "published",
                "publication_state", "description"}  # fmt: skip

    # Cursor paging (?cursor=): a keyset over the default order (projects_project_cursor_idx).
    cursor_keys = PROJECT_CURSOR_KEYS

    def get_queryset(self):
        # The related lists come with the representation (ProjectSerializer), not prefetched.
        return Project.objects.for_user(self.request.user).select_related("program")

    def list(self, request, *args, **kwargs):
        if request.accepted_renderer.format != "json":
            return super().list(request, *args, **kwargs)
        # values() rows, not model instances: the representation is built from rows.
        projects = self.filter_queryset(Project.objects.for_user(request.user))
        if self.paginator.cursor_query_param in request.query_params:
            page = self.paginate_queryset(projects.values(*project_row_values()))
        else:
            # The page's ids first, then their rows: the ids of a filtered page come from an
            # index alone (PostgreSQL's index-only scan of projects_project_facets_idx), so
            # the projects passed over on the way to a page are never read from the table.
            ids = self.paginate_queryset(projects.values_list("pk", flat=True))
            found = {row["id"]: row for row in Project.objects.filter(pk__in=ids).values(*project_row_values())}
            page = [found[pk] for pk in ids]
        return self.get_paginated_response(project_representations(rows=page, request=request))

    def csv_records(self, projects):
        projects = iter(projects)
        while chunk := [project_row(p) for p in islice(projects, 2000)]:
            yield from project_representations(rows=chunk, request=self.request, keys=self.csv_keys)


class ActivityViewSet(StrictQueryParamsMixin, ETagMixin, CSVStreamMixin, viewsets.ModelViewSet):
    """Activities: what a project did, dated to the precision its source gives; those of
    published projects for everyone, of drafts too for staff who may view them."""

    serializer_class = ActivitySerializer
    lookup_value_regex = "[0-9]+"
    filterset_class = ActivityFilterSet
    csv_columns = [
        ("id", lambda a: a.id),
        ("project", lambda a: a.project.slug),
        ("project_title", lambda a: a.project.title),
        ("title", lambda a: a.title),
        ("kind", lambda a: a.kind),
        ("kind_name", lambda a: a.get_kind_display()),
        ("year", lambda a: a.year),
        ("month", lambda a: a.month),
        ("day", lambda a: a.day),
        ("date", lambda a: a.date_display),
        ("date_iso", lambda a: iso_date(a.year, a.month, a.day)),
        ("location", lambda a: a.location),
    ]

    def get_queryset(self):
        return (
            Activity.objects.for_user(self.request.user)
            .select_related("project")
            .prefetch_related(citations_prefetch(self.request.user))
        )


class ProgramEventViewSet(StrictQueryParamsMixin, ETagMixin, CSVStreamMixin, viewsets.ModelViewSet):
    """Program events: what a program itself did and when (its announcement, an update),
    dated to the precision its source gives, with the citations that say so. Public, as
    programs are."""

    serializer_class = ProgramEventSerializer
    lookup_value_regex = "[0-9]+"
    filterset_class = ProgramEventFilterSet
    csv_columns = [
        ("id", lambda e: e.id),
        ("program", lambda e: e.program.slug),
        ("program_name", lambda e: e.program.name),
        ("title", lambda e: e.title),
        ("kind", lambda e: e.kind),
        ("kind_name", lambda e: e.get_kind_display()),
        ("year", lambda e: e.year),
        ("month", lambda e: e.month),
        ("day", lambda e: e.day),
        ("date", lambda e: e.date_display),
        ("date_iso", lambda e: e.date_iso),
        ("location", lambda e: e.location),
    ]

    def get_queryset(self):
        return ProgramEvent.objects.select_related("program").prefetch_related(citations_prefetch(self.request.user))


class StatusReportViewSet(StrictQueryParamsMixin, ETagMixin, CSVStreamMixin, viewsets.ModelViewSet):
    """Status reports: where a project stood as of a date (to the precision its source
    gives), with the citations that say so. A project's `status` is its latest report's;
    adding, changing or deleting a report changes it. Those of published projects for
    everyone, of drafts too for staff who may view them."""

    serializer_class = StatusReportSerializer
    lookup_value_regex = "[0-9]+"
    filterset_class = StatusReportFilterSet
    csv_columns = [
        ("id", lambda r: r.id),
        ("project", lambda r: r.project.slug),
        ("project_title", lambda r: r.project.title),
        ("status", lambda r: r.status),
        ("status_name", lambda r: r.get_status_display()),
        ("year", lambda r: r.year),
        ("month", lambda r: r.month),
        ("day", lambda r: r.day),
        ("as_of", lambda r: r.date_display),
        ("as_of_iso", lambda r: r.date_iso),
    ]

    def get_queryset(self):
        return (
            StatusReport.objects.for_user(self.request.user)
            .select_related("project", "entered_by")
            .prefetch_related(citations_prefetch(self.request.user))
        )

    def perform_create(self, serializer):
        serializer.validated_data["entered_by"] = self.request.user
        super().perform_create(serializer)


class _ReportSchema(AutoSchema):
    """A report is one object, not a list, but takes every project filter."""

    def get_filter_backends(self):
        return self.view.filter_backends


class _ProjectReport(StrictQueryParamsMixin, generics.GenericAPIView):
    """A report over the projects the user may see, narrowed by any project filter."""

    filter_backends = [DjangoFilterBackend]
    filterset_class = ProjectReportFilterSet
    pagination_class = None
    schema = _ReportSchema()

    def get_queryset(self):
        return Project.objects.for_user(self.request.user)

    def projects(self, request):
        # The filter backend runs ProjectFilterSet and turns its errors into a 400.
        return self.filter_queryset(self.get_queryset())

    def partner_roles(self, request):
        """The roles the partner groups count: `partner_role` (checked by the filterset,
        which runs first), by default every role but venue."""
        return tuple(request.query_params.getlist("partner_role")) or COUNTED_ROLES


_GROUP_BY = "|".join(DIMENSIONS)


class CountsReportView(_ProjectReport):
    """Number of projects per group: ?group_by=partner|country|field|program|status|year (one or two)."""

    extra_query_params = ("group_by",)

    @extend_schema(
        responses=CountsReportSerializer,
        parameters=[
            OpenApiParameter(
                "group_by",
                str,
                required=True,
                pattern=f"^({_GROUP_BY})(,({_GROUP_BY}))?$",
                description="One or two dimensions, comma-separated: " + ", ".join(DIMENSIONS) + ".",
            )
        ],
    )
    def get(self, request):
        try:
            group_by = report_parse_group_by(request.query_params.get("group_by"))
        except ReportError as exc:
            raise ValidationError({exc.parameter: [exc.message]}) from exc
        rows = report_counts(
            projects=self.projects(request),
            group_by=group_by,
            partners=Partner.objects.for_user(request.user),
            roles=self.partner_roles(request),
        )
        if request.accepted_renderer.format == "csv":
            header = [column for dim in group_by for column in (dim, f"{dim}_name")] + ["count"]
            name = "-".join(["counts-by", *group_by])
            return csv_table_response(CSVTable(rows, header=header, filename=f"{name}.csv"))
        return Response({"group_by": group_by, "results": rows})


class MatrixReportView(_ProjectReport):
    """Partner × field: each cell the projects and their year spans."""

    @extend_schema(responses=MatrixReportSerializer)
    def get(self, request):
        matrix = report_matrix(
            projects=self.projects(request),
            partners=Partner.objects.for_user(request.user),
            roles=self.partner_roles(request),
        )
        if request.accepted_renderer.format == "csv":
            rows = [
                {
                    "partner": row["partner"]["slug"],
                    "partner_name": row["partner"]["name"],
                    "country": row["country"],
                    "field": cell["field"],
                    "projects": "; ".join(f"{p['title']} ({p['years']})" for p in cell["projects"]),
                }
                for row in matrix["rows"]
                for cell in row["cells"]
                if cell["projects"]
            ]
            header = ["partner", "partner_name", "country", "field", "projects"]
            return csv_table_response(CSVTable(rows, header=header, filename="matrix.csv"))
        return Response(matrix)


class TimelineReportView(_ProjectReport):
    """Projects active per year, in total and by field."""

    @extend_schema(responses=TimelineReportSerializer)
    def get(self, request):
        timeline = report_timeline(projects=self.projects(request))
        if request.accepted_renderer.format == "csv":
            rows = [{"year": r["year"], "total": r["total"], **r["counts"]} for r in timeline["rows"]]
            header = ["year", "total", *(field["slug"] for field in timeline["fields"])]
            return csv_table_response(CSVTable(rows, header=header, filename="timeline.csv"))
        return Response(timeline)


class IATIXMLRenderer(BaseRenderer):
    """application/xml, so that clients asking for XML are served; the IATI document
    itself streams (IATIActivitiesView), this renders only its error bodies."""

    media_type = "application/xml"
    format = "xml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return iati_errors_document(data.get("errors", []) if isinstance(data, dict) else [])


class IATIActivitiesView(_ProjectReport):
    """The published projects as an IATI 2.03 activities document (projects/iati.py),
    narrowed by any project filter.

    Published projects only, whoever asks: IATI is a publication format, and a file that
    held drafts for a viewer would be one forwarded copy away from publishing them."""

    renderer_classes = [JSONRenderer, IATIXMLRenderer]

    def get_queryset(self):
        return Project.objects.public()

    @extend_schema(
        operation_id="iati_activities",
        responses={
            (200, "application/xml"): OpenApiResponse(
                response=str,
                description="An IATI 2.03 activities document (iati-activities) of the published projects.",
            ),
            (400, "application/json"): OpenApiResponse(
                response={"$ref": "#/components/schemas/Error"},
                description="Invalid filter: one message per query parameter.",
            ),
        },
    )
    def get(self, request):
        chunks = iati_activities_chunks(projects=self.projects(request), base_url=request.build_absolute_uri("/"))
        response = StreamingHttpResponse(chunks, content_type="application/xml; charset=utf-8")
        # Weak: the document says when it was generated, so its bytes differ by the second.
        response["ETag"] = streamed_etag(request, weak=True)  # If-None-Match: core.cache.responses
        return response
