"""Template helpers of the public site: names in the page's language, dates as the
source gives them, and the language switcher."""

from django import template
from django.urls import translate_url
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, get_language_info

from core.i18n import is_japanese, localname

register = template.Library()
register.filter("localname", localname)


@register.filter
def othername(obj):
    """The name in the other language, shown beside the page's own (or empty)."""
    if obj is None:
        return ""
    if isinstance(obj, dict):
        name, name_ja = obj.get("name", ""), obj.get("name_ja", "")
    else:
        name, name_ja = getattr(obj, "name", ""), getattr(obj, "name_ja", "")
    if not name_ja or name_ja == name:
        return ""
    return name if is_japanese() else name_ja


@register.filter
def activity_date(activity):
    """A date to the precision the source gives: 2014, March 2014, 5 March 2014, or
    2014年3月5日 on Japanese pages."""
    if not is_japanese():
        return activity.date_display
    text = f"{activity.year}年"
    if activity.month is not None:
        text += f"{activity.month}月"
        if activity.day is not None:
            text += f"{activity.day}日"
    return text


@register.simple_tag(takes_context=True)
def language_links(context):
    """The current page in each language: plain links, so switching needs no form, no
    cookie and no JavaScript, and the result is a shareable URL."""
    from django.conf import settings

    request = context.get("request")
    if request is None:
        return []
    current = get_language()
    path = request.get_full_path()
    links = []
    for code, _name in settings.LANGUAGES:
        info = get_language_info(code)
        url = translate_url(path, code)
        if url == path and code != current:
            # A path that resolves to no page (a 404): swap the language prefix by hand.
            url = _swap_prefix(path, current, code)
        links.append({"code": code, "name": info["name_local"], "url": _local_path(url), "current": code == current})
    return links


def _local_path(url):
    """A path on this site whatever the request's path was: `//evil.example/` (from a
    request for /ja//evil.example/) would be another site's address, and a backslash
    counts as a slash in browsers."""
    return "/" + url.lstrip("/\\")


def _swap_prefix(path, current, code):
    from django.conf import settings

    if current != settings.LANGUAGE_CODE and path.startswith(f"/{current}/"):
        path = path[len(current) + 1 :]
    return path if code == settings.LANGUAGE_CODE else f"/{code}{path}"


@register.filter
def checked_count(options):
    """How many of a checkbox group's options are ticked."""
    return sum(1 for option in options or () if option.get("checked"))


CHECKED = mark_safe(" checked")  # a constant: nothing of the user's in it


@register.simple_tag
def checkbox_items(name, options):
    """The <li> of each option of a checkbox group (checks.html): a filter's list holds
    hundreds (every partner, every country), which this writes in one pass rather than as
    template nodes, a tenth of the rendering time of the public list page."""
    return format_html_join(
        "\n",
        '<li><input type="checkbox" name="{0}" value="{1}" id="id_{0}_{2}"{3}><label for="id_{0}_{2}">{4}</label></li>',
        (
            (name, option["value"], number, CHECKED if option["checked"] else "", option["label"])
            for number, option in enumerate(options or (), start=1)
        ),
    )
