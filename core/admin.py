"""The admin bases every app's back office is built on: autocompletes that survive bad
input, bounded search, change history, and spreadsheet import and export with a preview
that is all or nothing."""

import itertools
import logging
import re

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connections, transaction
from django.db.models import QuerySet
from django.http import HttpResponseRedirect, QueryDict
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.text import capfirst, smart_split
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from import_export.admin import ImportExportModelAdmin
from import_export.formats.base_formats import XLSX
from import_export.tmp_storages import CacheStorage
from simple_history.admin import SimpleHistoryAdmin

from core import review
from core.filtersets import MAX_SEARCH_TERMS
from core.forms import OptimisticLockForm, SpreadsheetConfirmImportForm, SpreadsheetImportForm
from core.history import (
    RestoreError,
    children_as_of,
    deleted_records,
    describe_children,
    has_children,
    history_m2m_fields,
    link_label,
    link_states,
    linked_ids,
    restore_deleted,
    revert_children,
    set_links,
)
from core.models import CHANGE_REASON_MAX, OneHistoryEntry, PublicationState, is_liaison, reason_problem
from core.resources import SpreadsheetCSV, SpreadsheetCSVForExcel, SpreadsheetXLSX

logger = logging.getLogger(__name__)


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
    """Search that treats a NUL character as the end of the term (PostgreSQL text cannot
    hold one, and a search for it would otherwise be a server error), and that uses the
    first MAX_SEARCH_TERMS words only, saying so. A partner's liaison officer is never
    staff here, whatever groups they are in (core.models.is_liaison)."""

    def has_module_permission(self, request):
        return not is_liaison(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return not is_liaison(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return not is_liaison(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return not is_liaison(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not is_liaison(request.user) and super().has_delete_permission(request, obj)

    def get_search_results(self, request, queryset, search_term):
        search_term = search_term.split("\x00", 1)[0]
        # Words as the admin splits them (a quoted phrase is one), and no more than needed.
        words = list(itertools.islice(smart_split(search_term), MAX_SEARCH_TERMS + 1))
        if len(words) > MAX_SEARCH_TERMS:
            search_term = " ".join(words[:MAX_SEARCH_TERMS])
            match = getattr(request, "resolver_match", None)
            if not getattr(request, "_search_bounded", False) and getattr(match, "url_name", "") != "autocomplete":
                request._search_bounded = True  # one message, however often the list asks
                self.message_user(
                    request,
                    _("Only the first %(count)s words were searched: search with fewer words to use all of them.")
                    % {"count": MAX_SEARCH_TERMS},
                    messages.WARNING,
                )
        return super().get_search_results(request, queryset, search_term)


class HistoryAdmin(SafeSearchAdmin, SimpleHistoryAdmin):
    """The change history with revert: one entry per save (core.models.OneHistoryEntry:
    the record's save and its links, saved after it, make one entry)."""

    def save_model(self, request, obj, form, change):
        edited = form.edited() if hasattr(form, "edited") else form.has_changed()
        if change and not edited and not getattr(request, "_reverting", False):
            # Nothing of the record's own changed (its inline rows may have): no save, so
            # no new version and no empty history entry. A revert always saves.
            return
        request._history_entry = OneHistoryEntry(type(obj)).begin()
        reason = form.cleaned_data.get("change_reason") if hasattr(form, "cleaned_data") else None
        if reason:
            obj._change_reason = reason
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        entry = getattr(request, "_history_entry", None)
        if entry is None and change and self._links_changed(formsets):
            # Only links edited in an inline (a partner or its role): they are the record's
            # own, so it is saved (a new version, checked against the one loaded) and its
            # history entry holds them.
            entry = OneHistoryEntry(type(form.instance)).begin()
            form.instance._history_user = request.user
            form.instance.save()
        if entry is not None:
            entry.end(form.instance)

    def delete_view(self, request, object_id, extra_context=None):
        """Django's delete confirmation; a record of a published one (an activity of a
        published project) is deleted only with a reason, asked for on the page, and kept
        in its history (core.models.reason_problem)."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None or reason_problem(obj, {}, None) is None:
            return super().delete_view(request, object_id, extra_context)
        extra_context = {**(extra_context or {}), "asks_reason": True, "max_length": CHANGE_REASON_MAX}
        reason = (request.POST.get("change_reason") or "").strip()
        if request.method == "POST" and (not reason or len(reason) > CHANGE_REASON_MAX):
            extra_context["reason_error"] = (
                reason_problem(obj, {}, None)[1]
                if not reason
                else _("At most %(max)s characters.") % {"max": CHANGE_REASON_MAX}
            )
            extra_context["reason"] = reason
            request.POST = QueryDict()  # shown again, with the error, and nothing deleted
        return super().delete_view(request, object_id, extra_context)

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        if isinstance(objs, QuerySet) and any(reason_problem(obj, {}, None) for obj in objs):
            # The bulk action asks no reason: a part of a published record is deleted on
            # its own page, which asks for one (delete_view).
            perms_needed = {
                *perms_needed,
                str(_("parts of published records (delete each on its page, with a reason)")),
            }
        return deleted, counts, perms_needed, protected

    def delete_model(self, request, obj):
        reason = (request.POST.get("change_reason") or "").strip()
        if reason:
            obj._change_reason = reason
        super().delete_model(request, obj)

    def _create_formsets(self, request, obj, change):
        formsets, inline_instances = super()._create_formsets(request, obj, change)
        # The page's form asks for a change reason when only an inline row changed too.
        obj._admin_formsets = formsets
        return formsets, inline_instances

    def _links_changed(self, formsets):
        throughs = {field.remote_field.through for field in history_m2m_fields(self.model)}
        return any(formset.model in throughs and formset.has_changed() for formset in formsets)

    def _url_name(self, view, *, admin=True):
        name = f"{self.opts.app_label}_{self.opts.model_name}_{view}"
        return f"admin:{name}" if admin else name

    def get_urls(self):
        views = [
            path(
                "deleted/", self.admin_site.admin_view(self.deleted_view), name=self._url_name("deleted", admin=False)
            ),
            path(
                "deleted/<int:history_id>/restore/",
                self.admin_site.admin_view(self.restore_deleted_view),
                name=self._url_name("restore_deleted", admin=False),
            ),
        ]
        return [*views, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        if self.has_add_permission(request):
            extra_context = {**(extra_context or {}), "deleted_url": reverse(self._url_name("deleted"))}
        return super().changelist_view(request, extra_context)

    def deleted_view(self, request):
        """The deleted records of this model, newest first, each with what it was and who
        deleted it, and a button that restores it (core.history.restore_deleted), for
        staff who may add records of this model."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        records = list(deleted_records(self.model)[:200])
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Deleted %(name)s") % {"name": self.opts.verbose_name_plural},
            "records": [{"record": r, "name": str(r.instance)} for r in records],
        }
        return TemplateResponse(request, "admin/deleted_records.html", context)

    def restore_deleted_view(self, request, history_id):
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return redirect(self._url_name("deleted"))
        try:
            restored = restore_deleted(self.model, history_id, request.user)
        except RestoreError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return redirect(self._url_name("deleted"))
        except (ValidationError, IntegrityError) as exc:
            self.message_user(request, _("It could not be restored: %(problem)s") % {"problem": exc}, messages.ERROR)
            return redirect(self._url_name("deleted"))
        others = len(restored) - 1
        self.message_user(
            request,
            ngettext(
                "Restored “%(name)s”, with %(count)d record deleted with it.",
                "Restored “%(name)s”, with %(count)d records deleted with it.",
                others,
            )
            % {"name": restored[0], "count": others},
            messages.SUCCESS,
        )
        return redirect(self._url_name("change"), restored[0].pk)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        """The revert form, filled with the record as it was at that version, its links
        included (django-simple-history fills links as they are now, so a revert would
        silently keep today's partners and fields), and saying what reverting changes."""
        request._reverting = True
        record = self.model.history.filter(history_id=version_id, id=object_id).first()
        current = self.model._default_manager.filter(pk=object_id).first()
        if record is None or current is None:
            return super().history_form_view(request, object_id, version_id, extra_context)
        try:
            return self._revert_form(request, record, current, object_id, version_id, extra_context)
        except (ValidationError, IntegrityError) as exc:
            # A row of then that the database or the model refuses now: nothing written.
            problem = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            self.message_user(
                request, _("It could not be reverted: %(problem)s") % {"problem": problem}, messages.ERROR
            )
            return redirect(self._url_name("history"), object_id)

    def _revert_form(self, request, record, current, object_id, version_id, extra_context):
        with transaction.atomic():
            links, changes = self._revert_changes(record, current)
            # The child rows as they were at that version (core.history.children_as_of):
            # shown on the form, and carried out with the revert (log_change, below).
            when = record.history_date
            request._revert_children = (when, children_as_of(self.model, current.pk, when))
            request._revert_links = links
            request._revert_record = record
            extra_context = {
                **(extra_context or {}),
                "restore_changes": changes,
                "restore_children": describe_children(request._revert_children[1]),
                "reverts_children": has_children(self.model),
            }
            return super().history_form_view(request, object_id, version_id, extra_context)

    def log_change(self, request, obj, message):
        # django-simple-history's revert saves the record and its links, then logs the
        # change (it does not call save_related): the child rows follow here, then the
        # record's entries fold into one, dated after them.
        reverting = getattr(request, "_revert_children", None)
        if reverting is not None and request.method == "POST":
            when, plan = reverting
            # Links with columns of their own (a partner's role) are edited in an inline,
            # not on the form, which the revert view does not show: set here, as they were.
            for field in history_m2m_fields(self.model):
                if not field.remote_field.through._meta.auto_created:
                    set_links(obj, field, request._revert_record)
            revert_children(self.model, obj.pk, when, request.user, plan)
            entry = getattr(request, "_history_entry", None)
            if entry is not None:
                entry.end(obj)
        return super().log_change(request, obj, message)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        links = getattr(request, "_revert_links", None)
        if not links:
            return form_class

        class RevertForm(form_class):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                for name, ids in links.items():
                    if name in self.fields:
                        self.initial[name] = ids

        return RevertForm

    def _revert_changes(self, record, current):
        """The links of that version ({name: ids}) and what reverting changes: each field
        whose value differs, each link added or removed."""
        links, changes = {}, []
        for field in history_m2m_fields(self.model):
            links[field.name] = linked_ids(record, field)
            then, now = link_states(field, record=record), link_states(field, obj=current)
            related = field.related_model._default_manager.in_bulk([*then, *now])
            added = sorted(link_label(field, related.get(pk, pk), then[pk]) for pk in then if now.get(pk) != then[pk])
            removed = sorted(link_label(field, related.get(pk, pk), now[pk]) for pk in now if then.get(pk) != now[pk])
            if added or removed:
                changes.append({"field": field.verbose_name, "added": added, "removed": removed})
        then_instance = record.instance
        for field in self.model._meta.concrete_fields:
            if not field.editable or field.primary_key or field.name in {"version", "created", "updated"}:
                continue
            then, now = field.value_from_object(then_instance), field.value_from_object(current)
            if then != now:
                changes.append({"field": field.verbose_name, "then": then, "now": now})
        return links, changes


class ImportUploadStorage(CacheStorage):
    """An uploaded file, kept in the shared cache between an import's preview and its
    confirmation. It is removed when the import is confirmed or cancelled, and forgotten
    after an hour when the preview is left (import-export keeps it for a day)."""

    CACHE_LIFETIME = 60 * 60


# The names import-export gives kept uploads (uuid4().hex); a confirmation or a
# cancellation naming anything else is forged.
_UPLOAD_NAME = re.compile(r"[0-9a-f]{32}")


class SpreadsheetAdmin(ImportExportModelAdmin, HistoryAdmin):
    """Import/export as CSV or XLSX (with a preview before anything is written), plus
    the change history with revert.

    An import is all or nothing: a file that cannot be read, or any row that does not
    validate, at the preview or at the confirmation, imports nothing. The file is kept
    for the confirmation only when its preview can be confirmed."""

    import_formats = [SpreadsheetCSV, SpreadsheetXLSX]
    export_formats = [SpreadsheetCSV, XLSX, SpreadsheetCSVForExcel]
    import_form_class = SpreadsheetImportForm
    confirm_form_class = SpreadsheetConfirmImportForm
    import_template_name = "admin/import_export/tracker_import.html"
    export_template_name = "admin/import_export/tracker_export.html"
    tmp_storage_class = ImportUploadStorage
    # A preview lists this many rows at most, and says how many more there are.
    preview_rows = 100

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_cancel_import"
        cancel = path("cancel_import/", self.admin_site.admin_view(self.cancel_import), name=name)
        return [cancel, *super().get_urls()]

    def get_import_data_kwargs(self, **kwargs):
        # Also roll back on validation errors at the confirmation (import-export writes
        # the valid rows of a file by default): a row can turn invalid between preview
        # and confirmation, when another editor saves the record in between. The reason
        # given with the upload goes into every history entry the import writes.
        form = kwargs.get("form")
        reason = form.cleaned_data.get("change_reason") if form is not None and hasattr(form, "cleaned_data") else None
        return {
            **super().get_import_data_kwargs(**kwargs),
            "rollback_on_validation_errors": True,
            "change_reason": reason or None,
        }

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            initial["change_reason"] = import_form.cleaned_data.get("change_reason", "")
        return initial

    def import_action(self, request, **kwargs):
        """The preview, as import-export's, but on the rows the form has already read and
        checked (not read a second time), and keeping the file for the confirmation only
        when the preview can be confirmed. A cache that cannot keep it gets a message."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        context = self.get_import_context_data()
        form = self.create_import_form(request)
        if request.POST and form.is_valid():
            upload = form.cleaned_data["import_file"]
            resource = self.choose_import_resource_class(form, request)(
                **self.get_import_resource_kwargs(request, form=form, **kwargs)
            )
            resources = [resource]
            result = resource.import_data(
                form.dataset,
                dry_run=True,
                raise_errors=False,
                file_name=upload.name,
                user=request.user,
                **self.get_import_data_kwargs(request=request, form=form, **kwargs),
            )
            context.update(self._shown_rows(result))
            if not result.has_errors() and not result.has_validation_errors() and self._keep_upload(form, upload):
                context["confirm_form"] = self.create_confirm_form(request, import_form=form)
        else:
            resource_kwargs = self.get_import_resource_kwargs(request=request, form=form, **kwargs)
            resources = [
                resource_class(**resource_kwargs) for resource_class in self.get_import_resource_classes(request)
            ]
        context.update(self.admin_site.each_context(request))
        context.update(
            {
                "title": _("Import"),
                "form": form,
                "opts": self.model._meta,
                "media": self.media + form.media,
                "fields_list": [
                    (resource.get_display_name(), [f.column_name for f in resource.get_user_visible_fields()])
                    for resource in resources
                ],
                "import_error_display": self.import_error_display,
            }
        )
        request.current_app = self.admin_site.name
        return TemplateResponse(request, [self.import_template_name], context)

    def _shown_rows(self, result):
        """The result, and the rows a preview lists: the first `preview_rows` of each kind."""
        valid, invalid = result.valid_rows(), result.invalid_rows
        errors = list(result.row_errors())
        limit = self.preview_rows
        return {
            "result": result,
            "shown_valid_rows": valid[:limit],
            "more_valid_rows": max(0, len(valid) - limit),
            "shown_invalid_rows": invalid[:limit],
            "more_invalid_rows": max(0, len(invalid) - limit),
            "shown_row_errors": errors[:limit],
            "more_row_errors": max(0, len(errors) - limit),
        }

    def _keep_upload(self, form, upload):
        """Keep the file for the confirmation; False, with the file's error, if the cache
        cannot keep it."""
        input_format = self.get_import_formats()[int(form.cleaned_data["format"])]()
        try:
            stored = self.write_to_tmp_storage(upload, input_format)
        except Exception:  # the cache backend's errors (Redis down, full, timing out) vary
            logger.exception("could not keep an uploaded import file in the cache")
            form.add_error(
                "import_file",
                _("The file could not be kept for the confirmation: the server's cache is not answering. Nothing was "
                  "imported; try again in a few minutes."),
            )  # fmt: skip
            return False
        upload.tmp_storage_name = stored.name
        return True

    def _upload(self, name, input_format=None):
        binary = input_format is None or input_format.is_binary()
        return self.get_tmp_storage_class()(
            name=name,
            encoding=None if binary else self.from_encoding,
            read_mode=input_format.get_read_mode() if input_format else "rb",
            **self.get_tmp_storage_class_kwargs(),
        )

    @staticmethod
    def _remove_upload(upload):
        try:
            upload.remove()
        except Exception:  # it expires on its own (ImportUploadStorage)
            logger.exception("could not remove an uploaded import file from the cache")

    @method_decorator(require_POST)
    def process_import(self, request, **kwargs):
        """The confirmation step, as import-export's, but a forged or expired form, or a
        file whose rows no longer validate, is answered with a message and imports
        nothing (rather than a server error or a partial import). The kept file is
        removed, whatever the outcome: a refused confirmation starts again from the upload."""
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
        upload = self._upload(confirm_form.cleaned_data["import_file_name"], input_format)
        try:
            data = upload.read()
        except Exception:  # the cache backend's errors vary
            logger.exception("could not read an uploaded import file back from the cache")
            messages.error(
                request,
                _("Nothing was imported: the uploaded file could not be read back, the server's cache is not "
                  "answering. Try again in a few minutes."),
            )  # fmt: skip
            return again
        if data is None:
            messages.error(request, _("Nothing was imported: the uploaded file has expired. Upload it again."))
            return again
        try:
            dataset = input_format.create_dataset(data)
        except Exception:  # it was read at the preview; only a forged file name gets here
            self._remove_upload(upload)
            messages.error(request, _("Nothing was imported: the uploaded file could not be read. Upload it again."))
            return again
        try:
            result = self.process_dataset(dataset, confirm_form, request, **kwargs)
        finally:
            self._remove_upload(upload)
        if result.has_errors() or result.has_validation_errors():
            messages.error(request, _("Nothing was imported: %(problems)s") % {"problems": _result_problems(result)})
            return again
        return self.process_result(result, request)

    @method_decorator(require_POST)
    def cancel_import(self, request):
        """The preview's Cancel: the kept file is removed, nothing is imported."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        confirm_form = self.create_confirm_form(request)
        if confirm_form.is_valid() and _UPLOAD_NAME.fullmatch(confirm_form.cleaned_data["import_file_name"]):
            self._remove_upload(self._upload(confirm_form.cleaned_data["import_file_name"]))
        messages.info(request, _("The import was cancelled: nothing was imported, and the uploaded file was deleted."))
        return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_import"))

    def _confirmed_format(self, request, confirm_form):
        """The input format the confirmation names, or None if the form is not one this
        admin could have made (a format or resource that does not exist, a file name it
        does not give)."""
        if not confirm_form.is_valid() or not _UPLOAD_NAME.fullmatch(confirm_form.cleaned_data["import_file_name"]):
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
        problems += [_("row %(number)s: %(problem)s") % {"number": number, "problem": e.error} for e in errors]
    for row in result.invalid_rows:
        for name, texts in row.error_dict.items():
            label = "" if name == "__all__" else f"{name}: "
            problems += [_("row %(number)s: %(problem)s") % {"number": row.number, "problem": f"{label}{text}"}
                         for text in texts]  # fmt: skip
    shown = "; ".join(str(p) for p in problems[:limit])
    if len(problems) > limit:
        shown += str(_(" (and %(count)s more)") % {"count": len(problems) - limit})
    return shown + "."


def citations_inline(model, target):
    """A tabular inline of `model` (a citation: source, section, excerpt) on the records
    it cites through its foreign key `target` (one FK per kind of record)."""
    fields = ["source", "section", "excerpt", "releasability", "loaded_version"]  # each row carries its version
    attrs = {"model": model, "fk_name": target, "extra": 0, "form": OptimisticLockForm, "fields": fields,
             "autocomplete_fields": ["source"]}  # fmt: skip
    return type(f"{target.title()}CitationInline", (CheckedAutocompleteMixin, admin.TabularInline), attrs)


class ReviewAdminMixin:
    """The review workflow in the admin (core.review), for a HistoryAdmin of a model
    published through review: bulk actions (submit and withdraw for editors, approve and
    send back for reviewers; sending back and withdrawing a published record ask for the
    words on a confirmation page), and the review queue (`review/`): each record in
    review with what changed since it was last published, and its approve and send-back
    buttons. A published record is withdrawn before it is deleted. A record added here
    starts as a draft; a revert keeps the record's publication state."""

    review_actions = ["submit_for_review", "approve_selected", "send_back_selected", "withdraw_selected"]
    import_export_change_list_template = "admin/review_change_list.html"

    def get_actions(self, request):
        actions = super().get_actions(request)
        for name in self.review_actions:
            func = getattr(type(self), name)
            if self._may_take(request, func.review_step):
                actions[name] = (func, name, func.short_description)
        return actions

    def _may_take(self, request, step):
        if step in (review.APPROVE, review.SEND_BACK):
            return review.may_review(request.user, self.model)
        return review.may_edit(request.user, self.model)

    def _take(self, request, step, queryset, text=None):
        done, refused = review.take_steps(step, queryset.order_by("pk"), request.user, text)
        if done:
            self.message_user(
                request,
                ngettext(
                    "%(step)s: done for %(count)d %(model)s.", "%(step)s: done for %(count)d %(models)s.", len(done)
                )
                % {
                    "step": review.STEP_LABELS[step],
                    "count": len(done),
                    "model": self.opts.verbose_name,
                    "models": self.opts.verbose_name_plural,
                },
                messages.SUCCESS,
            )
        for _record, why in refused[:20]:
            self.message_user(request, why, messages.ERROR)
        if len(refused) > 20:
            self.message_user(
                request, _("And %(count)d more were refused.") % {"count": len(refused) - 20}, messages.ERROR
            )

    def _with_words(self, request, queryset, step, *, required):
        """Take `step` with the words a confirmation page asks for; None shows the page."""
        text = request.POST.get("review_text")
        if text is not None and request.POST.get("review_confirmed"):
            text = text.strip()
            if (text or not required(queryset)) and len(text) <= CHANGE_REASON_MAX:
                self._take(request, step, queryset, text)
                return None
            error = (
                _("The words are required here.")
                if not text
                else _("At most %(max)s characters.") % {"max": CHANGE_REASON_MAX}
            )
        else:
            error, text = None, ""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": review.STEP_LABELS[step],
            "step": step,
            "records": list(queryset.order_by("pk")[:200]),
            "count": queryset.count(),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "action": request.POST.get("action", ""),
            "text": text,
            "error": error,
            "max_length": CHANGE_REASON_MAX,
            "label": _("Comment for the editor") if step == review.SEND_BACK else _("Reason (shown in the history)"),
        }
        return TemplateResponse(request, "admin/review_step.html", context)

    @admin.action(description=_("Submit selected for review"))
    def submit_for_review(self, request, queryset):
        self._take(request, review.SUBMIT, queryset)

    submit_for_review.review_step = review.SUBMIT

    @admin.action(description=_("Approve and publish selected"))
    def approve_selected(self, request, queryset):
        self._take(request, review.APPROVE, queryset)

    approve_selected.review_step = review.APPROVE

    @admin.action(description=_("Send selected back to draft (with a comment)"))
    def send_back_selected(self, request, queryset):
        return self._with_words(request, queryset, review.SEND_BACK, required=lambda qs: True)

    send_back_selected.review_step = review.SEND_BACK

    @admin.action(description=_("Withdraw selected to draft"))
    def withdraw_selected(self, request, queryset):
        published = lambda qs: qs.filter(publication_state=PublicationState.PUBLISHED).exists()  # noqa: E731
        return self._with_words(request, queryset, review.WITHDRAW, required=published)

    withdraw_selected.review_step = review.WITHDRAW

    # -- Deleting, adding, reverting -------------------------------------------------

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_published():
            return False  # withdrawn first (with a reason), then deleted
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request, queryset):
        published = queryset.filter(publication_state=PublicationState.PUBLISHED)
        if published.exists():
            self.message_user(
                request,
                _("%(names)s: published, so not deleted. Withdraw a record (with a reason) before deleting it.")
                % {"names": ", ".join(str(r) for r in published[:10])},
                messages.ERROR,
            )
            queryset = queryset.exclude(pk__in=published.values("pk"))
        super().delete_queryset(request, queryset)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.publication_state = PublicationState.DRAFT  # published only through review
        elif getattr(request, "_reverting", False):
            # An old version's content, not its publication: that changes only through review.
            stored = type(obj)._base_manager.filter(pk=obj.pk).values_list("publication_state", flat=True).first()
            if stored is not None:
                obj.publication_state = stored
        super().save_model(request, obj, form, change)

    # -- The review queue ------------------------------------------------------------

    def get_urls(self):
        queue = path(
            "review/", self.admin_site.admin_view(self.review_queue_view), name=self._url_name("review", admin=False)
        )
        return [queue, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        if review.may_review(request.user, self.model) or review.may_edit(request.user, self.model):
            waiting = self.model._default_manager.filter(publication_state=PublicationState.IN_REVIEW).count()
            extra_context = {
                **(extra_context or {}),
                "review_url": reverse(self._url_name("review")),
                "review_count": waiting,
            }
        return super().changelist_view(request, extra_context)

    def review_queue_view(self, request):
        """What waits for review, oldest submission first, each with the changes since its
        last published version (all its fields when never published) and, for reviewers,
        approve and send-back buttons; a POST takes one step on one record, refused if
        the record changed since the page showed it (its version)."""
        if not (review.may_review(request.user, self.model) or review.may_edit(request.user, self.model)):
            raise PermissionDenied
        if request.method == "POST":
            return self._review_post(request)
        waiting = self.model._default_manager.filter(publication_state=PublicationState.IN_REVIEW).order_by(
            "updated", "pk"
        )
        items = []
        for record in waiting[:100]:
            then = review.published_version(record)
            if then is not None:
                # As the revert form lists them: "then" is the published version, "now" the proposed;
                # and its parts (activities, reports, citations) added, deleted or changed since.
                _links, changes = self._revert_changes(then, record)
                parts = describe_children(children_as_of(self.model, record.pk, then.history_date))
            else:
                changes, parts = None, []
            items.append(
                {
                    "record": record,
                    "changes": changes,
                    "parts": parts,
                    "published_at": then.history_date if then is not None else None,
                    "changer": review.latest_changer(record),
                    "may_approve": review.step_problem(review.APPROVE, record, request.user) is None,
                    "may_send_back": review.may_review(request.user, self.model),
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("%(models)s waiting for review") % {"models": capfirst(self.opts.verbose_name_plural)},
            "items": items,
            "count": waiting.count(),
            "max_length": CHANGE_REASON_MAX,
        }
        return TemplateResponse(request, "admin/review_queue.html", context)

    def _review_post(self, request):
        step, pk = request.POST.get("step"), request.POST.get("pk") or ""
        record = self.model._default_manager.filter(pk=int(pk)).first() if pk.isdigit() else None
        if step not in (review.APPROVE, review.SEND_BACK) or record is None:
            self.message_user(request, _("Nothing was done: the request named no record or step."), messages.ERROR)
        elif str(record.version) != request.POST.get("version"):
            self.message_user(
                request,
                _("“%(record)s” changed since the queue showed it: nothing was done; look at it again.")
                % {"record": record},
                messages.ERROR,
            )
        else:
            try:
                review.take_step(step, record, request.user, request.POST.get("comment", ""))
            except review.ReviewRefused as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, f"{review.STEP_LABELS[step]}: “{record}”.", messages.SUCCESS)
        return redirect(self._url_name("review"))
