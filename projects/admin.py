"""The back office for projects, activities, fields, programs, sources and citations."""

import logging

from django.contrib import admin, messages
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin import CheckedAutocompleteMixin, HistoryAdmin, SpreadsheetAdmin, citations_inline
from core.forms import OptimisticLockForm
from projects import services
from projects.forms import ActivityForm
from projects.models import Activity, Citation, Field, Program, Project, Source
from projects.resources import ProjectResource

logger = logging.getLogger(__name__)


class ActivityInline(CheckedAutocompleteMixin, admin.TabularInline):
    model = Activity
    form = ActivityForm
    extra = 0
    fields = ["title", "kind", "year", "month", "day", "location", "location_country", "loaded_version"]
    show_change_link = True


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
        return queryset.filter(Q(end_year__isnull=True) | Q(end_year__gte=decade), start_year__lte=decade + 9)


def _set_status_action(status):
    label = Project.Status(status).label

    def action(modeladmin, request, queryset):
        count = services.project_set_status(projects=queryset, status=status, user=request.user)
        modeladmin._report(request, count, _("set to “%(status)s”") % {"status": label})

    action.__name__ = f"set_status_{status}"
    action.short_description = _("Set status of selected projects to “%(status)s”") % {"status": label}
    action.allowed_permissions = ("change",)
    return action


@admin.register(Project)
class ProjectAdmin(SpreadsheetAdmin):
    form = OptimisticLockForm
    resource_classes = [ProjectResource]
    list_display = ["title", "program", "partner_list", "field_list", "years", "status", "published", "updated"]
    list_filter = ["status", "published", ActiveInYearFilter, "program", "fields", "partners__region"]
    list_select_related = ["program"]
    search_fields = ["title", "slug", "description", "partners__name", "fields__name"]
    date_hierarchy = "updated"
    autocomplete_fields = ["program", "partners", "fields"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["version", "created", "updated"]
    inlines = [ActivityInline, citations_inline(Citation, "project")]
    actions = ["publish", "unpublish", *[_set_status_action(s) for s in Project.Status.values]]
    history_list_display = ["status", "published"]
    list_per_page = 50

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("partners", "fields")

    @admin.display(description=_("partners"))
    def partner_list(self, obj):
        return ", ".join(p.name for p in obj.partners.all())

    @admin.display(description=_("fields"))
    def field_list(self, obj):
        return ", ".join(f.name for f in obj.fields.all())

    @admin.display(description=_("years"), ordering="start_year")
    def years(self, obj):
        return obj.years_display

    def _report(self, request, count, verb):
        self.message_user(
            request,
            ngettext("%(count)d project %(verb)s.", "%(count)d projects %(verb)s.", count)
            % {"count": count, "verb": verb},
            messages.SUCCESS,
        )

    @admin.action(description=_("Publish selected projects"), permissions=["change"])
    def publish(self, request, queryset):
        self._report(request, services.project_publish(projects=queryset, user=request.user), _("published"))

    @admin.action(description=_("Unpublish selected projects"), permissions=["change"])
    def unpublish(self, request, queryset):
        self._report(request, services.project_unpublish(projects=queryset, user=request.user), _("unpublished"))


@admin.register(Activity)
class ActivityAdmin(HistoryAdmin):
    form = ActivityForm
    list_display = ["title", "project", "kind", "date", "location"]
    list_filter = ["kind", "year", "project__program"]
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


@admin.register(Program)
class ProgramAdmin(ReferenceDataAdmin):
    list_display = ["name", "name_ja", "start_year", "slug"]
    inlines = [citations_inline(Citation, "program")]


@admin.register(Source)
class SourceAdmin(HistoryAdmin):
    form = OptimisticLockForm
    list_display = ["title", "author", "year", "filename"]
    list_filter = ["year"]
    search_fields = ["title", "author", "publisher"]


@admin.register(Citation)
class CitationAdmin(HistoryAdmin):
    form = OptimisticLockForm
    list_display = ["source", "section", "short_excerpt", "target", "verified"]
    list_filter = ["verified", "source"]
    readonly_fields = ["verified"]
    list_select_related = ["source", "partner", "field", "program", "project", "activity"]
    search_fields = ["excerpt", "section", "project__title", "partner__name", "activity__title"]
    autocomplete_fields = ["source", "partner", "field", "program", "project", "activity"]

    @admin.display(description=_("excerpt"))
    def short_excerpt(self, obj):
        return obj.excerpt if len(obj.excerpt) <= 80 else obj.excerpt[:77] + "…"
