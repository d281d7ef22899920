"""The back office for projects, activities, fields, programs, sources and citations."""

from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from import_export.admin import ImportExportModelAdmin
from import_export.formats.base_formats import CSV, XLSX
from simple_history.admin import SimpleHistoryAdmin

from projects import services
from projects.forms import ActivityForm, OptimisticLockForm, SpreadsheetImportForm
from projects.models import Activity, Citation, Field, Program, Project, Source
from projects.resources import ProjectResource


class _SubmittedValuesChecked:
    """An autocomplete widget that shows again only the submitted values that can be keys.

    When a form is shown again with its errors, Django's autocomplete widget looks up the
    submitted values as keys; a value that is not one ("abc" for a numeric id) is already
    reported by the form, but the lookup would fail and turn the page into a server error."""

    def optgroups(self, name, value, attr=None):
        remote = self.field.remote_field
        opts = remote.model._meta
        key = opts.get_field(getattr(remote, "field_name", None) or opts.pk.name)
        low, high = connections[self.db or "default"].ops.integer_field_range(key.get_internal_type())
        usable = []
        for item in value:
            try:
                python_value = key.to_python(item)
            except ValidationError:
                continue
            if isinstance(python_value, int) and not (
                (low is None or low <= python_value) and (high is None or python_value <= high)
            ):
                continue
            usable.append(item)
        return super().optgroups(name, usable, attr)


class CheckedAutocompleteSelect(_SubmittedValuesChecked, AutocompleteSelect):
    pass


class CheckedAutocompleteSelectMultiple(_SubmittedValuesChecked, AutocompleteSelectMultiple):
    pass


class CheckedAutocompleteMixin:
    """Autocomplete fields with CheckedAutocompleteSelect(Multiple), for admins and inlines."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if type(getattr(formfield, "widget", None)) is AutocompleteSelect:
            formfield.widget.__class__ = CheckedAutocompleteSelect
        return formfield

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        if type(getattr(formfield, "widget", None)) is AutocompleteSelectMultiple:
            formfield.widget.__class__ = CheckedAutocompleteSelectMultiple
        return formfield


class SafeSearchAdmin(CheckedAutocompleteMixin, admin.ModelAdmin):
    """Search that treats a NUL character as the end of the term: PostgreSQL text cannot
    hold one, and a search for it would otherwise be a server error."""

    def get_search_results(self, request, queryset, search_term):
        return super().get_search_results(request, queryset, search_term.split("\x00", 1)[0])


class HistoryAdmin(SafeSearchAdmin, SimpleHistoryAdmin):
    """The change history with revert."""


class SpreadsheetAdmin(ImportExportModelAdmin, HistoryAdmin):
    """Import/export as CSV or XLSX (with a preview before anything is written), plus
    the change history with revert.

    An import is all or nothing: a file that cannot be read, or any row that does not
    validate, at the preview or at the confirmation, imports nothing."""

    import_formats = [CSV, XLSX]
    export_formats = [CSV, XLSX]
    import_form_class = SpreadsheetImportForm
    export_template_name = "admin/import_export/tracker_export.html"

    def get_import_data_kwargs(self, **kwargs):
        # Also roll back on validation errors at the confirmation (import-export writes
        # the valid rows of a file by default): a row can turn invalid between preview
        # and confirmation, when another editor saves the record in between.
        return {**super().get_import_data_kwargs(**kwargs), "rollback_on_validation_errors": True}

    @method_decorator(require_POST)
    def process_import(self, request, **kwargs):
        """The confirmation step, as import-export's, but a forged or expired form, or a
        file whose rows no longer validate, is answered with a message and imports
        nothing (rather than a server error or a partial import)."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        again = HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_import"))
        confirm_form = self.create_confirm_form(request)
        input_format = self._confirmed_format(request, confirm_form)
        if input_format is None:
            messages.error(request, _("Nothing was imported: the confirmation was incomplete. Upload the file again."))
            return again
        if not input_format.is_binary():
            input_format.encoding = self.from_encoding
        tmp_storage = self.get_tmp_storage_class()(
            name=confirm_form.cleaned_data["import_file_name"],
            encoding=None if input_format.is_binary() else self.from_encoding,
            read_mode=input_format.get_read_mode(),
            **self.get_tmp_storage_class_kwargs(),
        )
        data = tmp_storage.read()
        if data is None:
            messages.error(request, _("Nothing was imported: the uploaded file has expired. Upload it again."))
            return again
        try:
            dataset = input_format.create_dataset(data)
        except Exception:  # it was read at the preview; only a forged file name gets here
            messages.error(request, _("Nothing was imported: the uploaded file could not be read. Upload it again."))
            return again
        result = self.process_dataset(dataset, confirm_form, request, **kwargs)
        tmp_storage.remove()
        if result.has_errors() or result.has_validation_errors():
            messages.error(request, _("Nothing was imported: %(problems)s") % {"problems": _result_problems(result)})
            return again
        return self.process_result(result, request)

    def _confirmed_format(self, request, confirm_form):
        """The input format the confirmation names, or None if the form is not one this
        admin could have made (a format or resource that does not exist)."""
        if not confirm_form.is_valid():
            return None
        formats = self.get_import_formats()
        try:
            format_index = int(confirm_form.cleaned_data["format"])
            resource_index = int(confirm_form.cleaned_data.get("resource") or 0)
        except ValueError:
            return None
        resources = self.get_import_resource_classes(request)
        if not (0 <= format_index < len(formats) and 0 <= resource_index < len(resources)):
            return None
        return formats[format_index]()


