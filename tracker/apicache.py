"""The API's fast paths (issue 5): a JSON renderer through orjson, the response cache with
ETags, counts cached per data version, and keyset (cursor) paging.

Everything cached here is keyed on the data version (tracker.dataversion), which every
write moves on when it commits, in the cache every app server shares: after a write has
returned, no server serves what it replaced. With a cache that is not shared (local
memory, the default), API_RESPONSE_CACHE and API_COUNT_CACHE are off unless turned on.
If the cache fails, requests take the ordinary path, and tracker.cachehealth logs it.
"""

import base64
import binascii
import hashlib
import json

import orjson
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import DatabaseError
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.http import HttpResponse, HttpResponseNotModified, QueryDict
from django.http.cookie import parse_cookie
from django.http.request import split_domain_port, validate_host
from django.utils.functional import cached_property
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.utils import encoders
from rest_framework.utils.urls import remove_query_param, replace_query_param

from tracker import cachehealth
from tracker.dataversion import VERSION_KEY, floor


class ORJSONRenderer(JSONRenderer):
    """DRF's JSONRenderer, byte for byte, through orjson: compact UTF-8, DRF's encoder for
    what JSON has no type for (lazy translations, datetimes with `Z`, decimals), and
    U+2028/U+2029 escaped. Indented output (`Accept: application/json; indent=4`, the
    browsable API) still goes through DRF's own renderer."""

    _default = encoders.JSONEncoder().default
    _options = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if self.ensure_ascii or not self.compact or self.get_indent(accepted_media_type, renderer_context or {}):
            return super().render(data, accepted_media_type, renderer_context)
        body = orjson.dumps(data, default=self._default, option=self._options)
        return body.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")


def _connected(connection):
    connection.on_connect()
    # A new connection may be to a Redis restarted from an old snapshot.
    floor.recheck()


def _redis_client(backend):
    """A client of the backend's servers, kept per process and thread, on a connection pool
    of its own whose every new connection has the data version's floor checked again."""
    client = backend.__dict__.get("_tracker_client")
    if client is None:
        redis_cache = backend._cache
        url = redis_cache._servers[redis_cache._get_connection_pool_index(False)]
        pool = redis_cache._pool_class.from_url(url, **redis_cache._pool_options, redis_connect_func=_connected)
        client = backend._tracker_client = redis_cache._client(connection_pool=pool)
    return client


