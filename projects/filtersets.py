"""The filters of projects and activities: one FilterSet each, used by the API lists, the
public list pages, the CSV exports and the reports, so a filter means the same thing
wherever a user meets it.

Every filter validates its value: an unknown slug, a year that is not a year or an
unknown status is a form error naming the parameter (a 400 in the API), never an
empty result pretending all is well. Multi-valued filters take repeated parameters
(`?country=VN&country=PH`) and match any of the values.
"""

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from core.filtersets import (
    ChoicesFilter,
    CountryFilter,
    SearchFilter,
    SlugMultipleFilter,
    StrictBooleanFilter,
    StrictOrderingFilter,
    TrackerFilterSet,
    YearFilter,
)
from core.models import PublicationState
from partners.models import Partner
from projects.facets import uses_facets
from projects.models import (
    COUNTED_ROLES,
    Activity,
    Field,
    PartnerRole,
    Program,
    ProgramEvent,
    Project,
    ProjectPartner,
    StatusReport,
)
from projects.search import project_search


def _visible_partners(request):
    return Partner.objects.for_user(getattr(request, "user", None))


def _visible_projects(request):
    return Project.objects.for_user(getattr(request, "user", None))


def _partner_family(request, partners):
    """The ids of `partners` and of their services and agencies the user may see: a
    partner's projects include theirs (PartnerQuerySet)."""
    return _visible_partners(request).with_descendants(partners)


def _linked(through, related_field, values, project="pk", **conditions):
    """Rows linked through a project's many-to-many table (`through`) to any of `values`
    (related rows) that also meet `conditions`: an EXISTS, so a project linked to several
    matches appears once, with no DISTINCT. `project` names the project's id in the outer
    query (`pk` for projects, `project_id` for activities)."""
    return Exists(
        through.objects.filter(project_id=OuterRef(project), **{f"{related_field}__in": values}, **conditions)
    )


PARTNER_ROLE_HELP = _(
    "The roles in which the partner, country, region and ASEAN filters count a partner (repeat for "
    "several). By default every role but venue: a country where an event only took place is not a "
    "partner in it. On its own: the projects with a partner in one of these roles."
)


class PartnerRoleMixin:
    """The `partner_role` filter, and the partner filters that count the roles it names
    (COUNTED_ROLES when it names none)."""

    def _roles(self):
        roles = self.form.cleaned_data.get("partner_role") if hasattr(self.form, "cleaned_data") else None
        return tuple(roles) if roles else COUNTED_ROLES

    def _counted_only(self):
        """Whether the roles asked for are the ones `partner_ids` holds (projects.facets)."""
        return set(self._roles()) == set(COUNTED_ROLES)

    def _asks_partner(self):
        data = self.form.cleaned_data
        return any(data.get(name) not in (None, [], "") for name in ("partner", "country", "region", "asean"))

    def filter_partner_role(self, queryset, name, value):
        # With a partner filter, that filter counts these roles; on its own, any partner.
        if not value or self._asks_partner():
            return queryset
        visible = _visible_partners(self.request)
        return queryset.filter(_linked(ProjectPartner, "partner", visible, project=self.project_key, role__in=value))


class ProjectFilterSet(PartnerRoleMixin, TrackerFilterSet):
    project_key = "pk"
    q = SearchFilter(method="filter_q", label=_("Search"))
    partner = SlugMultipleFilter(queryset=_visible_partners, method="filter_partner", label=_("Partner"))
    country = CountryFilter(method="filter_country", label=_("Country"))
    region = ChoicesFilter(choices=Partner.Region.choices, method="filter_region", label=_("Region"))
    asean = StrictBooleanFilter(method="filter_asean", label=_("ASEAN member"))
    partner_role = ChoicesFilter(
        choices=PartnerRole.choices, method="filter_partner_role", label=_("Partner role"), help_text=PARTNER_ROLE_HELP
    )
    field = SlugMultipleFilter(queryset=Field.objects.all(), method="filter_field", label=_("Field"))
    program = SlugMultipleFilter(field_name="program__slug", queryset=Program.objects.all(), label=_("Program"))
    status = ChoicesFilter(choices=Project.Status.choices, label=_("Status"))
    # Staff's (the public sees published projects only, so any other state gives nothing).
    publication_state = ChoicesFilter(
        choices=PublicationState.choices,
        label=_("Publication state"),
        help_text=_("draft, in_review or published (review before publish); others see published projects only."),
    )
    year = YearFilter(
        method="filter_year",
        label=_("Active in year"),
        help_text=_(
            "Projects active in this year: start year <= year <= active_until (the end year, or for an "
            "open-ended project the year of its latest evidence: a status report, an activity or a cited source)."
        ),
    )
    status_as_of_min = YearFilter(
        field_name="status_year", lookup_expr="gte", label=_("Status known as of a year in or after")
    )
    status_as_of_max = YearFilter(
        field_name="status_year", lookup_expr="lte", label=_("Status known as of a year in or before")
    )
    start_year_min = YearFilter(field_name="start_year", lookup_expr="gte", label=_("Started in or after"))
    start_year_max = YearFilter(field_name="start_year", lookup_expr="lte", label=_("Started in or before"))
    cooperating_country = CountryFilter(method="filter_cooperating_country", label=_("Co-operating country"))
    ordering = StrictOrderingFilter(
        fields=(
            ("title", "title"),
            ("start_year", "start_year"),
            ("end_year", "end_year"),
            ("status", "status"),
            ("updated", "updated"),
        ),
        label=_("Order by"),
    )

    class Meta:
        model = Project
        fields = []

    def filter_q(self, queryset, name, value):
        return project_search(queryset, value, user=getattr(self.request, "user", None))

    # On PostgreSQL the partner and field filters read the ids kept on each project row
    # (projects.facets), which a filtered page tests inside an index; elsewhere, EXISTS
    # over the link tables. The same rows either way (the filterset tests run on both).

    def filter_partner(self, queryset, name, value):
        if not value:
            return queryset
        family = _partner_family(self.request, value)
        if uses_facets(queryset) and self._counted_only():
            return queryset.filter(partner_ids__overlap=family)
        return queryset.filter(_linked(ProjectPartner, "partner", family, role__in=self._roles()))

    def _by_partner_attribute(self, queryset, attribute, values):
        # Only partners the user may see count: a draft partner's country must not make a
        # published project match.
        visible = _visible_partners(self.request)
        if uses_facets(queryset) and self._counted_only():
            from django.contrib.postgres.expressions import ArraySubquery

            # The matching partners' ids in the same statement (an InitPlan, run once).
            ids = ArraySubquery(visible.filter(**{f"{attribute}__in": values}).order_by().values("pk"))
            return queryset.filter(partner_ids__overlap=ids)
        return queryset.filter(
            _linked(ProjectPartner, "partner", visible, role__in=self._roles(), **{f"partner__{attribute}__in": values})
        )

    def filter_country(self, queryset, name, value):
        if not value:
            return queryset
        return self._by_partner_attribute(queryset, "country", value)

    def filter_region(self, queryset, name, value):
        if not value:
            return queryset
        return self._by_partner_attribute(queryset, "region", value)

    def filter_asean(self, queryset, name, value):
        if value is None:
            return queryset
        return self._by_partner_attribute(queryset, "asean_member", [value])

    def filter_field(self, queryset, name, value):
        if not value:
            return queryset
        if uses_facets(queryset):
            return queryset.filter(field_ids__overlap=[field.pk for field in value])
        return queryset.filter(_linked(Project.fields.through, "field", value))

    def filter_year(self, queryset, name, value):
        return queryset.active_in(value)

    def filter_cooperating_country(self, queryset, name, value):
        if not value:
            return queryset
        # Stored as comma-separated two-letter codes: a code cannot match across a comma.
        condition = Q()
        for code in value:
            condition |= Q(cooperating_countries__contains=code)
        return queryset.filter(condition)


