"""What every page's template may show without its view asking for it."""

from django.utils.functional import SimpleLazyObject

from projects.selectors import data_as_of as read_data_as_of


def data_as_of(request):
    """`data_as_of`: the footer's "data as of" (projects.selectors.data_as_of), read only
    by a template that shows it (the admin's pages do not)."""
    return {"data_as_of": SimpleLazyObject(read_data_as_of)}


def liaison(request):
    """`liaison_of`: for a partner's liaison officer, the names of the partners they serve
    (the pages say that they show what is releasable to those partners too); empty for
    everyone else, and read only by a template that shows it."""

    def partners():
        from core.models import is_liaison, liaison_partner_ids
        from partners.models import Partner

        user = getattr(request, "user", None)
        if not is_liaison(user):
            return []
        return list(Partner.objects.filter(pk__in=liaison_partner_ids(user)).order_by("name"))

    return {"liaison_of": SimpleLazyObject(partners)}
