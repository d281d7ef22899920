"""Spreadsheet (CSV/XLSX) import and export of partners, naming the parent by slug."""

from import_export import widgets
from import_export.fields import Field as Column

from partners.models import Partner
from projects.resources import VersionCheckedResource


class PartnerResource(VersionCheckedResource):
    """Partners by slug, with their version (see projects.resources on the version check)."""

    parent = Column(attribute="parent", column_name="parent", widget=widgets.ForeignKeyWidget(Partner, "slug"))

    class Meta:
        model = Partner
        import_id_fields = ["slug"]
        fields = ["slug", "name", "name_ja", "kind", "country", "region", "asean_member", "parent", "description",
                  "published", "version"]  # fmt: skip
        export_order = fields
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = False

    required_columns = ["slug", "name", "kind", "country", "region"]
