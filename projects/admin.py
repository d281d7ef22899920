"""The back office for projects, activities, fields, programs, sources and citations."""

import logging

from django.contrib import admin, messages
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin import CheckedAutocompleteMixin, HistoryAdmin, ReviewAdminMixin, SpreadsheetAdmin, citations_inline
from core.forms import OptimisticLockForm
from projects import services
from projects.forms import ActivityForm, ProgramEventForm, StatusReportForm
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
)
from projects.resources import ProjectResource
from projects.search import project_refresh_search

logger = logging.getLogger(__name__)


class ActivityInline(CheckedAutocompleteMixin, admin.TabularInline):
    model = Activity
    form = ActivityForm
    extra = 0
    fields = [
        "title",
        "kind",
        "year",
        "month",
        "day",
        "location",
        "location_country",
        "releasability",
        "loaded_version",
    ]
    show_change_link = True


class ProjectPartnerInline(CheckedAutocompleteMixin, admin.TabularInline):
    """A project's partners, each with its role: at least one."""

    model = ProjectPartner
    fields = ["partner", "role"]
    autocomplete_fields = ["partner"]
    extra = 0
    min_num = 1
    verbose_name = _("partner")
    verbose_name_plural = _("partners (a venue is only where it took place, and is not counted as a partner)")

    def get_formset(self, request, obj=None, **kwargs):
        # The admin passes min_num but not validate_min: without it, deleting every row
        # would save a project with no partner.
        return super().get_formset(request, obj, validate_min=True, **kwargs)


class StatusReportInline(CheckedAutocompleteMixin, admin.TabularInline):
    model = StatusReport
    form = StatusReportForm
    extra = 0
    fields = ["status", "year", "month", "day", "note", "releasability", "loaded_version"]
    show_change_link = True


class StatusMayBeOutOfDateFilter(admin.SimpleListFilter):
    """Projects whose latest report says they are ongoing (or planned) although their end
    (or start) year has passed: a report to look for."""

    title = _("status may be out of date")
    parameter_name = "status_out_of_date"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes"))]

    def queryset(self, request, queryset):
        if self.value() != "yes":
            return queryset
        return queryset.filter(status_may_be_out_of_date(timezone.localdate().year))


def status_may_be_out_of_date(year):
    """The condition: ongoing past its end year, or planned past its start year."""
    return Q(status=Project.Status.ONGOING, end_year__lt=year) | Q(status=Project.Status.PLANNED, start_year__lt=year)


class ActiveInYearFilter(admin.SimpleListFilter):
    title = _("active in decade")
    parameter_name = "decade"

    def lookups(self, request, model_admin):
        years = Project.objects.exclude(start_year=None).values_list("start_year", flat=True)
        decades = sorted({y // 10 * 10 for y in years})
        return [(str(d), f"{d}s") for d in decades]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            decade = int(self.value())
        except ValueError:
            return queryset.none()
        # Active in some year of the decade, by the one rule (Project.active_until).
        return queryset.filter(active_until__gte=decade, start_year__lte=decade + 9)


def _set_status_action(status):
    label = Project.Status(status).label

    def action(modeladmin, request, queryset):
        count = services.project_set_status(projects=queryset, status=status, user=request.user)
        modeladmin._report(request, count, _("set to “%(status)s”") % {"status": label})

    action.__name__ = f"set_status_{status}"
    action.short_description = _("Set status of selected projects to “%(status)s” (a report as of today)") % {
        "status": label
    }
    action.allowed_permissions = ("change",)
    return action


@admin.register(Project)
class ProjectAdmin(ReviewAdminMixin, SpreadsheetAdmin):
    form = OptimisticLockForm
    resource_classes = [ProjectResource]
    list_display = [
        "title", "program", "partner_list", "field_list", "years", "status_as_of", "publication_state", "updated",
    ]  # fmt: skip
    list_filter = [
        "status",
        StatusMayBeOutOfDateFilter,
        "publication_state",
        "releasability",
        ActiveInYearFilter,
        "program",
        "fields",
        "partners__region",
    ]
    list_select_related = ["program"]
    search_fields = ["title", "slug", "description", "partners__name", "fields__name"]
    date_hierarchy = "updated"
    autocomplete_fields = ["program", "fields"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["publication_state", "review_comment", "status_as_of", "version", "created", "updated"]
    inlines = [ProjectPartnerInline, StatusReportInline, ActivityInline, citations_inline(Citation, "project")]
    actions = [*[_set_status_action(value) for value, _label in StatusReport.REPORTED]]
    history_list_display = ["status", "publication_state"]
    list_per_page = 50

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("projectpartner_set", queryset=ProjectPartner.objects.select_related("partner")), "fields"
            )
        )

    @admin.display(description=_("partners"))
    def partner_list(self, obj):
        return ", ".join(
            link.partner.name
            if link.role == PartnerRole.RECIPIENT
            else f"{link.partner.name} ({link.get_role_display()})"
            for link in sorted(obj.projectpartner_set.all(), key=lambda link: link.partner.name)
        )

    @admin.display(description=_("fields"))
    def field_list(self, obj):
        return ", ".join(f.name for f in obj.fields.all())

    @admin.display(description=_("years"), ordering="start_year")
    def years(self, obj):
        return obj.years_display

    @admin.display(description=_("status"), ordering="status")
    def status_as_of(self, obj):
        """ "Ongoing, as of June 2015": the latest status report's, or "Not reported"."""
        return obj.status_with_date

    def save_formset(self, request, form, formset, change):
        # A status report entered here is entered by the editor saving the page.
        if formset.model is StatusReport:
            for row in formset.forms:
                if row.instance.pk is None and row.has_changed():
                    row.instance.entered_by = request.user
        super().save_formset(request, form, formset, change)
        if formset.model is ProjectPartner and formset.has_changed():
            # Saved as rows, not through the many-to-many manager, whose signals would.
            project_refresh_search(projects=Project.objects.filter(pk=form.instance.pk))

    def _report(self, request, count, verb):
        self.message_user(
            request,
            ngettext("%(count)d project %(verb)s.", "%(count)d projects %(verb)s.", count)
            % {"count": count, "verb": verb},
            messages.SUCCESS,
        )


@admin.register(StatusReport)
class StatusReportAdmin(HistoryAdmin):
    form = StatusReportForm
    list_display = ["project", "status", "date", "entered_by", "created"]
    list_filter = ["status", "year", "releasability"]
    list_select_related = ["project", "entered_by"]
    search_fields = ["project__title", "note"]
    autocomplete_fields = ["project"]
    readonly_fields = ["entered_by", "created", "updated"]
    inlines = [citations_inline(Citation, "status_report")]

    @admin.display(description=_("as of"), ordering="year")
    def date(self, obj):
        return obj.date_display

    def save_model(self, request, obj, form, change):
        if not change:
            obj.entered_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Activity)
