"""The projects API's serializers, which validate what clients write and document the
schema, and the one read representation of a project, which every response shows."""

import functools
from collections import defaultdict

from django.db import models
from django.urls import reverse
from django.utils import timezone
from django_countries import countries
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from core.api.serializers import (
    MAX_LIST_VALUES,
    NAMED_JA_REF,
    NAMED_REF,
    NULLABLE_STRING_SCHEMA,
    STRING_SCHEMA,
    YEAR_BOUNDS,
    CountryListField,
    ModelRulesSerializer,
    NamedRefSerializer,
    SlugRefField,
    StrictURLField,
    attr_reader,
    hidden_fields,
    slugs_of_ids,
)
from core.dates import activity_date_display, iso_date
from core.models import SLUG_RE
from partners.models import Partner
from projects.models import (
    Activity,
    Citation,
    Field,
    PartnerRole,
    Program,
    ProgramEvent,
    Project,
    ProjectPartner,
    Source,
    StatusReport,
    project_years_display,
)

PARTNER_REF = {
    "slug": (attr_reader("slug"), STRING_SCHEMA),
    "name": (attr_reader("name"), STRING_SCHEMA),
    "name_ja": (attr_reader("name_ja"), STRING_SCHEMA),
    "country": (lambda p: p.country.code or None, NULLABLE_STRING_SCHEMA),
}
PARTNER_LINK_SCHEMA = {
    **{key: schema for key, (_, schema) in PARTNER_REF.items()},
    "role": {"type": "string", "enum": list(PartnerRole.values)},
}
PROJECT_REF = {"slug": (attr_reader("slug"), STRING_SCHEMA), "title": (attr_reader("title"), STRING_SCHEMA)}


class SourceRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Source
        fields = ["slug", "title", "year"]


class CitationSerializer(serializers.ModelSerializer):
    source = SourceRefSerializer(read_only=True)

    class Meta:
        model = Citation
        fields = ["source", "section", "excerpt", "verified"]


class FieldSerializer(ModelRulesSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="projects-api:field-detail", lookup_field="slug")
    public_url = serializers.CharField(source="get_absolute_url", read_only=True)
    citations = CitationSerializer(many=True, read_only=True)

    class Meta:
        model = Field
        fields = ["url", "public_url", "slug", "name", "name_ja", "description", "citations"]


class ProgramEventSummarySerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="projects-api:programevent-detail")
    date_display = serializers.CharField(read_only=True)

    class Meta:
        model = ProgramEvent
        fields = ["id", "url", "title", "kind", "year", "month", "day", "date_display"]


class ProgramSerializer(ModelRulesSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="projects-api:program-detail", lookup_field="slug")
    public_url = serializers.CharField(source="get_absolute_url", read_only=True)
    citations = CitationSerializer(many=True, read_only=True)
    events = ProgramEventSummarySerializer(many=True, read_only=True)

    class Meta:
        model = Program
        fields = ["url", "public_url", "slug", "name", "name_ja", "start_year", "description", "citations", "events"]
        extra_kwargs = {"start_year": YEAR_BOUNDS}


class ProgramEventSerializer(ModelRulesSerializer):
    """A dated event of a program itself (its announcement, an update)."""

    url = serializers.HyperlinkedIdentityField(view_name="projects-api:programevent-detail")
    program = SlugRefField(queryset=Program.objects.all(), represent=NAMED_REF)
    precision = serializers.CharField(read_only=True)
    date_display = serializers.CharField(read_only=True)
    citations = CitationSerializer(many=True, read_only=True)

    class Meta:
        model = ProgramEvent
        fields = [
            "id", "url", "program", "title", "slug", "kind", "year", "month", "day", "precision", "date_display",
            "location", "location_country", "description", "staff_note", "created", "updated", "version",
            "citations",
        ]  # fmt: skip
        read_only_fields = ["slug", "created", "updated", "version"]
        staff_only_fields = ["staff_note"]
        extra_kwargs = {
            "year": YEAR_BOUNDS,
            "month": {"min_value": 1, "max_value": 12},
            "day": {"min_value": 1, "max_value": 31},
        }


class SourceSerializer(ModelRulesSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="projects-api:source-detail", lookup_field="slug")
    # The model's own `url` (where the document is published) under another name, since
    # `url` is the API link here as everywhere else.
    source_url = StrictURLField(source="url", required=False, allow_blank=True)

    class Meta:
        model = Source
        fields = ["url", "slug", "title", "author", "publisher", "year", "filename", "source_url", "description"]
        extra_kwargs = {"year": YEAR_BOUNDS}