def _get_many(keys):
    """cache.get_many: one round trip. With Redis, through a client kept per process and
    thread: Django's backend builds a new client object (and its table of ~170 response
    callbacks) for every call, which is most of a cache hit's own cost."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        try:
            client = _redis_client(backend)
            made = [backend.make_and_validate_key(key) for key in keys]
            loads = backend._cache._serializer.loads
            values = client.mget(made)
            return {key: loads(value) for key, value in zip(keys, values, strict=True) if value is not None}
        except AttributeError:  # another Django version's internals: the ordinary way
            pass
    return backend.get_many(keys)


def _etag(body: bytes) -> str:
    return f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'


def etag_matches(header, etag) -> bool:
    """Whether an If-None-Match or If-Match header names this ETag (or is `*`)."""
    if not header or not etag:
        return False
    candidates = {c.strip() for c in header.split(",")}
    return "*" in candidates or etag in candidates or f"W/{etag}" in candidates


def not_modified_headers(headers):
    return [(name, value) for name, value in headers if name.lower() not in {"content-type", "content-length"}]


JSON_ACCEPTS = frozenset({"", "*/*", "application/json"})
# Where the WSGI front leaves its lookup (key, version) for the middleware after a miss.
LOOKED_UP = "tracker.response_cache"


def response_key(meta):
    """The response cache's key for a request (its WSGI environ, `request.META`), or None
    if the request is not one every anonymous client gets the same JSON for: a GET under
    /api/ with no credentials, no session, JSON asked for, from an allowed host. The key
    holds all the answer, and every middleware in front of the view, depends on: scheme
    (and the proxy's header), host, path and query as sent, language cookie and header,
    Accept. Computed from the environ alone, so the WSGI front and the middleware agree."""
    if meta.get("REQUEST_METHOD") != "GET":
        return None
    path = meta.get("PATH_INFO", "")
    if not path.startswith("/api/") or "HTTP_AUTHORIZATION" in meta:
        return None
    accept = meta.get("HTTP_ACCEPT", "")
    if accept not in JSON_ACCEPTS:
        return None
    query = meta.get("QUERY_STRING", "")
    if "format=" in query and QueryDict(query).get("format", "json") != "json":
        return None
    language_cookie = ""
    if meta.get("HTTP_COOKIE"):
        cookies = parse_cookie(meta["HTTP_COOKIE"])
        if settings.SESSION_COOKIE_NAME in cookies:
            return None
        language_cookie = cookies.get(settings.LANGUAGE_COOKIE_NAME, "")
    host = meta.get("HTTP_X_FORWARDED_HOST", "") if settings.USE_X_FORWARDED_HOST else ""
    host = host or meta.get("HTTP_HOST") or f"{meta.get('SERVER_NAME', '')}:{meta.get('SERVER_PORT', '')}"
    domain, _port = split_domain_port(host)
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    if not domain or not validate_host(domain, allowed):
        return None  # Django answers it (a 400), never the cache
    proxy_header = settings.SECURE_PROXY_SSL_HEADER
    raw = repr(
        (
            meta.get("wsgi.url_scheme"),
            meta.get(proxy_header[0], "") if proxy_header else "",
            host,
            meta.get("SCRIPT_NAME", ""),
            path,
            query,
            meta.get("HTTP_ACCEPT_LANGUAGE", ""),
            language_cookie,
            accept,
        )
    )
    return "tracker:api-response:" + hashlib.blake2b(raw.encode(), digest_size=20).hexdigest()


def lookup(key):
    """(the current data version, the entry stored under key if it is of that version).
    Cache errors are raised; so are the database's, when the version had to be checked
    there (tracker.dataversion.VersionFloor)."""
    found = _get_many([VERSION_KEY, key])
    cachehealth.worked()
    version = floor.checked(found.get(VERSION_KEY))
    entry = found.get(key)
    return version, (entry if entry is not None and entry[0] == version else None)


class APIResponseCacheMiddleware:
    """Anonymous JSON GETs of the API answered from the shared cache, before sessions,
    authentication, the view and throttling: a hit costs one cache round trip (the data
    version and the entry, read together). Every JSON answer of the API gets an ETag
    (a digest of its body, where the view set none) and `If-None-Match` gets a 304.

    First in MIDDLEWARE, so what it stores carries every header the stack adds, and the
    WSGI front (tracker.cachefront) can replay an entry without Django. A request with
    `If-None-Match` that misses is answered in full by the view and then compared here,
    so the entry is stored for the next client. Cache hits are not throttled: they cost
    less than the throttle's own bookkeeping. If the cache is unreachable, requests take
    the ordinary path."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method != "GET" or not request.path_info.startswith("/api/"):
            return self.get_response(request)
        key = version = None
        if settings.API_RESPONSE_CACHE:
            looked_up = request.META.pop(LOOKED_UP, None)
            if looked_up is not None:
                key, version = looked_up
            else:
                key = response_key(request.META)
                if key is not None:
                    try:
                        version, entry = lookup(key)
                    except DatabaseError:
                        key = None  # the view meets the database's error itself (tracker.db_errors)
                    except Exception as exc:
                        cachehealth.failed("the API response cache", exc)
                        key = None
                    else:
                        if entry is not None:
                            return self._replay(request, entry)
        asked = request.META.pop("HTTP_IF_NONE_MATCH", None) if key is not None else None
        response = self.get_response(request)
        if key is None:
            asked = request.headers.get("If-None-Match")
        if response.status_code != 200 or response.streaming:
            return response
        if not response.get("Content-Type", "").startswith("application/json"):
            return response
        etag = response.get("ETag")
        if not etag:
            etag = _etag(response.content)
            response["ETag"] = etag
        if key is not None and self._storable(request, response):
            entry = (version, list(response.items()), response.content)
            try:
                cache.set(key, entry, settings.API_CACHE_SECONDS)
            except Exception as exc:
                cachehealth.failed("the API response cache", exc)
        if etag_matches(asked, etag):
            return _not_modified(response.items())
        return response

    def _storable(self, request, response):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return False
        cache_control = response.get("Cache-Control", "")
        return not response.cookies and "private" not in cache_control and "no-store" not in cache_control

    def _replay(self, request, entry):
        _, headers, body = entry
        if etag_matches(request.headers.get("If-None-Match"), dict(headers).get("ETag")):
            return _not_modified(headers)
        response = HttpResponse(body)
        for name, value in headers:
            response[name] = value
        return response


def _not_modified(headers) -> HttpResponseNotModified:
    response = HttpResponseNotModified()
    for name, value in not_modified_headers(headers):
        response[name] = value
    return response


class CachedCountPaginator(Paginator):
    """Django's paginator, with the count remembered per data version (API_COUNT_CACHE):
    paging through a list, or asking for the same filter again, runs COUNT(*) once per
    data version, not once per page. The key is the query's own SQL, so two lists share
    a count only when they are the same rows."""

    @cached_property
    def count(self):
        query = getattr(self.object_list, "query", None)
        if not settings.API_COUNT_CACHE or query is None:
            return super().count
        try:
            sql, params = query.sql_with_params()
        except EmptyResultSet:
            return 0
        raw = repr((self.object_list.db, sql, params)).encode()
        key = "tracker:api-count:" + hashlib.blake2b(raw, digest_size=20).hexdigest()
        try:
            version, entry = lookup(key)
        except DatabaseError:
            return super().count
        except Exception as exc:
            cachehealth.failed("the count cache", exc)
            return super().count
        if entry is not None:
            return entry[1]
        count = super().count
        try:
            cache.set(key, (version, count), settings.API_CACHE_SECONDS)
        except Exception as exc:
            cachehealth.failed("the count cache", exc)
        return count


_INT_TYPES = {
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "PositiveBigIntegerField",
}
_STR_TYPES = {"CharField", "TextField", "SlugField"}


def encode_cursor(position, reverse=False) -> str:
    raw = json.dumps({"p": list(position), "r": bool(reverse)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class KeysetPaginationMixin:
    """Cursor paging (`?cursor=`: empty for the first page, then the `next` and
    `previous` links) for views that declare `cursor_keys`: expressions that order
    their rows totally, the last one unique (the primary key). A page is a range scan
    from the cursor's position, `WHERE (keys) > (position) ORDER BY keys LIMIT n`, so the
    last page costs what the first does; with a matching index it reads only its rows.
    The envelope is the same as with `page` (count, next, previous, results); the count
    is the cached one. Cursor paging follows the default order, so `ordering` and `page`
    are refused with it."""

    cursor_query_param = "cursor"
    cursor_mode = False

    def paginate_queryset(self, queryset, request, view=None):
        params = request.query_params
        if self.cursor_query_param not in params:
            self.cursor_mode = False
            return super().paginate_queryset(queryset, request, view)
        keys = getattr(view, "cursor_keys", None)
        if not keys:
            raise exceptions.ValidationError({"cursor": ["Cursor paging is not offered on this list."]})
        if "page" in params:
            raise exceptions.ValidationError({"cursor": ["Page by cursor or by page number, not both."]})
        if params.get("ordering"):
            raise exceptions.ValidationError(
                {"ordering": ["Cursor paging follows the default order: leave ordering out, or page by number."]}
            )
        self.cursor_mode = True
        self.request = request
        size = self.get_page_size(request)
        # The same count (and the same cache entry) as paging by number.
        self.cursor_count = self.django_paginator_class(queryset, size).count
        names = [f"_cursor_{i}" for i in range(len(keys))]
        queryset = queryset.annotate(**dict(zip(names, keys, strict=True)))
        query = queryset.query
        compiler = query.get_compiler(queryset.db)
        resolved = [query.annotations[name] for name in names]
        position, backwards = self._decode(params.get(self.cursor_query_param, ""), resolved)
        if position is not None:
            sql, sql_params = [], []
            for expression in resolved:
                part, part_params = compiler.compile(expression)
                sql.append(part)
                sql_params.extend(part_params)
            operator = "<" if backwards else ">"
            condition = f"({', '.join(sql)}) {operator} ({', '.join(['%s'] * len(sql))})"
            queryset = queryset.filter(RawSQL(condition, (*sql_params, *position), output_field=BooleanField()))
        order = [f"-{n}" if backwards else n for n in names]
        rows = list(queryset.order_by(*order)[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        if backwards:
            rows.reverse()

        def key_of(row):
            return [row[n] if isinstance(row, dict) else getattr(row, n) for n in names]

        if backwards:
            self.next_position = key_of(rows[-1]) if rows else position
            self.previous_position = key_of(rows[0]) if more else None
        else:
            self.next_position = key_of(rows[-1]) if more else None
            self.previous_position = (key_of(rows[0]) if rows else position) if position is not None else None
        return rows

    def get_paginated_response(self, data):
        if not self.cursor_mode:
            return super().get_paginated_response(data)
        return Response(
            {
                "count": self.cursor_count,
                "next": self.cursor_link(self.next_position, False),
                "previous": self.cursor_link(self.previous_position, True),
                "results": data,
            }
        )

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        if getattr(view, "cursor_keys", None):
            parameters.append(
                {
                    "name": self.cursor_query_param,
                    "required": False,
                    "in": "query",
                    "description": "Cursor paging: empty for the first page, then the value in the next or previous "
                    "link. Follows the default order; not with page or ordering.",
                    "schema": {"type": "string"},
                }
            )
        return parameters

    def _decode(self, token, resolved):
        if token == "":
            return None, False
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            value = json.loads(raw)
            position, backwards = value["p"], value["r"]
            if not isinstance(position, list) or not isinstance(backwards, bool) or len(position) != len(resolved):
                raise ValueError
            for item, expression in zip(position, resolved, strict=True):
                kind = expression.output_field.get_internal_type()
                if kind in _INT_TYPES:
                    if not isinstance(item, int) or isinstance(item, bool) or not -(2**63) < item < 2**63:
                        raise ValueError
                elif kind in _STR_TYPES:
                    if not isinstance(item, str) or "\x00" in item:
                        raise ValueError
                else:
                    raise ValueError
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
            raise exceptions.ValidationError(
                {"cursor": ["Not a valid cursor: use the next or previous link."]}
            ) from None
        return position, backwards

    def cursor_link(self, position, reverse):
        if position is None:
            return None
        url = remove_query_param(self.request.build_absolute_uri(), self.page_query_param)
        return replace_query_param(url, self.cursor_query_param, encode_cursor(position, reverse))
