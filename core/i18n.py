"""Names in the page's language: the one rule the public pages, their views and the
template tags share."""

from django.utils.translation import get_language


def is_japanese():
    return (get_language() or "").split("-")[0] == "ja"


def localname(obj):
    """The Japanese name on Japanese pages where there is one, the English name otherwise.
    Works on model instances and on the dicts the report selectors return."""
    if obj is None:
        return ""
    if isinstance(obj, dict):
        name, name_ja = obj.get("name", ""), obj.get("name_ja", "")
    else:
        name, name_ja = getattr(obj, "name", str(obj)), getattr(obj, "name_ja", "")
    return name_ja if name_ja and is_japanese() else name