class StatusReportSummarySerializer(serializers.Serializer):
    """A status report as a project's representation lists it (oldest first)."""

    slug = serializers.CharField()
    status = serializers.ChoiceField(choices=StatusReport.REPORTED)
    status_display = serializers.CharField()
    as_of = serializers.CharField(help_text="ISO 8601 to the source's precision: 2015, 2015-06 or 2015-06-01.")
    as_of_display = serializers.CharField(help_text="The date as the sources write it: 2015, June 2015, 1 June 2015.")
    citations = CitationSerializer(many=True)


class StatusReportSerializer(ModelRulesSerializer):
    """A status report: where a project stood as of a date, as a source says."""

    url = serializers.HyperlinkedIdentityField(view_name="projects-api:statusreport-detail")
    project = SlugRefField(queryset=Project.objects.all(), represent=PROJECT_REF)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    precision = serializers.CharField(read_only=True)
    as_of = serializers.CharField(source="date_iso", read_only=True)
    as_of_display = serializers.CharField(source="date_display", read_only=True)
    entered_by = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="Staff only (absent for others): the username of whoever entered the report; null for the seed "
        "data or a user since removed.",
    )
    citations = CitationSerializer(many=True, read_only=True)

    class Meta:
        model = StatusReport
        fields = [
            "id", "url", "project", "slug", "status", "status_display", "year", "month", "day", "precision",
            "as_of", "as_of_display", "note", "entered_by", "releasability", "releasable_to", "created", "updated",
            "version", "citations",
        ]  # fmt: skip
        staff_only_fields = ["note", "entered_by", "releasable_to"]
        signed_in_fields = ["releasability"]
        read_only_fields = ["slug", "created", "updated", "version"]
        extra_kwargs = {
            "year": YEAR_BOUNDS,
            "month": {"min_value": 1, "max_value": 12},
            "day": {"min_value": 1, "max_value": 31},
        }


class ActivitySummarySerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="projects-api:activity-detail")

    class Meta:
        model = Activity
        fields = ["id", "url", "title", "kind", "year", "month", "day", "date_display"]


# -- the read representation of a project --------------------------------------------------
# Built in one place, from values() rows, for the list, the detail, the answer after a
# write, CSV and the browsable API; ProjectSerializer validates input and documents the
# schema, and its Meta.fields is the one list of the keys. A key with no reader below is a
# model column, shown as DRF shows it.

# The columns every row carries, beside the model columns among the keys: what the readers read.
_PROJECT_ROW_COLUMNS = (
    "id", "slug", "start_year", "end_year", "status", "status_year", "status_month", "status_day",
    "cooperating_countries", "releasable_to",
)  # fmt: skip
_PROJECT_ROW_PROGRAM = {"program__slug": "slug", "program__name": "name"}


def _iso(value, tz):
    """A datetime as DRF's DateTimeField writes it: ISO 8601 in the current time zone, UTC as `Z`."""
    if value is None:
        return None
    text = value.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _url_maker(request, view_name, kwarg):
    """reverse() once per list, not once per row: the URL with a placeholder, filled in."""
    marker = "0" if kwarg == "pk" else "tracker-url-placeholder"
    url = reverse(view_name, kwargs={kwarg: marker})
    if request is not None:
        url = request.build_absolute_uri(url)
    head, tail = url.rsplit(marker, 1)
    return lambda value: f"{head}{value}{tail}"


def _partners_of(ids, context):
    lists = defaultdict(list)
    rows = (
        ProjectPartner.objects.filter(project__in=ids, partner__in=context.partners)
        .order_by("project", "partner__name", "partner")
        .values_list("project", "partner__slug", "partner__name", "partner__name_ja", "partner__country", "role")
    )
    for pid, slug, name, name_ja, country, role in rows:
        lists[pid].append({"slug": slug, "name": name, "name_ja": name_ja, "country": country or None, "role": role})
    return lists


def _fields_of(ids, context):
    lists = defaultdict(list)
    for pid, slug, name, name_ja in Field.objects.filter(projects__in=ids).values_list(
        "projects", "slug", "name", "name_ja"
    ):
        lists[pid].append({"slug": slug, "name": name, "name_ja": name_ja})
    return lists


