from core.api.views import ReviewActionsMixin, TrackerViewSet
from partners.api.serializers import PartnerSerializer
from partners.filtersets import PartnerFilterSet
from partners.models import Partner
from projects.selectors import citations_prefetch


class PartnerViewSet(ReviewActionsMixin, TrackerViewSet):
    """Partners: partner militaries, their services and agencies, and regional organisations;
    published ones for everyone, drafts too for staff who may view them."""

    serializer_class = PartnerSerializer
    filterset_class = PartnerFilterSet
    csv_columns = [
        ("slug", lambda p: p.slug),
        ("name", lambda p: p.name),
        ("name_ja", lambda p: p.name_ja),
        ("kind", lambda p: p.kind),
        ("country", lambda p: p.country.code),
        ("country_name", lambda p: p.country.name),
        ("region", lambda p: p.region),
        ("region_name", lambda p: p.get_region_display()),
        ("asean_member", lambda p: p.asean_member),
        ("parent", lambda p: p.visible_parent.slug if p.visible_parent else ""),
    ]

    def csv_records(self, objects):
        # The parent as this reader may see it, as in the JSON (Partner.parent_for).
        for partner in objects:
            partner.visible_parent = partner.parent_for(self.request.user)
            yield partner

    def get_queryset(self):
        return (
            Partner.objects.for_user(self.request.user)
            .select_related("parent")
            .prefetch_related(citations_prefetch(self.request.user))
        )
