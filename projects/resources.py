"""Spreadsheet (CSV/XLSX) import and export of projects, naming related records by slug.

Optimistic locking holds for imports as for the change form: an export carries each
record's `version`, and a row whose version no longer matches the stored record (someone
saved it since the file was exported) is refused, with nothing of the file imported. A row
with an empty version (or a file without the column: one made by hand) overwrites the
record on purpose. The stored row is locked while the import runs, so the check and the
write cannot be split by another save.
"""

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models, transaction
from django.utils import formats
from django_countries import countries
from import_export import resources, widgets
from import_export.fields import Field as Column

from partners.models import Partner
from projects.models import Field, Program, Project


class CountryListWidget(widgets.Widget):
    """ISO codes separated by commas: "AU,US"."""

    def clean(self, value, row=None, **kwargs):
        codes = [c.strip().upper() for c in str(value or "").split(",") if c.strip()]
        unknown = [c for c in codes if c not in dict(countries)]
        if unknown:
            raise ValueError(f"unknown country code {unknown[0]!r} (use ISO 3166-1 alpha-2, e.g. AU,US)")
        return codes

    def render(self, value, obj=None, **kwargs):
        return ",".join(c.code for c in value or [])


class SlugManyWidget(widgets.ManyToManyWidget):
    """Comma-separated slugs; an unknown slug is an error, not silently dropped."""

    def clean(self, value, row=None, **kwargs):
        slugs = [s.strip() for s in str(value or "").split(self.separator) if s.strip()]
        found = list(self.model.objects.filter(slug__in=slugs))
        missing = sorted(set(slugs) - {o.slug for o in found})
        if missing:
            raise ValueError(f"no {self.model._meta.verbose_name} with slug {missing[0]!r}")
        return found


class VersionCheckedResource(resources.ModelResource):
    """A resource whose rows carry the record's version, checked on import."""

    version = Column(attribute="version", column_name="version", readonly=True, widget=widgets.IntegerWidget())

    # Columns a file must have; the others may be left out (they are then left as they are).
    required_columns = ["slug"]

    def before_import_row(self, row, **kwargs):
        # A spreadsheet program reads an empty cell back as nothing (None) where the record
        # holds empty text: the tracker's own XLSX export must import again as it is.
        for field in self.get_import_fields():
            model_field = self._text_field(field.attribute)
            if model_field is not None and not model_field.null and row.get(field.column_name, "") is None:
                row[field.column_name] = ""
        super().before_import_row(row, **kwargs)

    def _text_field(self, attribute):
        try:
            model_field = self._meta.model._meta.get_field(attribute or "")
        except FieldDoesNotExist:
            return None
        return model_field if isinstance(model_field, models.CharField | models.TextField) else None

    def get_queryset(self):
        queryset = super().get_queryset()
        if transaction.get_connection().in_atomic_block:
            queryset = queryset.select_for_update()
        return queryset

    def import_instance(self, instance, row, **kwargs):
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        problem = self._version_problem(instance, row)
        if problem:
            errors["version"] = [problem]
        if errors:
            raise ValidationError(errors)

    def _version_problem(self, instance, row):
        raw = row.get("version")
        if raw is None or str(raw).strip() == "":
            return None
        try:
            number = float(str(raw).strip())
        except ValueError:
            number = None
        if number is None or not number.is_integer() or number < 1:
            return f"{str(raw)[:40]!r} is not a version number (leave it empty to overwrite the stored record)"
        loaded = int(number)
        name = self._meta.model._meta.verbose_name
        if instance.pk is None:
            return (
                f"the file was exported with version {loaded} of this {name}, which no longer exists (deleted or its "
                "slug changed): export again, or leave the version empty to create it anew"
            )
        if loaded != instance.version:
            last = instance.history.order_by("-history_date").select_related("history_user").first()
            who = last.history_user.get_username() if last and last.history_user else "another user"
            when = formats.date_format(last.history_date, "DATETIME_FORMAT") if last else ""
            return (
                f"this {name} was changed by {who} at {when} since the file was exported (the file holds version "
                f"{loaded}, the tracker version {instance.version}): export again and redo your changes, or leave "
                "the version empty to overwrite it"
            )
        return None


class ProjectResource(VersionCheckedResource):
    program = Column(attribute="program", column_name="program", widget=widgets.ForeignKeyWidget(Program, field="slug"))
    partners = Column(attribute="partners", column_name="partners", widget=SlugManyWidget(Partner, field="slug"))
    fields = Column(attribute="fields", column_name="fields", widget=SlugManyWidget(Field, field="slug"))
    cooperating_countries = Column(
        attribute="cooperating_countries", column_name="cooperating_countries", widget=CountryListWidget()
    )

    class Meta:
        model = Project
        import_id_fields = ["slug"]
        fields = [
            "slug", "title", "program", "partners", "fields", "start_year", "end_year", "status",
            "cooperating_countries", "description", "published", "version",
        ]  # fmt: skip
        export_order = fields
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = False

    required_columns = ["slug", "title", "program", "partners"]

    def import_instance(self, instance, row, **kwargs):
        # import-export cleans many-to-many columns only after saving the row; clean them
        # here too, so an unknown slug is a validation error reported with its row
        # like any other, and nothing of the file is imported.
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        for field in self.get_import_fields():
            if isinstance(field.widget, widgets.ManyToManyWidget) and field.column_name in row:
                try:
                    field.clean(row)
                except ValueError as exc:
                    errors[field.attribute] = [str(exc)]
        if "partners" not in errors and not str(row.get("partners") or "").strip():
            errors["partners"] = ["at least one partner slug is required"]
        if errors:
            raise ValidationError(errors)
