"""The back office for partners."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from core.admin import ReviewAdminMixin, SpreadsheetAdmin, citations_inline
from core.forms import OptimisticLockForm
from partners.models import Liaison, Partner
from partners.resources import PartnerResource
from projects.models import Citation


@admin.register(Partner)
class PartnerAdmin(ReviewAdminMixin, SpreadsheetAdmin):
    form = OptimisticLockForm
    resource_classes = [PartnerResource]
    list_display = [
        "name",
        "name_ja",
        "kind",
        "country",
        "region",
        "asean_member",
        "parent",
        "publication_state",
        "releasability",
    ]
    list_filter = ["kind", "region", "asean_member", "publication_state", "releasability"]
    list_select_related = ["parent"]
    search_fields = ["name", "name_ja", "slug", "country"]
    date_hierarchy = "updated"
    autocomplete_fields = ["parent"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["publication_state", "review_comment", "version", "created", "updated"]
    inlines = [citations_inline(Citation, "partner")]


class LiaisonInline(admin.TabularInline):
    """The partners a user is a liaison officer of, on the user's page (README, "Who sees
    what"): they count while the user is in the Liaisons group and is not staff."""

    model = Liaison
    fields = ["partner"]
    autocomplete_fields = ["partner"]
    extra = 0
    verbose_name = _("liaison officer of")
    verbose_name_plural = _("liaison officer of (counts while the user is in the Liaisons group)")


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class TrackerUserAdmin(UserAdmin):
    """Django's user admin, with the partners a liaison officer serves."""

    inlines = [*UserAdmin.inlines, LiaisonInline]