class ActivityAdmin(HistoryAdmin):
    form = ActivityForm
    list_display = ["title", "project", "kind", "date", "location", "releasability"]
    list_filter = ["kind", "year", "project__program", "releasability"]
    list_select_related = ["project"]
    search_fields = ["title", "description", "location", "project__title"]
    autocomplete_fields = ["project"]
    inlines = [citations_inline(Citation, "activity")]

    @admin.display(description=_("date"), ordering="year")
    def date(self, obj):
        return obj.date_display


class ReferenceDataAdmin(HistoryAdmin):
    """Fields and programs: named in two languages, found by name or slug, cited."""

    form = OptimisticLockForm

    list_display = ["name", "name_ja", "slug"]
    search_fields = ["name", "name_ja", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Field)
class FieldAdmin(ReferenceDataAdmin):
    inlines = [citations_inline(Citation, "field")]


class ProgramEventInline(CheckedAutocompleteMixin, admin.TabularInline):
    model = ProgramEvent
    form = ProgramEventForm
    extra = 0
    fields = ["title", "kind", "year", "month", "day", "location", "location_country", "loaded_version"]
    show_change_link = True


@admin.register(Program)
class ProgramAdmin(ReferenceDataAdmin):
    list_display = ["name", "name_ja", "start_year", "slug"]
    inlines = [ProgramEventInline, citations_inline(Citation, "program")]


@admin.register(ProgramEvent)
class ProgramEventAdmin(HistoryAdmin):
    form = ProgramEventForm
    list_display = ["title", "program", "kind", "date", "location"]
    list_filter = ["kind", "year", "program"]
    list_select_related = ["program"]
    search_fields = ["title", "description", "location", "program__name"]
    autocomplete_fields = ["program"]
    inlines = [citations_inline(Citation, "program_event")]

    @admin.display(description=_("date"), ordering="year")
    def date(self, obj):
        return obj.date_display


@admin.register(Source)
class SourceAdmin(HistoryAdmin):
    form = OptimisticLockForm
    list_display = ["title", "author", "year", "filename"]
    list_filter = ["year"]
    search_fields = ["title", "author", "publisher"]


@admin.register(Citation)
class CitationAdmin(HistoryAdmin):
    form = OptimisticLockForm
    list_display = ["source", "section", "short_excerpt", "target", "verified", "releasability"]
    list_filter = ["verified", "source", "releasability"]
    readonly_fields = ["verified"]
    list_select_related = ["source", "partner", "field", "program", "project", "activity"]
    search_fields = ["excerpt", "section", "project__title", "partner__name", "activity__title"]
    autocomplete_fields = ["source", "partner", "field", "program", "project", "activity"]

    @admin.display(description=_("excerpt"))
    def short_excerpt(self, obj):
        return obj.excerpt if len(obj.excerpt) <= 80 else obj.excerpt[:77] + "…"
