"""Spreadsheet (CSV/XLSX) import and export of partners, naming the parent by slug."""

from import_export.fields import Field as Column

from core.resources import BooleanWidget, CountryWidget, SlugForeignKeyWidget, SlugIdListWidget, VersionCheckedResource
from partners.models import Partner
from partners.signals import partners_renamed


class PartnerResource(VersionCheckedResource):
    """Partners by slug, with their version (see projects.resources on the version check
    and on how an import reads and writes)."""

    parent = Column(attribute="parent", column_name="parent", widget=SlugForeignKeyWidget(Partner))
    country = Column(attribute="country", column_name="country", widget=CountryWidget())
    releasable_to = Column(attribute="releasable_to", column_name="releasable_to", widget=SlugIdListWidget(Partner))
    # Exported, never imported: publishing goes through review (core.review).
    published = Column(attribute="published", column_name="published", readonly=True, widget=BooleanWidget())
    publication_state = Column(attribute="publication_state", column_name="publication_state", readonly=True)

    class Meta:
        model = Partner
        fields = ["slug", "name", "name_ja", "kind", "country", "region", "asean_member", "parent", "description",
                  "published", "publication_state", "releasability", "releasable_to", "version"]  # fmt: skip
        export_order = fields

    required_columns = ["slug", "name", "kind", "country", "region"]

    def after_write(self, batch, *, created):
        # What a partner's post_save signal makes the apps above do (projects.signals: the
        # search documents of its projects name it).
        if not created:
            partners_renamed.send(sender=Partner, partner_ids=[p.pk for p in batch])
