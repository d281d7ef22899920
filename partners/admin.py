"""The back office for partners."""

from django.contrib import admin

from core.admin import SpreadsheetAdmin, citations_inline
from core.forms import OptimisticLockForm
from partners.models import Partner
from partners.resources import PartnerResource
from projects.models import Citation


@admin.register(Partner)
class PartnerAdmin(SpreadsheetAdmin):
    form = OptimisticLockForm
    resource_classes = [PartnerResource]
    list_display = ["name", "name_ja", "kind", "country", "region", "asean_member", "parent", "published"]
    list_filter = ["kind", "region", "asean_member", "published"]
    list_select_related = ["parent"]
    search_fields = ["name", "name_ja", "slug", "country"]
    date_hierarchy = "updated"
    autocomplete_fields = ["parent"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["version", "created", "updated"]
    inlines = [citations_inline(Citation, "partner")]