def _activities_of(ids, context):
    lists = defaultdict(list)
    url = _url_maker(context.request, "projects-api:activity-detail", "pk")
    date_display = functools.cache(lambda *date: str(activity_date_display(*date)))
    activities = Activity.objects.released_for(context.user).filter(project__in=ids)
    for pid, aid, title, kind, year, month, day in activities.values_list(
        "project", "id", "title", "kind", "year", "month", "day"
    ):
        lists[pid].append(
            {"id": aid, "url": url(aid), "title": title, "kind": kind, "year": year, "month": month, "day": day,
             "date_display": date_display(year, month, day)}
        )  # fmt: skip
    return lists


def _cited(owner, ids, context):
    """The citations of the records `ids` that they support through the foreign key
    `owner` ("project", "status_report"), as the representation shows them, by record
    (those the reader may see: the records `ids` are)."""
    lists = defaultdict(list)
    for oid, slug, title, year, section, excerpt, verified in (
        Citation.objects.released_for(context.user)
        .filter(**{f"{owner}__in": ids})
        .values_list(owner, "source__slug", "source__title", "source__year", "section", "excerpt", "verified")
    ):
        lists[oid].append(
            {"source": {"slug": slug, "title": title, "year": year}, "section": section, "excerpt": excerpt,
             "verified": verified}
        )  # fmt: skip
    return lists


def _citations_of(ids, context):
    return _cited("project", ids, context)


def _status_reports_of(ids, context):
    """Each project's status reports, oldest first, each with its citations."""
    lists = defaultdict(list)
    reports = (
        StatusReport.objects.released_for(context.user)
        .filter(project__in=ids)
        .order_by("project", *StatusReport._meta.ordering[1:])
    )
    rows = list(reports.values_list("project", "id", "slug", "status", "year", "month", "day"))
    cited = _cited("status_report", [row[1] for row in rows], context)
    for pid, rid, slug, status, year, month, day in rows:
        lists[pid].append(
            {"slug": slug, "status": status, "status_display": context.statuses[status],
             "as_of": iso_date(year, month, day), "as_of_display": context.date_display(year, month, day),
             "citations": cited[rid]}
        )  # fmt: skip
    return lists


class _Context:
    """What a list of representations shares: the request, the partners the user may see,
    the related lists fetched once for all rows (one query each, for the keys asked for),
    and the names that recur on every page, each worked out once."""

    related = {"partners": _partners_of, "fields": _fields_of, "activities": _activities_of,
               "citations": _citations_of, "status_reports": _status_reports_of}  # fmt: skip

    def __init__(self, request, keys, ids):
        self.request = request
        self.user = getattr(request, "user", None)
        self.partners = Partner.objects.for_user(self.user)
        self.statuses = {value: str(label) for value, label in Project.Status.choices}
        self.date_display = functools.cache(lambda *date: str(activity_date_display(*date)))
        self.lists = {key: load(ids, self) for key, load in self.related.items() if key in keys and ids}
        self.project_url = _url_maker(request, "projects-api:project-detail", "slug")
        self.public_url = _url_maker(None, "projects:project-detail", "slug")
        self.years = functools.cache(lambda start, end: str(project_years_display(start, end)))
        self.country_name = functools.cache(lambda code: str(countries.name(code)))
        self.tz = timezone.get_current_timezone()
        self.slugs = {}


def _related(key):
    return lambda row, c: c.lists[key].get(row["id"], [])


_PROJECT_READERS = {
    "url": lambda row, c: c.project_url(row["slug"]),
    "public_url": lambda row, c: c.public_url(row["slug"]),
    "program": lambda row, c: {name: row[column] for column, name in _PROJECT_ROW_PROGRAM.items()},
    "partners": _related("partners"),
    "fields": _related("fields"),
    "years": lambda row, c: c.years(row["start_year"], row["end_year"]),
    "status_display": lambda row, c: c.statuses[row["status"]],
    "status_as_of": lambda row, c: iso_date(row["status_year"], row["status_month"], row["status_day"]) or None,
    "status_reports": _related("status_reports"),
    "releasable_to": lambda row, c: slugs_of_ids(Partner, row["releasable_to"] or [], c.slugs),
    "cooperating_countries": lambda row, c: [
        {"code": code, "name": c.country_name(code)} for code in row["cooperating_countries"].split(",") if code
    ],
    "citations": _related("citations"),
    "activities": _related("activities"),
}


def _column_reader(name):
    field = Project._meta.get_field(name)
    if isinstance(field, models.DateTimeField):
        return lambda row, c: _iso(row[name], c.tz)
    return lambda row, c: row[name]


