"""Spreadsheet (CSV/XLSX) import and export, the base every app's resource is built on:
related records named by slug, optimistic locking by version, and a fixed number of
queries per file."""

import copy
import io
import operator

import tablib
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db import models, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.encoding import smart_str
from django.utils.translation import gettext as _
from django_countries import countries
from import_export import resources, widgets
from import_export.fields import Field as Column
from import_export.formats import base_formats
from import_export.instance_loaders import BaseInstanceLoader

from core.cache.version import data_changed
from core.db import take_ids, update_rows
from core.history import history_m2m_fields, link_columns
from core.models import PublicationState, ReviewedModel, changed_by_and_when, reason_problem
from core.spreadsheet import BOM, neutralise, restore

# The most data rows one import may have. A larger file is refused when it is read, so an
# import always finishes well inside a server worker's time limit (README, "Imports, bulk
# actions and concurrent editors").
IMPORT_MAX_ROWS = 5_000


class TooManyRows(ValueError):
    """A file with more data rows than an import may have; `count` is None when reading
    stopped at the limit."""

    def __init__(self, limit, count=None):
        super().__init__(limit, count)
        self.limit, self.count = limit, count


def is_empty_row(values) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def _drop_empty_end(dataset):
    """The dataset without the empty rows at its end (a spreadsheet program often keeps
    some), their number noted as `empty_rows_at_end`."""
    dropped = 0
    while len(dataset) and is_empty_row(dataset[-1]):
        del dataset[-1]
        dropped += 1
    dataset.empty_rows_at_end = dropped
    if len(dataset) > IMPORT_MAX_ROWS:
        raise TooManyRows(IMPORT_MAX_ROWS, len(dataset))
    return dataset


def _map_cells(dataset, function):
    """`dataset` with `function` applied to every cell, in place."""
    rows = [[function(cell) for cell in row] for row in dataset]
    del dataset[:]
    for row in rows:
        dataset.append(row)
    return dataset


class SpreadsheetCSV(base_formats.CSV):
    """CSV, without the empty rows at its end, and refused past IMPORT_MAX_ROWS rows.
    Written with the cells a spreadsheet would run as formulas neutralised, and read with
    that undone, so our own files round-trip exactly (core/spreadsheet.py)."""

    CONTENT_TYPE = "text/csv; charset=utf-8"

    def create_dataset(self, in_stream, **kwargs):
        dataset = _drop_empty_end(super().create_dataset(in_stream, **kwargs))
        empty_rows_at_end = dataset.empty_rows_at_end
        dataset = _map_cells(dataset, restore)
        dataset.empty_rows_at_end = empty_rows_at_end
        return dataset

    def export_data(self, dataset, **kwargs):
        return super().export_data(_map_cells(dataset, neutralise), **kwargs)


class SpreadsheetCSVForExcel(SpreadsheetCSV):
    """The same CSV, starting with a UTF-8 byte order mark, so that Excel reads it as
    UTF-8 (Japanese names included) when the file is opened by a double click. Reads as
    the plain CSV does (imports take either)."""

    def get_title(self):
        return "csv (Excel: UTF-8 with BOM)"

    def can_import(self):
        return False

    def export_data(self, dataset, **kwargs):
        return BOM + _map_cells(dataset, neutralise).export("csv", **kwargs)


class SpreadsheetXLSX(base_formats.XLSX):
    """The first sheet of a workbook, read only as far as an import may go: the cells it
    holds (not the rectangle its dimensions claim, which may be A1:XFD1048576 in a file of
    a few kilobytes), at most IMPORT_MAX_ROWS rows with a value, the empty rows at its
    end dropped. Values keep their types (numbers, booleans, dates), as import-export's
    XLSX reader gives them."""

    def create_dataset(self, in_stream):
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(in_stream), read_only=True, data_only=True)
        try:
            sheet = book.active
            sheet.reset_dimensions()
            rows = sheet.iter_rows(values_only=True)
            header = list(next(rows, ()))
            while header and is_empty_row(header[-1:]):
                header.pop()
            dataset = tablib.Dataset(headers=header)
            dataset.empty_rows_at_end = 0
            if not header:
                return dataset
            width, empty = len(header), 0
            for line, values in enumerate(rows, start=2):
                values = list(values)
                if len(values) > width:
                    if not is_empty_row(values[width:]):
                        raise ValueError(
                            _("line %(line)s has a value in a column to the right of the last named one")
                            % {"line": line}
                        )
                    del values[width:]
                if is_empty_row(values):
                    empty += 1
                    continue
                if len(dataset) + empty >= IMPORT_MAX_ROWS:
                    raise TooManyRows(IMPORT_MAX_ROWS)
                for _blank in range(empty):
                    dataset.append([None] * width)
                empty = 0
                dataset.append(values + [None] * (width - len(values)))
            dataset.empty_rows_at_end = empty
            return dataset
        finally:
            book.close()


