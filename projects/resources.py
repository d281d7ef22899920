"""Spreadsheet (CSV/XLSX) import and export of projects, naming related records by slug."""

from django.core.exceptions import ValidationError
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


class ProjectResource(resources.ModelResource):
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
            "cooperating_countries", "description", "published",
        ]  # fmt: skip
        export_order = fields
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = False

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
