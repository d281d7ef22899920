"""What every page's template may show without its view asking for it."""

from django.utils.functional import SimpleLazyObject

from projects.selectors import data_as_of as read_data_as_of


def data_as_of(request):
    """`data_as_of`: the footer's "data as of" (projects.selectors.data_as_of), read only
    by a template that shows it (the admin's pages do not)."""
    return {"data_as_of": SimpleLazyObject(read_data_as_of)}
