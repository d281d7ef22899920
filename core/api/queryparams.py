"""Query parameters the API does not know are refused, not ignored: `?contry=VN` would
otherwise answer the unfiltered list, which a client cannot tell from a filtered one.

Every API view says what it takes: its filterset's filters, paging (`page`, `page_size`,
`cursor` where it pages by cursor) on lists, and its own (`group_by`); `format` and `bom`
(a UTF-8 byte order mark before CSV, for Excel) are always allowed. An unknown name is a
400 naming it, with the nearest known name as a suggestion.
"""

import difflib

from rest_framework import exceptions
from rest_framework.settings import api_settings

# Taken by every API answer.
ALWAYS_ALLOWED = frozenset({api_settings.URL_FORMAT_OVERRIDE or "format", "bom"})
BOOLEANS = {"true": True, "1": True, "false": False, "0": False, "": False}


def wants_bom(request, *, strict=True) -> bool:
    """`?bom=true`: start a CSV answer with a UTF-8 byte order mark (Excel then reads it
    as UTF-8). A value that is not a boolean is a 400 naming the parameter."""
    value = request.query_params.get("bom") if request is not None else None
    if value is None:
        return False
    if value.lower() not in BOOLEANS:
        if not strict:  # rendering the 400 that says so
            return False
        raise exceptions.ValidationError({"bom": ["Enter true or false."]})
    return BOOLEANS[value.lower()]


class StrictQueryParamsMixin:
    """For API views: refuse unknown query parameters (a 400 naming each one)."""

    # Parameters a view takes beyond its filters and paging (e.g. a report's group_by).
    extra_query_params = ()

    def allowed_query_params(self) -> set[str]:
        allowed = set(ALWAYS_ALLOWED) | set(self.extra_query_params)
        action = getattr(self, "action", None)
        is_list = action == "list" or (action is None and self.request.method == "GET")
        if not is_list:
            return allowed
        filterset_class = getattr(self, "filterset_class", None)
        if filterset_class is not None:
            allowed |= set(filterset_class.base_filters)
        paginator = getattr(self, "paginator", None)
        if paginator is not None:
            allowed |= {paginator.page_query_param, paginator.page_size_query_param}
            if getattr(self, "cursor_keys", None):
                allowed.add(paginator.cursor_query_param)
        return allowed

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if getattr(self, request.method.lower(), None) is None:
            return  # a method the endpoint does not have: its 405 comes first
        allowed = self.allowed_query_params()
        unknown = [name for name in request.query_params if name not in allowed]
        if unknown:
            raise exceptions.ValidationError(
                {name[:100]: [unknown_parameter_message(name, allowed)] for name in unknown}
            )
        wants_bom(request)  # a bad value is refused before any answer starts


def unknown_parameter_message(name: str, allowed, kind: str = "query parameter") -> str:
    """ "Unknown query parameter. Did you mean 'country'? This endpoint takes: ..." (or
    another `kind` of name: a payload's field)."""
    nearest = difflib.get_close_matches(str(name).lower(), sorted(allowed), n=1, cutoff=0.6)
    hint = f" Did you mean {nearest[0]!r}?" if nearest else ""
    known = ", ".join(sorted(allowed))
    return f"Unknown {kind}.{hint} This endpoint takes: {known}."
