"""Every URL of the site, found from the URL resolver rather than listed by hand, so pages
and endpoints added later are walked and fuzzed without anyone editing these tests.

A route is a leaf of the URL configuration: its full name, its parameters, whether it is
under the translated (i18n) patterns, and the model its view shows, where the view says
(a DetailView's or a viewset's queryset), so its parameters can be filled with real slugs
and ids. The parameters of views that do not say are filled from every model that has a
field of that name.
"""

import itertools
from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import LocalePrefixPattern, RegexPattern, RoutePattern
from django.utils import translation

LANGUAGES = ["en", "ja"]


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name"
    path: str  # the pattern as written, for messages
    params: tuple  # the URL parameters' names
    i18n: bool  # under i18n_patterns (served in every language)
    view: object

    @property
    def is_admin(self):
        return self.path.startswith("admin/")

    @property
    def is_api(self):
        return self.path.startswith("api/")

    @property
    def reads(self):
        """Whether the route answers a GET (a viewset's POST-only action, such as a
        record's review step, does not: it is walked by the write tests)."""
        actions = getattr(self.view, "actions", None)
        return actions is None or "get" in actions

    @property
    def model(self):
        """The model the view shows, where its class says."""
        view_class = getattr(self.view, "view_class", None) or getattr(self.view, "cls", None)
        for attribute in ("model", "queryset"):
            value = getattr(view_class, attribute, None)
            model = getattr(value, "model", value)
            if isinstance(model, type) and hasattr(model, "_meta"):
                return model
        serializer = getattr(view_class, "serializer_class", None)
        model = getattr(getattr(serializer, "Meta", None), "model", None)
        if model is None and hasattr(view_class, "get_queryset"):
            # A view that builds its queryset per request (Project.objects.public()).
            view = view_class()
            view.request, view.args, view.kwargs = RequestFactory().get("/"), (), {}
            view.request.user = AnonymousUser()
            try:
                model = view.get_queryset().model
            except Exception:  # a view whose queryset needs more of a request: fill from every model
                model = None
        return model


def _params(pattern):
    if isinstance(pattern, RoutePattern):
        return tuple(pattern.converters)
    if isinstance(pattern, RegexPattern):
        return tuple(pattern.regex.groupindex)
    return ()


def routes():
    """Every named leaf route of the site's URL configuration."""
    found = []

    def walk(patterns, prefix, namespace, i18n, params):
        for entry in patterns:
            pattern = entry.pattern
            here = prefix + ("" if isinstance(pattern, LocalePrefixPattern) else str(pattern))
            if isinstance(entry, URLResolver):
                ns = ":".join(filter(None, [namespace, entry.namespace]))
                walk(
                    entry.url_patterns,
                    here,
                    ns,
                    i18n or isinstance(pattern, LocalePrefixPattern),
                    params + _params(pattern),
                )
            elif isinstance(entry, URLPattern) and entry.name:
                name = ":".join(filter(None, [namespace, entry.name]))
                found.append(Route(name, here, params + _params(pattern), i18n, entry.callback))

    walk(get_resolver().url_patterns, "", "", False, ())
    unique = {}
    for route in found:
        unique.setdefault((route.name, route.params), route)
    return list(unique.values())


def public_routes():
    """The public site: everything that is neither the admin nor the API."""
    return [r for r in routes() if not r.is_admin and not r.is_api and r.name != "set_language"]


def api_routes():
    """The API's routes a reader GETs."""
    return [r for r in routes() if r.is_api and r.reads]


def _values(route, param, extra):
    """Real values for one URL parameter: the view's model's values of that field, else
    every model's; `extra` adds values (a draft's slug) by parameter name."""
    if param == "format":
        return ["json", "csv", "xml"]
    models = [route.model] if route.model is not None else []
    models = [m for m in models if _has_field(m, param)] or [m for m in _all_models() if _has_field(m, param)]
    values = []
    for model in models:
        field = "pk" if param == "pk" else param
        values += [str(v) for v in model._base_manager.values_list(field, flat=True).order_by(field)]
    values += extra.get(param, [])
    return list(dict.fromkeys(values))


def _has_field(model, name):
    if name == "pk":
        return True
    return any(f.name == name for f in model._meta.concrete_fields)


def _all_models():
    return [
        m for m in apps.get_models() if m._meta.app_label in {"partners", "projects"} and "Historical" not in m.__name__
    ]


def urls_for(route, extra=None, languages=LANGUAGES):
    """Every URL of a route: each combination of its parameters' real values, in each
    language if it is translated. Values its converters refuse are left out."""
    extra = extra or {}
    choices = [_values(route, p, extra) for p in route.params]
    urls = []
    for language in languages if route.i18n else LANGUAGES[:1]:
        with translation.override(language):
            for combination in itertools.product(*choices):
                try:
                    urls.append(reverse(route.name, kwargs=dict(zip(route.params, combination, strict=True))))
                except NoReverseMatch:
                    continue
    return list(dict.fromkeys(urls))


def body(response):
    """The whole body of a response, streamed or not, as text."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode(response.charset or "utf-8", errors="replace")
