"""The API's fast paths (issue 5): a JSON renderer through orjson, the response cache with
ETags, counts cached per data version, and keyset (cursor) paging.

Everything cached here is keyed on the data version (core.cache.version), which every
write moves on when it commits, in the cache every app server shares: after a write has
returned, no server serves what it replaced. With a cache that is not shared (local
memory, the default), API_RESPONSE_CACHE and API_COUNT_CACHE are off unless turned on.
If the cache fails, requests take the ordinary path, and core.cache.health logs it.
"""

import hashlib

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import DatabaseError
from django.http import HttpResponse, HttpResponseNotModified, QueryDict
from django.http.cookie import parse_cookie
from django.http.request import split_domain_port, validate_host

from core.cache import health as cachehealth
from core.cache.version import VERSION_KEY, floor


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
    there (core.cache.version.VersionFloor)."""
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
    WSGI front (core.cache.front) can replay an entry without Django. A request with
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
                        key = None  # the view meets the database's error itself (core.db_errors)
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