@functools.cache
def _project_layout():
    """(key, reader) for each key of ProjectSerializer.Meta.fields, and the values() columns
    a row needs."""
    keys = ProjectSerializer.Meta.fields
    readers = [(key, _PROJECT_READERS.get(key) or _column_reader(key)) for key in keys]
    columns = [*_PROJECT_ROW_COLUMNS, *(k for k in keys if k not in _PROJECT_READERS and k not in _PROJECT_ROW_COLUMNS)]
    return readers, (*columns, *_PROJECT_ROW_PROGRAM)


def project_row_values() -> tuple[str, ...]:
    """The values() columns of a representation row: `queryset.values(*project_row_values())`."""
    return _project_layout()[1]


def project_row(project: Project) -> dict:
    """A model instance as the row values() would give (its program read through the relation)."""
    row = {}
    for column in project_row_values():
        if column in _PROJECT_ROW_PROGRAM:
            row[column] = getattr(project.program, _PROJECT_ROW_PROGRAM[column])
        elif column == "cooperating_countries":
            row[column] = ",".join(country.code for country in project.cooperating_countries)
        else:
            row[column] = getattr(project, Project._meta.get_field(column).attname)
    return row


def project_representations(*, rows: list[dict], request, keys=None) -> list[dict]:
    """The API's representation of projects, from `values(*project_row_values())` rows (or
    project_row()), in one query per related list asked for, whatever the number of rows.
    `keys`: only these (CSV asks for what its columns show); all by default. A draft partner
    of a published project is shown only to those who may see drafts."""
    readers, _ = _project_layout()
    if keys is not None:
        readers = [(key, read) for key, read in readers if key in keys]
    hidden = hidden_fields(request, ProjectSerializer.Meta)
    if hidden:
        readers = [(key, read) for key, read in readers if key not in hidden]
    context = _Context(request, {key for key, _ in readers}, [row["id"] for row in rows])
    return [{key: read(row, context) for key, read in readers} for row in rows]


class ProjectListSerializer(serializers.ListSerializer):
    """Many projects represented together: the related lists in one query each, not per project."""

    def to_representation(self, data):
        projects = data.all() if isinstance(data, models.manager.BaseManager) else data
        return project_representations(rows=[project_row(p) for p in projects], request=self.context.get("request"))


PARTNER_ROLE_HELP = (
    "A partner's part in the project: recipient (the partner the work is for), host (hosted the event "
    "Japan took part in), co_host (hosted it with Japan), co_chair (chaired a body with Japan, such as an "
    "ADMM-Plus working group), participant (took part with Japan) or venue (only the country where it "
    "took place). Filters and counts count every role but venue unless `partner_role` says otherwise."
)


class PartnerLinkField(serializers.Field):
    """One partner of a project: written as its slug (a recipient) or as {"slug", "role"};
    read as the partner with its role. Checks the shape; PartnerLinksField looks the
    slugs up, all in one query."""

    default_error_messages = {
        "invalid": 'Give a partner\'s slug, or an object {{"slug": ..., "role": ...}}.',
        "unknown_key": 'Unknown key {name!r}: a partner is {{"slug": ..., "role": ...}}.',
        "invalid_role": "{value!r} is not a role; the roles are " + ", ".join(PartnerRole.values) + ".",
        "does_not_exist": "No partner has the slug {value!r}.",
    }

    def to_internal_value(self, data):
        if isinstance(data, str):
            slug, role = data, PartnerRole.RECIPIENT.value
        elif isinstance(data, dict):
            for key in data:
                if key not in ("slug", "role"):
                    self.fail("unknown_key", name=str(key)[:100])
            if "slug" not in data:
                self.fail("invalid")
            slug, role = data["slug"], data.get("role", PartnerRole.RECIPIENT.value)
            if not isinstance(role, str) or role not in PartnerRole.values:
                self.fail("invalid_role", value=str(role)[:100])
        else:
            self.fail("invalid")
        if not isinstance(slug, str) or not SLUG_RE.fullmatch(slug):
            self.fail("does_not_exist", value=str(slug)[:100])
        return slug, role

    def to_representation(self, value):
        partner, role = value
        return {key: read(partner) for key, (read, _) in PARTNER_REF.items()} | {"role": role}