def _slug(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a slug of digits a spreadsheet program took for a number
    return str(value).strip()


def _not_found(model, slug):
    return ValueError(_("no %(model)s with slug %(slug)s") % {"model": model._meta.verbose_name, "slug": repr(slug)})


class SlugForeignKeyWidget(widgets.ForeignKeyWidget):
    """A related record named by its slug; an unknown slug is an error reported with its
    row. An import reads every record the column names in one query (`prepare`)."""

    def __init__(self, model):
        super().__init__(model, field="slug")
        self._by_slug = None

    def prepare(self, values, resource):
        wanted = {_slug(v) for v in values} - {""}
        self._by_slug = {}
        if self.model is resource._meta.model:
            # A record's own kind (a partner's parent): the very objects the import updates,
            # so a later row sees what an earlier one changed.
            self._by_slug.update({slug: obj for slug, obj in resource.stored.items() if slug in wanted})
        missing = wanted - self._by_slug.keys()
        if missing:
            self._by_slug.update({obj.slug: obj for obj in self.model.objects.filter(slug__in=missing)})

    def prepared(self):
        return list((self._by_slug or {}).values())

    def remember(self, obj):
        """A record an earlier row of the import creates, which a later row may name."""
        if self._by_slug is not None and obj.slug:
            self._by_slug[obj.slug] = obj

    def clean(self, value, row=None, **kwargs):
        slug = _slug(value)
        if not slug:
            return None
        by_slug = self._by_slug
        if by_slug is None:  # outside an import
            by_slug = {obj.slug: obj for obj in self.model.objects.filter(slug=slug)}
        found = by_slug.get(slug)
        if found is None:
            raise _not_found(self.model, slug)
        return found


class SlugManyWidget(widgets.ManyToManyWidget):
    """Comma-separated slugs; an unknown slug is an error, not silently dropped. An import
    reads every record the column names in one query (`prepare`)."""

    def __init__(self, model, **kwargs):
        super().__init__(model, field="slug", **kwargs)
        self._by_slug = None

    def _slugs(self, value):
        if isinstance(value, int | float):
            value = _slug(value)
        return list(dict.fromkeys(s.strip() for s in str(value or "").split(self.separator) if s.strip()))

    def prepare(self, values, resource):
        wanted = {slug for value in values for slug in self._slugs(value)}
        self._by_slug = {obj.slug: obj for obj in self.model.objects.filter(slug__in=wanted)} if wanted else {}

    def clean(self, value, row=None, **kwargs):
        slugs = self._slugs(value)
        by_slug = self._by_slug
        if by_slug is None:  # outside an import
            by_slug = {obj.slug: obj for obj in self.model.objects.filter(slug__in=slugs)}
        missing = sorted(set(slugs) - by_slug.keys())
        if missing:
            raise _not_found(self.model, missing[0])
        return [by_slug[slug] for slug in slugs]

    def render(self, value, obj=None, **kwargs):
        if isinstance(value, list):  # the links a row gives, before they are written
            return self.separator.join(smart_str(getattr(o, self.field)) for o in value)
        return super().render(value, obj, **kwargs)


class SlugIdListWidget(widgets.Widget):
    """A core.models.IdListField (a record's `releasable_to`) as comma-separated slugs of
    `model`'s records: read into the sorted list of their ids, written back as slugs. A
    plain column of the record, not a link (so not a ManyToManyWidget itself); the slugs
    are read as SlugManyWidget reads them (an unknown slug is an error, one query for the
    whole file)."""

    def __init__(self, model, **kwargs):
        super().__init__(**kwargs)
        self.model = model
        self._slugs = SlugManyWidget(model)

    def prepare(self, values, resource):
        self._slugs.prepare(values, resource)

    def clean(self, value, row=None, **kwargs):
        return sorted({record.pk for record in self._slugs.clean(value, row, **kwargs)})

    def render(self, value, obj=None, **kwargs):
        ids = value or []
        if not ids:
            return ""
        slugs = dict(self.model._default_manager.filter(pk__in=ids).values_list("pk", "slug"))
        return self._slugs.separator.join(sorted(slugs[i] for i in ids if i in slugs))


class Linked:
    """A related record as a link of a many-to-many column gives it, with the link's own
    columns (`extras`: a partner's role); otherwise it reads as the record."""

    def __init__(self, target, extras):
        self.target = target
        self.extras = extras

    def __getattr__(self, name):
        return getattr(self.target, name)

    def __str__(self):
        return str(self.target)


def link_extras(obj) -> dict:
    """The link's own columns of a record a many-to-many column gives ({} for none)."""
    return obj.extras if isinstance(obj, Linked) else {}


class SlugRoleManyWidget(SlugManyWidget):
    """Comma-separated slugs, each with the link's `column` after a colon where it is not
    the default: "asean, brunei:venue". (A slug holds no colon.)"""

    def __init__(self, model, *, column, choices, default, **kwargs):
        super().__init__(model, **kwargs)
        self.column, self.choices, self.default = column, list(choices), default

    def _items(self, value):
        if isinstance(value, int | float):
            value = _slug(value)
        items = {}
        for item in str(value or "").split(self.separator):
            slug, _sep, extra = item.strip().partition(":")
            if slug.strip():
                items.setdefault(slug.strip(), extra.strip() or self.default)
        return items

    def _slugs(self, value):
        return list(self._items(value))

    def clean(self, value, row=None, **kwargs):
        items = self._items(value)
        for slug, extra in items.items():
            if extra not in self.choices:
                raise ValueError(
                    _("%(slug)s: unknown %(column)s %(value)s (one of %(choices)s)")
                    % {"slug": slug, "column": self.column, "value": repr(extra), "choices": ", ".join(self.choices)}
                )
        return [Linked(target, {self.column: items[target.slug]}) for target in super().clean(value, row, **kwargs)]

    def render(self, value, obj=None, **kwargs):
        if isinstance(value, list):
            return self.separator.join(self._rendered(o.slug, link_extras(o).get(self.column)) for o in value)
        if value is None:
            return ""
        rows = value.through.objects.filter(**{value.source_field_name: value.instance})
        rows = rows.select_related(value.target_field_name).order_by(f"{value.target_field_name}__slug")
        return self.separator.join(
            self._rendered(getattr(row, value.target_field_name).slug, getattr(row, self.column)) for row in rows
        )

    def _rendered(self, slug, extra):
        return slug if extra in (None, self.default) else f"{slug}:{extra}"


def _link_set(objects):
    """Links compared: each target with the link's own columns."""
    return {(o.pk, tuple(sorted(link_extras(o).items()))) for o in objects}


def _unknown_country(code):
    return ValueError(_("unknown country code %(code)s (use ISO 3166-1 alpha-2, e.g. AU,US)") % {"code": repr(code)})


class CountryWidget(widgets.Widget):
    """An ISO 3166-1 alpha-2 code, or nothing.

    `validates`: what it cleans is a value the model field accepts, so the import skips
    the field's own check (a walk through every country's translated name, each row)."""

    validates = True

    def clean(self, value, row=None, **kwargs):
        code = str(value or "").strip().upper()
        if code and code not in countries.countries:
            raise _unknown_country(code)
        return code

    def render(self, value, obj=None, **kwargs):
        return getattr(value, "code", value) or ""


class CountryListWidget(widgets.Widget):
    """ISO codes separated by commas: "AU,US" (`validates`: see CountryWidget)."""

    validates = True

    def clean(self, value, row=None, **kwargs):
        codes = [c.strip().upper() for c in str(value or "").split(",") if c.strip()]
        unknown = [c for c in codes if c not in countries.countries]
        if unknown:
            raise _unknown_country(unknown[0])
        return codes

    def render(self, value, obj=None, **kwargs):
        return ",".join(c.code for c in value or [])


class StoredInstanceLoader(BaseInstanceLoader):
    """The stored records a file names, read in one query before the first row
    (VersionCheckedResource.before_import)."""

    def get_instance(self, row):
        return self.resource.stored.get(self.resource.fields["slug"].clean(row))


class _Diff:
    """A row's values before and after, as the preview shows them, made into HTML only
    for the rows a preview lists (import-export's Diff copies every record to make one)."""

    def __init__(self, resource, before, instance, new):
        self.resource, self.before, self.instance, self.new = resource, before, instance, new

    def __iter__(self):
        diff = resources.Diff.__new__(resources.Diff)
        fields = self.resource.get_import_fields()
        diff.left = ["" for _f in fields] if self.new else self.resource.rendered(self.before)
        diff.right = self.resource.rendered(self.resource.values(self.instance))
        diff.new = self.new
        return iter(diff.as_html())


class _Unknown(Exception):
    """A condition only the database can evaluate."""


class _Skipped(Exception):
    """A condition on a field that did not validate: not checked (as Django does)."""


def _model_field(model, name, exclude):
    if name == "pk":
        field = model._meta.pk
    else:
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            raise _Unknown from None
    if not field.concrete or field.many_to_many:
        raise _Unknown
    if field.name in exclude:
        raise _Skipped
    return field


_COMPARISONS = {"exact": operator.eq, "gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}


def _compare(instance, lookup, rhs, exclude):
    """A lookup (`end_year__gte=F("start_year")`) on the instance's values, with SQL's
    NULL: None where the database would find NULL (unknown)."""
    name, _sep, kind = lookup.partition("__")
    kind = kind or "exact"
    if kind not in _COMPARISONS and kind not in ("in", "isnull"):
        raise _Unknown
    field = _model_field(type(instance), name, exclude)
    value = field.get_prep_value(getattr(instance, field.attname))
    if kind == "isnull":
        return (value is None) == bool(rhs)
    if kind == "exact" and rhs is None:
        return value is None
    if isinstance(rhs, F):
        other = _model_field(type(instance), rhs.name, exclude)
        rhs = other.get_prep_value(getattr(instance, other.attname))
    elif hasattr(rhs, "resolve_expression"):
        raise _Unknown
    elif kind == "in":
        rhs = [field.get_prep_value(v) for v in rhs]
    else:
        rhs = field.get_prep_value(rhs)
    if value is None:
        return None
    if kind == "in":
        return True if value in rhs else (None if None in rhs else False)
    if rhs is None:
        return None
    numbers = (int, float)
    if kind != "exact" and not (isinstance(value, numbers) and isinstance(rhs, numbers)):
        raise _Unknown  # an ordering of text depends on the database's collation
    try:
        return _COMPARISONS[kind](value, rhs)
    except TypeError:
        raise _Unknown from None


def _holds(condition, instance, exclude):
    """Whether the instance meets a Q condition: True, False or None (unknown, which a
    CHECK constraint lets pass)."""
    if not isinstance(condition, Q):
        if isinstance(condition, tuple):
            return _compare(instance, *condition, exclude)
        raise _Unknown
    results = [_holds(child, instance, exclude) for child in condition.children]
    if condition.connector == Q.AND:
        verdict = False if False in results else (None if None in results else True)
    elif condition.connector == Q.OR:
        verdict = True if True in results else (None if None in results else False)
    else:
        raise _Unknown
    return (not verdict) if condition.negated and verdict is not None else verdict


class _Links:
    def __init__(self, objects):
        self._objects = objects

    def all(self):
        return self._objects


class AsStored:
    """A record as the import will store it, for the functions that build what is kept
    with it (projects.search.project_search_document): its own values, and the links the
    file gives it, which are written after it."""

    def __init__(self, instance, links):
        self._instance = instance
        self._links = links

    @property
    def pk(self):
        # A new record has no id yet, but it will be stored with these links.
        return self._instance.pk or True

    def __getattr__(self, name):
        if name in self._links:
            return _Links(self._links[name])
        return getattr(self._instance, name)


class BooleanWidget(widgets.BooleanWidget):
    """`true`/`false` in CSV (native booleans in XLSX); reads true/false, 1/0 in any case,
    and refuses anything else (import-export's reads "yes" as false)."""

    def clean(self, value, row=None, **kwargs):
        if value in self.NULL_VALUES:
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"true", "1"}:
            return True
        if text in {"false", "0"}:
            return False
        raise ValueError(_("Enter true or false (not %(value)r).") % {"value": str(value)[:40]})

    def render(self, value, obj=None, **kwargs):
        if kwargs.get("force_native_type"):
            return value
        return "" if not isinstance(value, bool) else ("true" if value else "false")


class VersionCheckedResource(resources.ModelResource):
    """A resource whose rows carry the record's version, checked on import, and whose
    import reads what it needs once and writes in bulk (see the module docstring)."""

    version = Column(attribute="version", column_name="version", readonly=True, widget=widgets.IntegerWidget())

    WIDGETS_MAP = {**resources.ModelResource.WIDGETS_MAP, "BooleanField": BooleanWidget}

    # Columns a file must have; the others may be left out (they are then left as they are).
    required_columns = ["slug"]

    class Meta:
        import_id_fields = ["slug"]
        instance_loader_class = StoredInstanceLoader
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = False
        # The rows of a confirmed import are written together (bulk_create and bulk_update
        # below), not one by one; a preview writes nothing.
        use_bulk = True
        # import-export copies every record to compare it and show the changes; this
        # resource notes a record's values instead (after_init_instance, skip_row, _Diff).
        skip_diff = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._import_fields = None

    def get_import_fields(self):
        # import-export works the list out again at every use, several times a row.
        if self._import_fields is None:
            self._import_fields = super().get_import_fields()
        return self._import_fields

    def get_queryset(self):
        queryset = super().get_queryset()
        if transaction.get_connection().in_atomic_block:
            queryset = queryset.select_for_update()
        return queryset

    # Text written to a spreadsheet as it is: a string starting with "=" would otherwise
    # be written as a formula, which a spreadsheet program computes (and which reads back
    # as its result, or nothing).
    def export_field(self, field, instance, **kwargs):
        value = super().export_field(field, instance, **kwargs)
        if kwargs.get("force_native_type") and isinstance(value, str) and len(value) > 1 and value.startswith("="):
            from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
            from openpyxl.cell.rich_text import CellRichText

            if not ILLEGAL_CHARACTERS_RE.search(value):
                return CellRichText(value)
        return value

    # -- Reading what the rows need, once --------------------------------------------

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        model = self._meta.model
        self._user = kwargs.get("user")
        self._change_reason = kwargs.get("change_reason")
        self._row_number = None
        headers = set(dataset.headers or [])
        self._present = [f for f in self.get_import_fields() if f.column_name in headers]
        self._m2m_present = [f for f in self._present if isinstance(f.widget, widgets.ManyToManyWidget)]
        self._validated_columns = {f.attribute for f in self._present if getattr(f.widget, "validates", False)}
        self._blank_as_empty = [
            f.column_name for f in self._present if (mf := self._text_field(f.attribute)) is not None and not mf.null
        ]
        slugs = [self.fields["slug"].widget.clean(v) for v in dataset["slug"]] if "slug" in headers else []
        self.stored = {obj.slug: obj for obj in self._stored_queryset(slugs)}
        self._links, self._link_targets = self._stored_links()
        for field in self._present:
            if hasattr(field.widget, "prepare"):
                field.widget.prepare(dataset[field.column_name], self)
        self._self_references = [
            f.widget for f in self._present if isinstance(f.widget, SlugForeignKeyWidget) and f.widget.model is model
        ]
        self._link_ancestors()
        self._unique = self._stored_unique_values(dataset)
        self._seen = {name: {} for name in self._unique}
        self._last_changes = self._stale_records(dataset, slugs)
        problems = self.file_problems(dataset)
        if problems:
            raise ValidationError(problems)

    def file_problems(self, dataset) -> list[str]:
        """What refuses the whole file: two rows for one record."""
        if "slug" not in (dataset.headers or []):
            return []
        lines = {}
        for line, value in enumerate(dataset["slug"], start=2):
            slug = self.fields["slug"].widget.clean(value)
            if slug:
                lines.setdefault(slug, []).append(line)
        return [
            _("the slug “%(slug)s” is on more than one row: lines %(lines)s of the file (line 1 is the header); each "
              "record may appear once")
            % {"slug": slug, "lines": _("%(first)s and %(last)s") % {
                "first": ", ".join(str(n) for n in found[:-1]), "last": found[-1]}}
            for slug, found in lines.items()
            if len(found) > 1
        ]  # fmt: skip

    def _stored_queryset(self, slugs):
        model = self._meta.model
        if not slugs:
            return model.objects.none()
        relations = [f.name for f in model._meta.concrete_fields if f.many_to_one and f.related_model is not model]
        queryset = self.get_queryset().filter(slug__in=set(slugs)).order_by("pk").select_related(*relations)
        if queryset.query.select_for_update:
            # The records' own rows (not their programs'), in one order, so that two imports
            # wait for each other rather than deadlock.
            queryset = queryset.select_for_update(of=("self",))
        return queryset

    def _history_m2m_fields(self):
        return list(history_m2m_fields(self._meta.model))

    def _stored_links(self):
        """For each many-to-many field: the stored records' link rows, by target, and the
        records they link to. (Not prefetched onto the records: import-export copies each
        one, and a copy would read them again.)"""
        links, targets = {}, {}
        pks = [obj.pk for obj in self.stored.values()]
        for field in self._meta.model._meta.many_to_many:
            through, owner, target = self._through(field)
            by_owner = {}
            for row in through.objects.filter(**{f"{owner}_id__in": pks}) if pks else []:
                by_owner.setdefault(getattr(row, f"{owner}_id"), {})[getattr(row, f"{target}_id")] = row
            linked = {pk for rows in by_owner.values() for pk in rows}
            links[field.name] = by_owner
            targets[field.name] = field.related_model.objects.in_bulk(linked) if linked else {}
        return links, targets

    @staticmethod
    def _through(field):
        return field.remote_field.through, field.m2m_field_name(), field.m2m_reverse_field_name()

    def _link_ancestors(self):
        """A partner's clean() walks its parents: have them all in memory, as the objects
        the import updates."""
        model = self._meta.model
        for field in model._meta.concrete_fields:
            if not (field.many_to_one and field.related_model is model):
                continue
            objects = {obj.pk: obj for obj in self.stored.values()}
            for widget in self._self_references:
                objects.update({obj.pk: obj for obj in widget.prepared() if obj.pk not in objects})
            while True:
                missing = {getattr(obj, field.attname) for obj in objects.values()} - objects.keys() - {None}
                if not missing:
                    break
                objects.update({obj.pk: obj for obj in model.objects.filter(pk__in=missing)})
            for obj in objects.values():
                parent = objects.get(getattr(obj, field.attname))
                if parent is not None:
                    field.set_cached_value(obj, parent)

    def _unique_fields(self):
        model = self._meta.model
        return [
            mf
            for mf in model._meta.concrete_fields
            if mf.unique and not mf.primary_key and not mf.is_relation and mf.name not in self.get_import_id_fields()
        ]

    def _stored_unique_values(self, dataset):
        """For each unique field the file sets: the stored records holding its values."""
        found = {}
        columns = {f.attribute: f for f in self._present}
        for mf in self._unique_fields():
            column = columns.get(mf.name)
            if column is None:
                continue
            values = {column.widget.clean(v) for v in dataset[column.column_name]} - {None, ""}
            holders = self._meta.model.objects.filter(**{f"{mf.attname}__in": values}).values_list(mf.attname, "pk")
            found[mf.name] = dict(holders) if values else {}
        return found

    def _stale_records(self, dataset, slugs):
        """The last change of each stored record whose version in the file is not its
        own: who made it is named in the row's error."""
        if not slugs or "version" not in (dataset.headers or []):
            return {}
        stale = []
        for slug, raw in zip(slugs, dataset["version"], strict=True):
            obj = self.stored.get(slug)
            number = _version_number(raw)
            if obj is not None and isinstance(number, int) and number != obj.version:
                stale.append(obj.pk)
        if not stale:
            return {}
        history = self._meta.model.history
        key = self._meta.model._meta.pk.attname
        latest = history.filter(**{key: OuterRef(key)}).order_by("-history_date", "-history_id")
        changes = history.filter(**{f"{key}__in": stale}, history_id=Subquery(latest.values("history_id")[:1]))
        return {getattr(h, key): h for h in changes.select_related("history_user")}

    # -- Each row, in memory ------------------------------------------------------------

    def before_import_row(self, row, **kwargs):
        self._row_number = kwargs.get("row_number")
        # A spreadsheet program reads an empty cell back as nothing (None) where the record
        # holds empty text: the tracker's own XLSX export must import again as it is.
        for column in self._blank_as_empty:
            if row.get(column, "") is None:
                row[column] = ""
        super().before_import_row(row, **kwargs)

    def _text_field(self, attribute):
        try:
            model_field = self._meta.model._meta.get_field(attribute or "")
        except FieldDoesNotExist:
            return None
        return model_field if isinstance(model_field, models.CharField | models.TextField) else None

    def import_instance(self, instance, row, **kwargs):
        # import-export cleans many-to-many columns only after saving the row; clean them
        # here too, so an unknown slug is a validation error reported with its row like
        # any other, and nothing of the file is imported.
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        for field in self._m2m_present:
            try:
                linked = field.clean(row)
            except ValueError as exc:
                errors[field.attribute] = [str(exc)]
                continue
            model_field = self._meta.model._meta.get_field(field.attribute)
            if not linked and not model_field.blank:
                errors[field.attribute] = [
                    _("at least one %(model)s slug is required")
                    % {"model": model_field.related_model._meta.verbose_name}
                ]
        problem = self._version_problem(instance, row)
        if problem:
            errors["version"] = [problem]
        stored = getattr(instance, "_import_stored", None)
        if not errors and stored is not None and not self._unchanged(instance, row):
            values = {"releasability": instance.releasability, "releasable_to": instance.releasable_to}
            problem = reason_problem(stored, values, self._change_reason)
            if problem is not None:
                name, message = problem
                if name == "change_reason":
                    message = _("%(problem)s Give a reason for this change on the import page.") % {"problem": message}
                errors[name if name in {f.attribute for f in self._present} else NON_FIELD_ERRORS] = [message]
        if errors:
            raise ValidationError(errors)

    def _unchanged(self, instance, row) -> bool:
        """Whether the row leaves the stored record as it was (skip_row's test, whatever
        the resource's skip_unchanged)."""
        for field, before in zip(self.get_import_fields(), instance._import_before, strict=True):
            if isinstance(field.widget, widgets.ManyToManyWidget):
                if field.column_name in row and _link_set(field.clean(row)) != _link_set(before):
                    return False
            elif field.get_value(instance) != before:
                return False
        return True

    def _version_problem(self, instance, row):
        raw = row.get("version")
        number = _version_number(raw)
        if number is None:
            return None
        if number is False:
            return _("%(value)s is not a version number (leave it empty to overwrite the stored record)") % {
                "value": repr(str(raw)[:40])
            }
        name = self._meta.model._meta.verbose_name
        if instance.pk is None:
            return _(
                "the file was exported with version %(version)s of this %(model)s, which no longer exists (deleted or "
                "its slug changed): export again, or leave the version empty to create it anew"
            ) % {"version": number, "model": name}
        if number != instance.version:
            last = self._last_changes.get(instance.pk)
            who, when = changed_by_and_when(last)
            return _(
                "this %(model)s was changed by %(who)s at %(when)s since the file was exported (the file holds version "
                "%(loaded)s, the tracker version %(stored)s): export again and redo your changes, or leave the version "
                "empty to overwrite it"
            ) % {"model": name, "who": who, "when": when, "loaded": number, "stored": instance.version}
        return None

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        """Model.full_clean(), without its queries: the related records were read by this
        import, the unique values and the check constraints are tested against what it
        read (a condition only the database can evaluate is still sent to it)."""
        if not self._meta.clean_model_instances:
            return super().validate_instance(instance, import_validation_errors, validate_unique)
        errors = dict(import_validation_errors or {})
        exclude = set(errors)
        try:
            instance.clean_fields(exclude=exclude | self._resolved_relations(instance) | self._validated_columns)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        try:
            self.clean_instance(instance)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        exclude |= {name for name in errors if name != NON_FIELD_ERRORS}
        if validate_unique:
            errors = self._unique_errors(instance, exclude, errors)
        exclude |= {name for name in errors if name != NON_FIELD_ERRORS}
        errors = self._constraint_errors(instance, exclude, errors)
        if errors:
            raise ValidationError(errors)

    def clean_instance(self, instance):
        instance.clean()

    @staticmethod
    def _resolved_relations(instance):
        # Django's check that a related record exists is a query a row; these were just read.
        return {
            f.name
            for f in instance._meta.concrete_fields
            if f.many_to_one and f.is_cached(instance) and f.get_cached_value(instance) is not None
        }

    def _unique_errors(self, instance, exclude, errors):
        model = self._meta.model
        for name, holders in self._unique.items():
            if name in exclude:
                continue
            value = getattr(instance, model._meta.get_field(name).attname)
            if value is None or value == "":
                continue
            holder = holders.get(value)
            if holder is not None and holder != instance.pk:
                errors.setdefault(name, []).append(instance.unique_error_message(model, (name,)))
                continue
            first = self._seen[name].setdefault(value, self._row_number)
            if first != self._row_number:
                errors.setdefault(name, []).append(
                    _("row %(row)s of the file has the same %(field)s")
                    % {"row": first, "field": model._meta.get_field(name).verbose_name}
                )
        # Anything else that must be unique (none today), the way Django checks it.
        handled = {mf.name for mf in model._meta.concrete_fields if mf.unique}
        try:
            instance.validate_unique(exclude=exclude | handled)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        return errors

    def _constraint_errors(self, instance, exclude, errors):
        for model_class, constraints in instance.get_constraints():
            for constraint in constraints:
                try:
                    if not isinstance(constraint, models.CheckConstraint):
                        raise _Unknown
                    if _holds(constraint.condition, instance, exclude) is False:
                        raise ValidationError(
                            constraint.get_violation_error_message(), code=constraint.violation_error_code
                        )
                except _Skipped:
                    continue
                except _Unknown:
                    try:
                        constraint.validate(model_class, instance, exclude=exclude, using=self.get_db_connection_name())
                    except ValidationError as exc:
                        errors = exc.update_error_dict(errors)
                except ValidationError as exc:
                    errors = exc.update_error_dict(errors)
        return errors

    def values(self, instance):
        """The record's values for the import's fields, with its links (those its row
        gives once the row is imported)."""
        return [
            self.final_links(instance, f.attribute)
            if isinstance(f.widget, widgets.ManyToManyWidget)
            else f.get_value(instance)
            for f in self.get_import_fields()
        ]

    def rendered(self, values):
        """Values (from `values`) as a spreadsheet shows them; links in slug order."""
        return [
            f.widget.render(sorted(value, key=operator.attrgetter("slug")) if isinstance(value, list) else value)
            for f, value in zip(self.get_import_fields(), values, strict=True)
        ]

    def after_init_instance(self, instance, new, row, **kwargs):
        super().after_init_instance(instance, new, row, **kwargs)
        instance._import_before = None if new else self.values(instance)
        # Who may see the record as stored, for the review rules (core.models.reason_problem).
        instance._import_stored = None if new else copy.copy(instance)
        if new and isinstance(instance, ReviewedModel):
            # A record an import makes is a draft until a reviewer approves it (core.review).
            instance.publication_state, instance.published = PublicationState.DRAFT, False
        self._instance = instance

    def skip_row(self, instance, original, row, import_validation_errors=None):
        """A stored record the row leaves as it is: import-export's test, on the values
        noted before the row (after_init_instance)."""
        if not self._meta.skip_unchanged or import_validation_errors or instance._import_before is None:
            return False
        return self._unchanged(instance, row)

    def after_import_row(self, row, row_result, **kwargs):
        super().after_import_row(row, row_result, **kwargs)
        instance = self._instance
        row_result.diff = _Diff(self, instance._import_before, instance, instance._import_before is None)

    def save_m2m(self, instance, row, **kwargs):
        # Kept with the row, and written with it (bulk_create, bulk_update).
        instance._import_links = {field.attribute: field.clean(row) for field in self._m2m_present}

    def after_save_instance(self, instance, row, **kwargs):
        super().after_save_instance(instance, row, **kwargs)
        for widget in self._self_references:
            widget.remember(instance)

    # -- Writing a confirmed import, in bulk ----------------------------------------------

    def bulk_create(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        self._flush(self.create_instances, True, dry_run, raise_errors, result)

    def bulk_update(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        if any(_refers_to_unsaved(obj) for obj in self.update_instances):
            self._flush(self.create_instances, True, dry_run, raise_errors, result)
        self._flush(self.update_instances, False, dry_run, raise_errors, result)

    def _flush(self, pending, created, dry_run, raise_errors, result):
        batch = list(pending)
        pending.clear()
        if dry_run or not batch:
            return
        try:
            with transaction.atomic(using=self.get_db_connection_name()):
                self.write_instances(batch, created=created)
        except Exception as exc:  # reported as the file's error; the import rolls back
            self.handle_import_error(result, exc, raise_errors)

    def write_instances(self, batch, *, created):
        """Store new or changed records as their save() would, with their links and
        history, and bump the data version once."""
        model = self._meta.model
        using = self.get_db_connection_name()
        if not created:
            now = timezone.now()
            for obj in batch:
                # The stored version, read under the row's lock at the start of the import.
                obj.version += 1
                for field in model._meta.concrete_fields:
                    if getattr(field, "auto_now", False):
                        setattr(obj, field.attname, now)
        self.before_write(batch, created=created)
        if created and self.links_first and take_ids(model, batch, using=using):
            self._write_links(batch, using)
            model.objects.bulk_create(batch)
        elif created:
            for generation in _in_dependency_order(batch):
                model.objects.bulk_create(generation)
            self._write_links(batch, using)
        else:
            update_rows(model, batch, self._update_fields(), using=using)
            self._write_links(batch, using)
        self._write_history(batch, created)
        self.after_write(batch, created=created)
        data_changed(using=using)

    def before_write(self, batch, *, created):
        """What a model's save() computes (a project's search document)."""

    def after_write(self, batch, *, created):
        """What the model signals would do after the save (refresh what names a partner)."""

    def _update_fields(self):
        model = self._meta.model
        names = [f.attribute for f in self._present if not f.readonly and f not in self._m2m_present]
        names += [f.name for f in model._meta.concrete_fields if getattr(f, "auto_now", False)]
        names += ["version", *self.computed_fields]
        return list(dict.fromkeys(names))

    # Fields a model's save() sets from the others (written with every update).
    computed_fields = []
    # Write new records' links before the records (on PostgreSQL): see ProjectResource.
    links_first = False

    def final_links(self, obj, name):
        """The records an object links to through a many-to-many field: those its row
        gives once the row is imported, else those it has."""
        pending = getattr(obj, "_import_links", {})
        if name in pending:
            return pending[name]
        targets = self._link_targets[name]
        extras = link_columns(self._meta.model._meta.get_field(name))
        rows = self._links[name].get(obj.pk, {})
        if not extras:
            return [targets[pk] for pk in rows]
        return [Linked(targets[pk], {c: getattr(row, c) for c in extras}) for pk, row in rows.items()]

    def _write_links(self, batch, using):
        for field in self._meta.model._meta.many_to_many:
            through, owner, target = self._through(field)
            stored = self._links[field.name]
            extras = link_columns(field)
            add, remove, change = [], [], []
            for obj in batch:
                wanted = getattr(obj, "_import_links", {}).get(field.name)
                if wanted is None:
                    continue
                have = stored.setdefault(obj.pk, {})
                wanted_extras = {o.pk: link_extras(o) for o in wanted}
                for pk in [pk for pk in have if pk not in wanted_extras]:
                    remove.append(have.pop(pk))
                for pk, values in wanted_extras.items():
                    row = have.get(pk)
                    if row is None:
                        have[pk] = through(**{f"{owner}_id": obj.pk, f"{target}_id": pk}, **values)
                        add.append(have[pk])
                    elif any(getattr(row, c) != values[c] for c in extras if c in values):
                        for c in extras:
                            if c in values:
                                setattr(row, c, values[c])
                        change.append(row)
            if remove:
                through.objects.using(using).filter(pk__in=[row.pk for row in remove]).delete()
            if change:
                through.objects.using(using).bulk_update(change, extras)
            if add:
                through.objects.bulk_create(add)

    def _write_history(self, batch, created):
        history = self._meta.model.history
        records = history.bulk_history_create(
            batch, update=not created, default_user=self._user, default_change_reason=self._change_reason
        )
        if not records:
            return
        for field in self._history_m2m_fields():
            m2m_history = getattr(history.model, field.name).model
            attnames = [f.attname for f in field.remote_field.through._meta.fields]
            rows = self._links[field.name]
            m2m_history.objects.bulk_create(
                m2m_history(history=record, **{name: getattr(link, name) for name in attnames})
                for obj, record in zip(batch, records, strict=True)
                for link in rows.get(obj.pk, {}).values()
            )


def _version_number(raw):
    """The version a row holds: None for none (an empty cell), False for a cell that is
    not a version number."""
    if raw is None or str(raw).strip() == "":
        return None
    try:
        number = float(str(raw).strip())
    except ValueError:
        return False
    if not number.is_integer() or number < 1:
        return False
    return int(number)


def _refers_to_unsaved(obj):
    for field in obj._meta.concrete_fields:
        if field.many_to_one and field.is_cached(obj):
            related = field.get_cached_value(obj)
            if related is not None and related.pk is None:
                return True
    return False


def _in_dependency_order(batch):
    """The new records in rounds, each after the records it refers to (a partner after
    the new partner it names as its parent; an earlier row of the file)."""
    pending = list(batch)
    while pending:
        ready = [obj for obj in pending if not _refers_to_unsaved(obj)]
        if not ready:
            raise ValueError(_("the new rows refer to one another in a circle"))
        yield ready
        pending = [obj for obj in pending if obj.pk is None]
