"""The forms several apps' admins share: optimistic locking for records two editors may
open at once, and the spreadsheet import form that refuses a file it cannot import,
saying why."""

import codecs
import io
import zipfile

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import formats
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from import_export.forms import ConfirmImportForm, ImportForm

from core.models import CHANGE_REASON_MAX, ReleasableModel, changed_by_and_when, reason_problem, release_changed
from core.resources import IMPORT_MAX_ROWS, TooManyRows, is_empty_row


class OptimisticLockForm(forms.ModelForm):
    """Carries the version the editor loaded; a save is refused when the stored version
    has moved on since (someone else saved in between). The stored row is locked
    (`select_for_update`) inside the admin's transaction, so the check and the save
    cannot be split by another save.

    The same form serves as an inline row (an activity or citation on its project's
    page): each row carries its own version. A row the editor changed is checked like a
    page; a row left as it was is not saved by the formset, so it is not checked either,
    and an edit made meanwhile on that record's own page stays."""

    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    change_reason = forms.CharField(
        label=_("Reason for this change"),
        required=False,
        max_length=CHANGE_REASON_MAX,
        help_text=_(
            "Shown in the history. Required for a change to a published record, and when the releasability changes."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            if self.prefix is None:
                # A page: the stored version, not the instance's (a revert form holds an
                # old copy). An inline row's instance was just read with its version.
                model = type(self.instance)
                stored = model.objects.filter(pk=self.instance.pk).values_list("version", flat=True).first()
            else:
                stored = self.instance.version
            self.fields["loaded_version"].initial = stored

    def _update_errors(self, errors):
        """The model's rules may name a field this form does not show (an inline row's
        releasability list, kept on the record's own page): such a message is shown on
        the form as a whole, naming the field, rather than failing the request."""
        if hasattr(errors, "error_dict"):
            absent = [name for name in errors.error_dict if name != NON_FIELD_ERRORS and name not in self.fields]
            for name in absent:
                label = self.instance._meta.get_field(name).verbose_name
                messages = errors.error_dict.pop(name)
                errors.error_dict.setdefault(NON_FIELD_ERRORS, []).extend(
                    ValidationError(f"{capfirst(label)}: {message}") for e in messages for message in e.messages
                )
        super()._update_errors(errors)

    def _inlines_changed(self) -> bool:
        """Whether an inline row of the page changed (the admin hands the page's formsets
        to its record: core.admin.HistoryAdmin._create_formsets)."""
        return any(formset.has_changed() for formset in getattr(self.instance, "_admin_formsets", ()))

    def edited(self) -> bool:
        """Whether the editor changed anything (the version carried along is not an edit)."""
        return any(name not in ("loaded_version", "change_reason") for name in self.changed_data)

    def clean(self):
        cleaned = super().clean()
        if self.prefix is None and self.instance.pk and (self.edited() or self._inlines_changed()):
            # A page (not an inline row, which the page's reason covers) that changes a
            # published record, or who may see a record, says why, for the history; a
            # published record is widened only through review (core.models.reason_problem).
            # The instance is still the stored record here (the form fills it after clean).
            values = {name: cleaned[name] for name in ("releasability", "releasable_to") if name in cleaned}
            problem = reason_problem(self.instance, values, cleaned.get("change_reason"))
            if problem is not None:
                name, message = problem
                self.add_error(name if name in self.fields else "change_reason", message)
        if not self.instance.pk or (self.prefix is not None and not self.edited()):
            return cleaned
        model = type(self.instance)
        stored = model.objects.select_for_update().filter(pk=self.instance.pk).values_list("version", flat=True).first()
        if stored is None:
            # Deleted while the form was open (or while this save waited for the lock):
            # saving would create it again.
            raise ValidationError(
                _("This %(model)s was deleted since you opened it. Your changes were not saved.")
                % {"model": model._meta.verbose_name},
                code="deleted",
            )
        loaded = cleaned.get("loaded_version")
        if stored is not None and loaded != stored:
            last = self.instance.history.order_by("-history_date").select_related("history_user").first()
            who, when = changed_by_and_when(last)
            raise ValidationError(
                _(
                    "This %(model)s was changed by %(who)s at %(when)s since you opened it. Your changes were "
                    "not saved: reload the page to see the latest version, then make your changes again."
                )
                % {"model": model._meta.verbose_name, "who": who, "when": when},
                code="stale",
            )
        return cleaned


# An import file larger than this is refused before it is read: the file waits in the
# cache between preview and confirmation, and a spreadsheet of the tracker's size is a
# few hundred kilobytes.
IMPORT_MAX_BYTES = 2 * 1024 * 1024


# An XLSX file is a zip archive; refuse one that would unpack to more than this (a small
# file can hide a huge workbook). A workbook of IMPORT_MAX_ROWS ordinary rows unpacks to a
# few megabytes; this much text still imports well inside a server worker's time limit.
IMPORT_MAX_UNPACKED_BYTES = 20 * 1024 * 1024


def _dataset(input_format, content, name, unreadable):
    """The file's rows; a file with too many is refused saying so, and one the format cannot
    read with `unreadable` (which takes %(name)s and %(problem)s)."""
    try:
        return input_format.create_dataset(content)
    except TooManyRows as exc:
        raise _too_many_rows(exc) from None
    except Exception as exc:
        raise ValidationError(unreadable % {"name": name, "problem": _describe(exc)}, code="malformed") from None


def _size(n):
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def release_changing_lines(model, dataset) -> list[int]:
    """The spreadsheet lines (the header is line 1) of the file's rows that would change
    the releasability, or the partners releasable to, of a stored record of `model`
    (core.models.release_changed): one query for the stored records, one for the
    partners the cells name."""
    headers = set(dataset.headers or [])
    if not issubclass(model, ReleasableModel) or "slug" not in headers:
        return []
    if not headers & {"releasability", "releasable_to"}:
        return []
    rows = list(dataset.dict)
    slug_of = lambda row: str(row.get("slug") or "").strip()  # noqa: E731
    stored = model._default_manager.filter(slug__in=[slug_of(row) for row in rows]).only(
        "slug", "releasability", "releasable_to"
    )
    stored = {record.slug: record for record in stored}
    cells = {row_number: _names(row.get("releasable_to")) for row_number, row in enumerate(rows)}
    partners = model._meta.get_field("releasable_to").related_model()._default_manager
    named = set().union(*cells.values()) if cells else set()
    ids = dict(partners.filter(slug__in=named).values_list("slug", "pk")) if named else {}
    lines = []
    for row_number, row in enumerate(rows):
        record = stored.get(slug_of(row))
        if record is None:
            continue  # a new record has no history to explain
        values = {}
        if "releasability" in headers:
            values["releasability"] = str(row.get("releasability") or "").strip() or record.releasability
        if "releasable_to" in headers:
            values["releasable_to"] = sorted({ids.get(slug, -1) for slug in cells[row_number]})
        if release_changed(record, values):
            lines.append(row_number + 2)
    return lines


def _names(cell) -> set[str]:
    return {name.strip() for name in str(cell or "").split(",") if name.strip()}


class SpreadsheetImportForm(ImportForm):
    """The admin's import form, refusing with a message that names the problem a file
    that is too large, of the wrong type, wrongly encoded, unreadable, whose columns are
    not the resource's, with more rows than an import may have (IMPORT_MAX_ROWS), with
    no rows but empty ones (or an empty row between the records), or with two rows for
    one record, before anything is read into the database."""

    change_reason = forms.CharField(
        label=_("Reason for this change"),
        required=False,
        max_length=CHANGE_REASON_MAX,
        help_text=_("Shown in the history of every record the file changes. Required when it changes a releasability."),
    )

    def __init__(self, formats, resources, **kwargs):
        super().__init__(formats, resources, **kwargs)
        self._formats = formats
        self._resources = resources
        self.dataset = None

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        if upload.size > IMPORT_MAX_BYTES:
            raise ValidationError(
                _("The file is %(size)s; an import file may be at most %(limit)s. Split it into smaller files.")
                % {"size": _size(upload.size), "limit": _size(IMPORT_MAX_BYTES)},
                code="too_large",
            )
        if upload.size == 0:
            raise ValidationError(_("The file is empty."), code="empty")
        return upload

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("import_file")
        try:
            format_class = self._formats[int(cleaned.get("format"))]
            resource_class = self._resources[int(cleaned.get("resource") or 0)]
        except (TypeError, ValueError, IndexError):
            return cleaned  # the format and resource fields report their own errors
        if upload is None:
            return cleaned
        try:
            self.dataset = self._read(upload, format_class())
            self._check_columns(resource_class)
        except ValidationError as exc:
            self.add_error("import_file", exc)
        finally:
            upload.seek(0)
        if self.dataset is not None and not cleaned.get("change_reason"):
            lines = release_changing_lines(resource_class._meta.model, self.dataset)
            if lines:
                self.add_error(
                    "change_reason",
                    ValidationError(
                        _("Lines %(lines)s change who may see their records (their releasability): say why.")
                        % {"lines": ", ".join(str(n) for n in lines[:20])},
                        code="reason_required",
                    ),
                )
        return cleaned

    def _read(self, upload, input_format):
        name = upload.name or ""
        extension = input_format.get_extension()
        title = input_format.get_title().upper()
        if not name.lower().endswith(f".{extension}"):
            raise ValidationError(
                _("“%(name)s” is not a %(format)s file: its name should end in .%(ext)s. Choose a %(format)s "
                  "file, or the format that matches the file.")
                % {"name": name, "format": title, "ext": extension},
                code="wrong_type",
            )  # fmt: skip
        upload.seek(0)
        data = upload.read()
        if input_format.is_binary():
            return self._read_xlsx(data, input_format, name)
        return self._read_text(data, input_format, name)

    def _read_text(self, data, input_format, name):
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
            raise ValidationError(
                _("“%(name)s” is UTF-16 (or UTF-32) text; save it as “CSV UTF-8” and import that file.")
                % {"name": name},
                code="encoding",
            )
        if b"\x00" in data:
            raise ValidationError(
                _("“%(name)s” contains NUL bytes: it is a binary file (or UTF-16 text), not a CSV file.")
                % {"name": name},
                code="binary",
            )
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise ValidationError(
                _("“%(name)s” is not UTF-8 text: byte 0x%(byte)02x on line %(line)s cannot be read (a Latin-1 or "
                  "Windows file?). Save it as “CSV UTF-8” and import that file.")
                % {"name": name, "byte": data[exc.start], "line": line},
                code="encoding",
            ) from None  # fmt: skip
        # tablib and the csv module raise several types
        return _dataset(
            input_format, text, name,
            _("“%(name)s” could not be read as CSV: %(problem)s. Every row must have as many cells as the header."),
        )  # fmt: skip

    def _read_xlsx(self, data, input_format, name):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                unpacked = sum(info.file_size for info in archive.infolist())
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError):
            raise ValidationError(
                _("“%(name)s” is not a valid XLSX workbook (the file is damaged or of another type). Save it again "
                  "from your spreadsheet program as “Excel Workbook (.xlsx)”.")
                % {"name": name},
                code="malformed",
            ) from None  # fmt: skip
        if unpacked > IMPORT_MAX_UNPACKED_BYTES:
            raise ValidationError(
                _("“%(name)s” unpacks to %(size)s; a workbook may unpack to at most %(limit)s.")
                % {"name": name, "size": _size(unpacked), "limit": _size(IMPORT_MAX_UNPACKED_BYTES)},
                code="too_large",
            )
        # openpyxl raises many types for a damaged workbook
        return _dataset(input_format, data, name, _("“%(name)s” could not be read as an XLSX workbook: %(problem)s."))

    def _check_columns(self, resource_class):
        headers = [str(h).strip() if h is not None else "" for h in (self.dataset.headers or [])]
        if not headers or not any(headers):
            raise ValidationError(_("The file has no header row: its first row must name the columns."), code="empty")
        if not len(self.dataset):
            empty = getattr(self.dataset, "empty_rows_at_end", 0)
            if empty:
                raise ValidationError(
                    ngettext(
                        "The file's only row under the header is empty: there is nothing to import.",
                        "The file's %(count)s rows under the header are all empty: there is nothing to import.",
                        empty,
                    )
                    % {"count": formats.number_format(empty, force_grouping=True)},
                    code="empty",
                )
            raise ValidationError(_("The file has a header row but no rows to import."), code="empty")
        resource = resource_class()
        known = [f.column_name for f in resource.get_user_visible_fields()]
        blank = [str(i + 1) for i, h in enumerate(headers) if not h]
        if blank:
            raise ValidationError(
                _("Column %(numbers)s of the header row has no name.") % {"numbers": ", ".join(blank)},
                code="columns",
            )
        duplicated = sorted({h for h in headers if headers.count(h) > 1})
        unknown = [h for h in headers if h not in known]
        missing = [c for c in getattr(resource, "required_columns", []) if c not in headers]
        problems = []
        if duplicated:
            problems.append(_("column(s) named twice: %(names)s") % {"names": ", ".join(duplicated)})
        if unknown:
            problems.append(_("unknown column(s): %(names)s") % {"names": ", ".join(unknown)})
        if missing:
            problems.append(_("missing column(s): %(names)s") % {"names": ", ".join(missing)})
        if problems:
            raise ValidationError(
                _("The file's columns do not fit: %(problems)s. The columns are: %(known)s.")
                % {"problems": "; ".join(str(p) for p in problems), "known": ", ".join(known)},
                code="columns",
            )
        self._check_rows(resource)

    def _check_rows(self, resource):
        # The first data row is line 2 of the file, as a spreadsheet program numbers it.
        empty = [str(line) for line, row in enumerate(self.dataset, start=2) if is_empty_row(row)]
        if empty:
            raise ValidationError(
                ngettext(
                    "Line %(lines)s of the file is empty (line 1 is the header): delete the empty row, then import "
                    "the file again.",
                    "Lines %(lines)s of the file are empty (line 1 is the header): delete the empty rows, then import "
                    "the file again.",
                    len(empty),
                )
                % {"lines": ", ".join(empty[:10]) + (" …" if len(empty) > 10 else "")},
                code="empty_rows",
            )
        problems = resource.file_problems(self.dataset)
        if problems:
            raise ValidationError(
                _("The file cannot be imported: %(problems)s.") % {"problems": "; ".join(problems)}, code="duplicates"
            )


def _too_many_rows(exc):
    limit = formats.number_format(IMPORT_MAX_ROWS, force_grouping=True)
    if exc.count is None:
        message = _(
            "The file has more than %(limit)s rows; an import may have at most %(limit)s rows under the header. "
            "Split it into smaller files."
        ) % {"limit": limit}
    else:
        message = _(
            "The file has %(count)s rows; an import may have at most %(limit)s rows under the header. Split it "
            "into smaller files."
        ) % {"count": formats.number_format(exc.count, force_grouping=True), "limit": limit}
    return ValidationError(message, code="too_many_rows")


def _describe(exc):
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "…"


class SpreadsheetConfirmImportForm(ConfirmImportForm):
    """The import's confirmation, carrying the reason given with the upload."""

    change_reason = forms.CharField(widget=forms.HiddenInput, required=False, max_length=CHANGE_REASON_MAX)