class PartnerLinksField(serializers.ListField):
    """A project's partners, each with its role: at most MAX_LIST_VALUES, refused before
    any is looked up, then all looked up in one query. A partner listed twice with one
    role counts once; with two roles it is an error (a partner has one role)."""

    child = PartnerLinkField()
    default_error_messages = {
        "max_length": f"At most {MAX_LIST_VALUES} values.",
        "two_roles": "{slug!r} is listed with two roles: a partner has one role in a project.",
    }

    def to_internal_value(self, data):
        if not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        if len(data) > MAX_LIST_VALUES:
            self.fail("max_length")
        items = super().to_internal_value(data)
        roles = {}
        for slug, role in items:
            if roles.setdefault(slug, role) != role:
                self.fail("two_roles", slug=slug)
        found = Partner.objects.in_bulk(list(roles), field_name="slug")
        errors = {
            i: [self.child.error_messages["does_not_exist"].format(value=slug)]
            for i, (slug, _role) in enumerate(items)
            if slug not in found
        }
        if errors:
            raise serializers.ValidationError(errors)
        return [(found[slug], role) for slug, role in roles.items()]


class PartnerLinkFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "projects.api.serializers.PartnerLinkField"

    def map_serializer_field(self, auto_schema, direction):
        if direction == "request":
            slug = {"type": "string", "pattern": f"^{SLUG_RE.pattern}$", "description": "The partner's slug."}
            role = {"type": "string", "enum": list(PartnerRole.values), "default": PartnerRole.RECIPIENT.value}
            return {
                "oneOf": [
                    {**slug, "description": "The slug of a partner in the recipient role."},
                    {
                        "type": "object",
                        "properties": {"slug": slug, "role": role},
                        "required": ["slug"],
                        "additionalProperties": False,
                    },
                ]
            }
        return {
            "type": "object",
            "properties": PARTNER_LINK_SCHEMA,
            "required": list(PARTNER_LINK_SCHEMA),
            "description": PARTNER_ROLE_HELP,
        }


class PartnerLinksFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "projects.api.serializers.PartnerLinksField"

    def map_serializer_field(self, auto_schema, direction):
        schema = {"type": "array", "items": auto_schema._map_serializer_field(self.target.child, direction)}
        if direction == "request":
            schema["maxItems"] = MAX_LIST_VALUES
        return schema


STATUS_IS_REPORTED = (
    "A project's status is its latest status report's: add a report (POST /api/v1/status-reports/) to change it."
)


# What "active in a year" means, in the schema (the `active_in` filter says it too).
ACTIVE_UNTIL_HELP = (
    "The last year the project counts as active in: its `end_year`; for an open-ended project (no end "
    "year) the year of its latest evidence (its latest status report or activity, or the publication of "
    "the latest source cited for it), never before `start_year`. A project is active in year Y when "
    "start_year <= Y <= active_until; the `active_in` filter, the counts and timeline reports and the "
    "public pages all use this rule. null when the start year is not stated."
)


