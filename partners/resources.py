"""Spreadsheet (CSV/XLSX) import and export of partners, naming the parent by slug."""

from import_export.fields import Field as Column

from partners.models import Partner
from projects.models import Project
from projects.resources import CountryWidget, SlugForeignKeyWidget, VersionCheckedResource
from projects.search import project_refresh_search


class PartnerResource(VersionCheckedResource):
    """Partners by slug, with their version (see projects.resources on the version check
    and on how an import reads and writes)."""

    parent = Column(attribute="parent", column_name="parent", widget=SlugForeignKeyWidget(Partner))
    country = Column(attribute="country", column_name="country", widget=CountryWidget())

    class Meta:
        model = Partner
        fields = ["slug", "name", "name_ja", "kind", "country", "region", "asean_member", "parent", "description",
                  "published", "version"]  # fmt: skip
        export_order = fields

    required_columns = ["slug", "name", "kind", "country", "region"]

    def after_write(self, batch, *, created):
        # What a partner's post_save signal does (projects.signals): the search documents of
        # its projects name it.
        if not created:
            project_refresh_search(projects=Project.objects.filter(partners__in=[p.pk for p in batch]).distinct())