def _result_problems(result, limit=5):
    """The first problems of an import result, each with its row number."""
    problems = [f"{error.error}" for error in result.base_errors]
    for number, errors in result.row_errors():
        problems += [f"row {number}: {error.error}" for error in errors]
    for row in result.invalid_rows:
        for name, texts in row.error_dict.items():
            label = "" if name == "__all__" else f"{name}: "
            problems += [f"row {row.number}: {label}{text}" for text in texts]
    shown = "; ".join(problems[:limit])
    return shown + (f" (and {len(problems) - limit} more)" if len(problems) > limit else "") + "."


class CitationInline(CheckedAutocompleteMixin, admin.TabularInline):
    model = Citation
    extra = 0
    fields = ["source", "section", "excerpt"]
    autocomplete_fields = ["source"]


def citation_inline(target):
    """A citations inline for one kind of record (Citation has one FK per target)."""
    return type(f"{target.title()}CitationInline", (CitationInline,), {"fk_name": target})


class ActivityInline(CheckedAutocompleteMixin, admin.TabularInline):
    model = Activity
    form = ActivityForm
    extra = 0
    fields = ["title", "kind", "year", "month", "day", "location", "location_country"]
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


class ProjectForm(OptimisticLockForm):
    class Meta:
        model = Project
        fields = "__all__"


@admin.register(Project)
class ProjectAdmin(SpreadsheetAdmin):
    form = ProjectForm
    resource_classes = [ProjectResource]
    list_display = ["title", "program", "partner_list", "field_list", "years", "status", "published", "updated"]
    list_filter = ["status", "published", ActiveInYearFilter, "program", "fields", "partners__region"]
    list_select_related = ["program"]
    search_fields = ["title", "slug", "description", "partners__name", "fields__name"]
    date_hierarchy = "updated"
    autocomplete_fields = ["program", "partners", "fields"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["version", "created", "updated"]
    inlines = [ActivityInline, citation_inline("project")]
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
    inlines = [citation_inline("activity")]

    @admin.display(description=_("date"), ordering="year")
    def date(self, obj):
        return obj.date_display


@admin.register(Field)
class FieldAdmin(HistoryAdmin):
    list_display = ["name", "name_ja", "slug"]
    search_fields = ["name", "name_ja", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [citation_inline("field")]


@admin.register(Program)
class ProgramAdmin(HistoryAdmin):
    list_display = ["name", "name_ja", "start_year", "slug"]
    search_fields = ["name", "name_ja", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [citation_inline("program")]


@admin.register(Source)
class SourceAdmin(HistoryAdmin):
    list_display = ["title", "author", "year", "filename"]
    list_filter = ["year"]
    search_fields = ["title", "author", "publisher"]


@admin.register(Citation)
class CitationAdmin(HistoryAdmin):
    list_display = ["source", "section", "short_excerpt", "target"]
    list_filter = ["source"]
    list_select_related = ["source", "partner", "field", "program", "project", "activity"]
    search_fields = ["excerpt", "section", "project__title", "partner__name", "activity__title"]
    autocomplete_fields = ["source", "partner", "field", "program", "project", "activity"]

    @admin.display(description=_("excerpt"))
    def short_excerpt(self, obj):
        return obj.excerpt if len(obj.excerpt) <= 80 else obj.excerpt[:77] + "…"
