"""Spreadsheet (CSV/XLSX) import and export of partners, naming the parent by slug."""

from import_export import resources, widgets
from import_export.fields import Field as Column

from partners.models import Partner


class PartnerResource(resources.ModelResource):
    parent = Column(attribute="parent", column_name="parent", widget=widgets.ForeignKeyWidget(Partner, "slug"))

    class Meta:
        model = Partner
        import_id_fields = ["slug"]
        fields = ["slug", "name", "name_ja", "kind", "country", "region", "asean_member", "parent", "description",
                  "published"]  # fmt: skip
        export_order = fields
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = False