class ProjectSerializer(ModelRulesSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="projects-api:project-detail", lookup_field="slug")
    public_url = serializers.CharField(source="get_absolute_url", read_only=True)
    program = SlugRefField(queryset=Program.objects.all(), represent=NAMED_REF)
    partners = PartnerLinksField(
        help_text='Each partner with its role: written as a slug (a recipient) or {"slug", "role"}. '
        + PARTNER_ROLE_HELP,
    )
    fields = SlugRefField(queryset=Field.objects.all(), many=True, required=False, represent=NAMED_JA_REF)
    cooperating_countries = CountryListField(required=False)
    years = serializers.CharField(source="years_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    status_as_of = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The date the status is known as of, ISO 8601 to the precision its source gives (2015, "
        "2015-06, 2015-06-01): its latest status report's. null when no report says (status `not_reported`).",
    )
    status_reports = StatusReportSummarySerializer(many=True, read_only=True)
    active_until = serializers.IntegerField(read_only=True, allow_null=True, help_text=ACTIVE_UNTIL_HELP)
    citations = CitationSerializer(many=True, read_only=True)
    activities = ActivitySummarySerializer(many=True, read_only=True)

    class Meta:
        model = Project
        fields = [
            "url", "public_url", "slug", "title", "program", "partners", "fields", "start_year", "end_year",
            "years", "active_until", "status", "status_display", "status_as_of", "status_reports",
            "cooperating_countries",
            "description", "staff_note", "published", "publication_state", "review_comment", "releasability",
            "releasable_to", "version", "created", "updated", "citations", "activities",
        ]  # fmt: skip
        staff_only_fields = ["staff_note", "review_comment", "releasable_to"]
        signed_in_fields = ["releasability"]
        # The status is the latest status report's (POST /api/v1/status-reports/ to add one).
        read_only_fields = ["status", "version", "created", "updated"]
        extra_kwargs = {"start_year": YEAR_BOUNDS, "end_year": YEAR_BOUNDS}
        list_serializer_class = ProjectListSerializer

    def to_representation(self, instance):
        # The browsable API shows a record three times (the response and its edit forms,
        # under copies of the request): again for the same user, unless the record has
        # changed since, it costs no query.
        row = project_row(instance)
        request = self.context.get("request")
        key = (getattr(request, "user", None), row)
        shown = instance.__dict__.get("_api_representation")
        if shown is None or shown[0] != key:
            shown = (key, project_representations(rows=[row], request=request)[0])
            instance.__dict__["_api_representation"] = shown
        return shown[1]

    def to_internal_value(self, data):
        # The status is read, not written: it may come back as read, but a payload that
        # asks for another is refused, not ignored (a client would think it was saved).
        if isinstance(data, dict) and "status" in data:
            current = self.instance.status if self.instance is not None else Project.Status.NOT_REPORTED
            if data["status"] != current:
                raise serializers.ValidationError({"status": [ErrorDetail(STATUS_IS_REPORTED, code="read_only")]})
        return super().to_internal_value(data)

    def validate_partners(self, value):
        if not value:
            raise serializers.ValidationError("At least one partner is required.")
        return value

    def save_links(self, instance, name, values):
        if name == "partners":
            instance.set_partners(values)
        else:
            super().save_links(instance, name, values)

    def links_differ(self, instance, name, values):
        if name == "partners":
            return instance.partner_links() != {partner.pk: role for partner, role in values}
        return super().links_differ(instance, name, values)


class ActivitySerializer(ModelRulesSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="projects-api:activity-detail")
    project = SlugRefField(queryset=Project.objects.all(), represent=PROJECT_REF)
    precision = serializers.CharField(read_only=True)
    date_display = serializers.CharField(read_only=True)
    citations = CitationSerializer(many=True, read_only=True)

    class Meta:
        model = Activity
        fields = [
            "id", "url", "project", "title", "slug", "kind", "year", "month", "day", "precision", "date_display",
            "location", "location_country", "description", "staff_note", "releasability", "releasable_to",
            "citations",
        ]  # fmt: skip
        staff_only_fields = ["staff_note", "releasable_to"]
        signed_in_fields = ["releasability"]
        read_only_fields = ["slug"]
        extra_kwargs = {
            "year": YEAR_BOUNDS,
            "month": {"min_value": 1, "max_value": 12},
            "day": {"min_value": 1, "max_value": 31},
        }


# -- reports: documentation of their response shapes (they are built by the selectors) --


class CountsReportSerializer(serializers.Serializer):
    group_by = serializers.ListField(child=serializers.CharField(), help_text="The dimensions, in order.")
    results = serializers.ListField(
        child=serializers.DictField(),
        help_text="One row per group: for each dimension its key (`field`: a slug, `year`: a year, ...) and its "
        "name (`field_name`), and `count`, the number of projects.",
    )


class MatrixProjectSerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    start_year = serializers.IntegerField(allow_null=True)
    end_year = serializers.IntegerField(allow_null=True)
    years = serializers.CharField(help_text="The span as the sources give it, e.g. 2013–2015.")
    status = serializers.ChoiceField(choices=Project.Status.choices)
    status_as_of = serializers.CharField(
        allow_null=True, help_text="The date the status is known as of (ISO 8601 to its precision), or null."
    )


class MatrixCellSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The field's slug.")
    projects = MatrixProjectSerializer(many=True)


class MatrixRowSerializer(serializers.Serializer):
    partner = NamedRefSerializer()
    country = serializers.CharField(allow_null=True)
    cells = MatrixCellSerializer(many=True)


class MatrixReportSerializer(serializers.Serializer):
    fields = NamedRefSerializer(many=True)
    rows = MatrixRowSerializer(many=True)


class TimelineRowSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    total = serializers.IntegerField(help_text="Projects active that year, each counted once.")
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Projects active that year, by field.")


class TimelineReportSerializer(serializers.Serializer):
    years = serializers.ListField(child=serializers.IntegerField())
    fields = NamedRefSerializer(many=True)
    rows = TimelineRowSerializer(many=True)