class ProjectReportFilterSet(ProjectFilterSet):
    """The project filters of the reports: every filter but `ordering` (a report has its
    own order)."""

    ordering = None


class StatusReportFilterSet(TrackerFilterSet):
    project = SlugMultipleFilter(field_name="project__slug", queryset=_visible_projects, label=_("Project"))
    status = ChoicesFilter(choices=StatusReport.REPORTED, label=_("Status"))
    year_min = YearFilter(field_name="year", lookup_expr="gte", label=_("As of a year in or after"))
    year_max = YearFilter(field_name="year", lookup_expr="lte", label=_("As of a year in or before"))
    ordering = StrictOrderingFilter(fields=(("year", "year"), ("created", "created")), label=_("Order by"))

    class Meta:
        model = StatusReport
        fields = []


class ProgramEventFilterSet(TrackerFilterSet):
    program = SlugMultipleFilter(field_name="program__slug", queryset=Program.objects.all(), label=_("Program"))
    kind = ChoicesFilter(choices=ProgramEvent.Kind.choices, label=_("Kind"))
    year = YearFilter(field_name="year", label=_("Year"))
    ordering = StrictOrderingFilter(fields=(("year", "year"), ("title", "title")), label=_("Order by"))

    class Meta:
        model = ProgramEvent
        fields = []


class ActivityFilterSet(PartnerRoleMixin, TrackerFilterSet):
    project_key = "project_id"
    q = SearchFilter(method="filter_q", label=_("Search"))
    project = SlugMultipleFilter(field_name="project__slug", queryset=_visible_projects, label=_("Project"))
    partner = SlugMultipleFilter(queryset=_visible_partners, method="filter_partner", label=_("Partner"))
    country = CountryFilter(method="filter_country", label=_("Country"))
    partner_role = ChoicesFilter(
        choices=PartnerRole.choices, method="filter_partner_role", label=_("Partner role"), help_text=PARTNER_ROLE_HELP
    )
    field = SlugMultipleFilter(queryset=Field.objects.all(), method="filter_field", label=_("Field"))
    kind = ChoicesFilter(choices=Activity.Kind.choices, label=_("Kind"))
    year = YearFilter(field_name="year", label=_("Year"))
    ordering = StrictOrderingFilter(fields=(("year", "year"), ("title", "title")), label=_("Order by"))

    class Meta:
        model = Activity
        fields = []

    def filter_q(self, queryset, name, value):
        condition = Q()
        for word in value.split():
            condition &= (
                Q(title__icontains=word)
                | Q(description__icontains=word)
                | Q(location__icontains=word)
                | Q(project__title__icontains=word)
            )
        return queryset.filter(condition)

    def _project_through(self, queryset, through, related_field, values, **conditions):
        if not values:
            return queryset
        return queryset.filter(_linked(through, related_field, values, project="project_id", **conditions))

    def filter_partner(self, queryset, name, value):
        if not value:
            return queryset
        family = _partner_family(self.request, value)
        return self._project_through(queryset, ProjectPartner, "partner", family, role__in=self._roles())

    def filter_country(self, queryset, name, value):
        if not value:
            return queryset
        visible = _visible_partners(self.request)
        return queryset.filter(
            _linked(
                ProjectPartner,
                "partner",
                visible,
                project="project_id",
                role__in=self._roles(),
                partner__country__in=value,
            )
        )

    def filter_field(self, queryset, name, value):
        return self._project_through(queryset, Project.fields.through, "field", value)
