"""The filters of partners, used by the API list and the public partner pages."""

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.filtersets import (
    ChoicesFilter,
    CountryFilter,
    SearchFilter,
    StrictBooleanFilter,
    StrictOrderingFilter,
    TrackerFilterSet,
)
from partners.models import Partner


class PartnerFilterSet(TrackerFilterSet):
    q = SearchFilter(method="filter_q", label=_("Search"))
    country = CountryFilter(field_name="country", label=_("Country"))
    region = ChoicesFilter(choices=Partner.Region.choices, label=_("Region"))
    kind = ChoicesFilter(choices=Partner.Kind.choices, label=_("Kind"))
    asean = StrictBooleanFilter(field_name="asean_member", label=_("ASEAN member"))
    ordering = StrictOrderingFilter(
        fields=(("name", "name"), ("country", "country"), ("region", "region")), label=_("Order by")
    )

    class Meta:
        model = Partner
        fields = []

    def filter_q(self, queryset, name, value):
        condition = Q()
        for word in value.split():
            condition &= Q(name__icontains=word) | Q(name_ja__icontains=word) | Q(description__icontains=word)
        return queryset.filter(condition)
