"""The API's response cache: anonymous JSON reads stored in the shared cache under the data
version (core.cache.version), keyed by Django's own cache-key helpers, with ETags; and the
versioned lookup the cached counts (core.api.pagination) share.

Every write moves the data version on when it commits, and the version is the key prefix,
so after a write has returned no server serves what it replaced. What else an entry's key
varies on is what the response says it varies on: its `Vary` header, learned per URL by
`django.utils.cache.learn_cache_key`, and the language (Django's keys end with it). With a
cache that is not shared (local memory, the default), API_RESPONSE_CACHE and
API_COUNT_CACHE are off unless turned on. If the cache fails, requests take the ordinary
path, and core.cache.health logs it.
"""

import hashlib
import re
import weakref

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache, RedisSerializer
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.db import DatabaseError
from django.http import HttpResponse, HttpResponseNotModified, QueryDict
from django.http.cookie import parse_cookie
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.cache import get_cache_key, has_vary_header, learn_cache_key, patch_vary_headers
from django.utils.http import parse_etags
from django.utils.module_loading import import_string

from core.cache import health as cachehealth
from core.cache.version import VERSION_KEY, committed_version, floor
from core.release import release

JSON_ACCEPTS = frozenset({"", "*/*", "application/json"})
# Where the WSGI front leaves the data version it looked up under, for the middleware.
LOOKED_UP = "tracker.response_cache"


def cacheable(meta) -> bool:
    """Whether the response cache may answer a request (its WSGI environ, `request.META`)
    at all: a GET under /api/ with no credentials, no session, JSON asked for. What the
    answer varies on is for its key to say (`response_key`)."""
    if meta.get("REQUEST_METHOD") != "GET":
        return False
    if not meta.get("PATH_INFO", "").startswith("/api/") or "HTTP_AUTHORIZATION" in meta:
        return False
    if meta.get("HTTP_ACCEPT", "") not in JSON_ACCEPTS:
        return False
    query = meta.get("QUERY_STRING", "")
    if "format=" in query and QueryDict(query).get("format", "json") != "json":
        return False
    cookie = meta.get("HTTP_COOKIE")
    return not (cookie and settings.SESSION_COOKIE_NAME in parse_cookie(cookie))


def key_prefix(version: int) -> str:
    """The `key_prefix` of Django's cache-key helpers for a data version, in this release
    (core.release: a deploy that changes answers starts from fresh entries)."""
    return f"tracker-api.{release()}.{version}"


_locale = LocaleMiddleware(lambda request: None)


def prepared(request) -> bool:
    """Make the request ready for Django's cache-key helpers before the middleware that
    sets what they read has run; False if Django refuses its host (it answers a 400, never
    the cache). The keys end with `request.LANGUAGE_CODE`, which LocaleMiddleware sets
    later in the stack: it is set here by LocaleMiddleware itself, which then chooses the
    same language again."""
    try:
        request.get_host()
    except DisallowedHost:
        return False
    if not hasattr(request, "LANGUAGE_CODE"):
        _locale.process_request(request)
    return True


def request_for(environ):
    """A Django request for a WSGI environ the cache may answer, ready for the key helpers
    (for the WSGI front, before Django has made its own); None if it may not."""
    if not cacheable(environ):
        return None
    request = WSGIRequest(environ)
    return request if prepared(request) else None


class HeaderLists:
    """The `cache` Django's get_cache_key and learn_cache_key are handed: the list of
    request headers each URL's answers vary on (their `Vary`), kept where `get` and `set`
    keep them and remembered in this process, as they change only with the code. The
    lists' keys hold the data version, so `forget` whenever it moves."""

    LIMIT = 4096

    def __init__(self, get, set=None):
        self._get, self._set = get, set
        self.remembered = {}  # what get_cache_key reads to build a key without asking
        self.version = None

    def get(self, key, default=None):
        found = self.remembered.get(key)
        if found is None:
            found = self._get(key)
            if found is not None:
                self._remember(key, found)
        return default if found is None else found

    def set(self, key, value, timeout=None):
        self._set(key, value, timeout)
        self._remember(key, value)

    def forget(self, version=None):
        self.remembered = {}
        self.version = version

    def _remember(self, key, value):
        if len(self.remembered) >= self.LIMIT:
            self.remembered = {}
        self.remembered[key] = value


_header_lists = weakref.WeakKeyDictionary()


def header_lists() -> HeaderLists:
    """The header lists kept in the cache (one per thread, as Django's backends are)."""
    backend = caches["default"]
    lists = _header_lists.get(backend)
    if lists is None:
        ref = weakref.ref(backend)  # a strong one, in the value, would keep the key alive
        lists = HeaderLists(lambda key: ref().get(key), lambda key, value, timeout: ref().set(key, value, timeout))
        _header_lists[backend] = lists
    return lists


def redis_settings():
    """How Django's Redis backend connects, from settings.CACHES["default"] as Django reads
    it (django.core.cache.backends.redis.RedisCacheClient): (its first server, the pool
    class, the options the pool is given, the serializer of the values); None if the cache
    is not Redis. The first server takes every write, so it holds the current version."""
    config = settings.CACHES["default"]
    if not isinstance(caches["default"], RedisCache):
        return None
    location = config.get("LOCATION")
    servers = re.split("[;,]", location) if isinstance(location, str) else list(location)
    options = dict(config.get("OPTIONS", {}))
    pool_class = options.pop("pool_class", None)
    serializer = options.pop("serializer", None)
    if isinstance(pool_class, str):
        pool_class = import_string(pool_class)
    if isinstance(serializer, str):
        serializer = import_string(serializer)
    if callable(serializer):
        serializer = serializer()
    if isinstance(options.get("parser_class"), str):
        options["parser_class"] = import_string(options["parser_class"])
    import redis

    return servers[0], pool_class or redis.ConnectionPool, options, serializer or RedisSerializer()


def _connected(connection):
    connection.on_connect()
    # A new connection may be to a Redis restarted from an old snapshot.
    floor.recheck()


_clients = weakref.WeakKeyDictionary()


def redis_client(backend):
    """A redis-py client of the backend's first server, on a connection pool of its own
    whose every new connection has the data version's floor checked again (Django's
    backend has no hook for that), with the backend's serializer: (client, loads)."""
    found = _clients.get(backend)
    if found is None:
        import redis

        url, pool_class, options, serializer = redis_settings()
        pool = pool_class.from_url(url, redis_connect_func=_connected, **options)
        found = _clients[backend] = (redis.Redis(connection_pool=pool), serializer.loads)
    return found


def _get_many(keys):
    """cache.get_many: one round trip; with Redis, through redis_client()."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return backend.get_many(keys)
    client, loads = redis_client(backend)
    values = client.mget([backend.make_and_validate_key(key) for key in keys])
    return {key: loads(value) for key, value in zip(keys, values, strict=True) if value is not None}


def lookup(key):
    """(the current data version, the entry stored under key if it is of that version):
    entries that hold the version they were made under, as the counts. Cache errors are
    raised; so are the database's, when the version had to be checked there
    (core.cache.version.VersionFloor)."""
    found = _get_many([VERSION_KEY, key])
    cachehealth.worked()
    version = floor.checked(found.get(VERSION_KEY))
    entry = found.get(key)
    return version, (entry if entry is not None and entry[0] == version else None)


def lookup_response(request):
    """(the current data version, the stored answer to a prepared request or None): one
    round trip (the version and the entry, read together) when this thread knows the URL's
    header list under the version it saw last, and that is still the version; else the
    list is read too, and the entry after it. Errors as `lookup`."""
    lists = header_lists()
    guess = lists.version
    key = None if guess is None else get_cache_key(request, key_prefix(guess), cache=lists.remembered)
    found = _get_many([VERSION_KEY] if key is None else [VERSION_KEY, key])
    cachehealth.worked()
    version = floor.checked(found.get(VERSION_KEY))
    if version == guess and key is not None:
        return version, found.get(key)
    if version != guess:
        lists.forget(version)
    key = get_cache_key(request, key_prefix(version), cache=lists)
    return version, (None if key is None else cache.get(key))


def store(request, response, version) -> None:
    """Keep the answer under the key Django's learn_cache_key makes of the response's Vary."""
    lists = header_lists()
    key = learn_cache_key(request, response, settings.API_CACHE_SECONDS, key_prefix(version), cache=lists)
    cache.set(key, (list(response.items()), response.content), settings.API_CACHE_SECONDS)


# Not Django's set_response_etag (an MD5 of the body): these are the ETags clients
# already hold, and a different digest would answer their next If-None-Match in full.
def body_etag(body: bytes) -> str:
    """The strong ETag of a representation: a digest of its bytes, so it changes whenever
    any byte does (a renamed partner, a new activity, another language, drafts shown)."""
    return f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'


def streamed_etag(request, *, weak=False) -> str:
    """The strong ETag of an answer too long to hold before sending (a list's CSV, the IATI
    document): a digest of what decides its bytes, not of the bytes. The data version the
    database last handed out moves on every committed write, so a change to any record
    shown gives a new tag, as does a new release (core.release); the request's path and
    query, the Accept header, the language and the user (the drafts they may see) decide
    the rest. Deterministic: the same
    version and request give the same bytes (every export is in a stated order); `weak`
    where they give the same content but not the same bytes (the IATI document's
    generated-datetime), so If-Match never takes it (RFC 9110, 8.8.1)."""
    user = getattr(request, "user", None)
    who = f"user:{user.pk}" if user is not None and user.is_authenticated else "anonymous"
    parts = [release(), str(committed_version()), request.get_full_path(),
             request.headers.get("Accept", ""), translation.get_language() or "", who]  # fmt: skip
    etag = body_etag("\n".join(parts).encode("utf-8", "surrogateescape"))
    return f"W/{etag}" if weak else etag


# Not django.utils.cache.get_conditional_response: it answers a GET whose If-Match does
# not match with a 412 (the API ignores If-Match on reads), compares If-Match strongly
# (the API has always taken W/ tags for writes too). Its 304s keep the headers Django's
# keep (NOT_MODIFIED_HEADERS).
def etag_matches(header, etag, *, strong=False) -> bool:
    """Whether an If-None-Match or If-Match header names this ETag (or is `*`). Weak
    comparison (a `W/` tag matches its strong twin) for If-None-Match; `strong` for
    If-Match, where a weak tag never matches (RFC 9110, 13.1.1)."""
    if not header or not etag:
        return False
    if header == etag:  # the usual case, a client sending back the one tag it was given
        return True
    candidates = parse_etags(header)  # Django's parser: quoted tags, commas inside them, `*`
    if "*" in candidates:
        return True
    if strong:
        return etag in candidates
    return etag in {c.removeprefix("W/") for c in candidates}


# What a 304 carries of the 200 it stands for: the headers RFC 9110 (15.4.5) says a 304
# must repeat, and nothing else ("SHOULD NOT generate representation metadata other
# than the above"); the same list as django.utils.cache's 304s. The client's stored 200
# keeps its other headers (its type, language, security policy).
NOT_MODIFIED_HEADERS = frozenset(
    {"cache-control", "content-location", "date", "etag", "expires", "last-modified", "vary"}
)


def not_modified_headers(headers):
    return [(name, value) for name, value in headers if name.lower() in NOT_MODIFIED_HEADERS]


def header(headers, name):
    """The value of header `name` (as spelled) in a list of (name, value) pairs, or None."""
    for key, value in headers:
        if key == name:
            return value
    return None


class APIResponseCacheMiddleware:
    """Anonymous JSON GETs of the API answered from the shared cache, before sessions,
    authentication, the view and throttling: a hit costs one cache round trip (the data
    version and the entry, read together). Every answer of the API gets an ETag: a digest
    of its body where the view set none, and for a streamed one (a list's CSV, the IATI
    document) the view's `streamed_etag`. `If-None-Match` gets a 304, and every answer
    says how it may be cached (caching_headers).

    First in MIDDLEWARE, so what it stores carries every header the stack adds, and the
    WSGI front (core.cache.front) can replay an entry without Django. A request with
    `If-None-Match` that misses is answered in full by the view and then compared here,
    so the entry is stored for the next client. Cache hits are not throttled: they cost
    less than the throttle's own bookkeeping. If the cache is unreachable, requests take
    the ordinary path."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith("/api/"):
            return self.get_response(request)
        if request.method != "GET":
            return caching_headers(request, self.get_response(request))
        version = None
        if settings.API_RESPONSE_CACHE:
            version = request.META.pop(LOOKED_UP, None)
            if version is None and cacheable(request.META) and prepared(request):
                try:
                    version, entry = lookup_response(request)
                except DatabaseError:
                    pass  # the view meets the database's error itself (core.db_errors)
                except Exception as exc:
                    cachehealth.failed("the API response cache", exc)
                else:
                    if entry is not None:
                        return self._replay(request, entry)
        asked = request.META.pop("HTTP_IF_NONE_MATCH", None) if version is not None else None
        response = caching_headers(request, self.get_response(request))
        if version is None:
            asked = request.headers.get("If-None-Match")
        if response.status_code == 200 and response.streaming and response.has_header("ETag"):
            if etag_matches(asked, response["ETag"]):
                # The stream never started, so nothing was read. Not response.close(): that
                # sends request_finished, which the server sends again for the 304.
                return _not_modified(response.items())
            return response
        if response.status_code != 200 or response.streaming:
            return response
        etag = response.get("ETag")
        if not etag:
            etag = body_etag(response.content)
            response["ETag"] = etag
        json = response.get("Content-Type", "").startswith("application/json")
        if version is not None and json and self._storable(request, response):
            try:
                store(request, response, version)
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
        return (
            not response.cookies
            and "private" not in cache_control
            and "no-store" not in cache_control
            and not has_vary_header(response, "*")
        )

    def _replay(self, request, entry):
        headers, body = entry
        if etag_matches(request.headers.get("If-None-Match"), header(headers, "ETag")):
            return _not_modified(headers)
        response = HttpResponse(body)
        for name, value in headers:
            response[name] = value
        return response


def caching_headers(request, response):
    """What every API answer says of caching it. `Vary` names `Accept` (every endpoint
    negotiates its format) and `Authorization` (a token's answers are its own) beside what
    the stack adds (Accept-Language, Cookie).
    `Cache-Control`, where the view said nothing: a read may be stored but must be
    revalidated every time (`no-cache`: its ETag makes that a 304), by any cache when
    nobody signed in asked (`public`), else only by the asker's own (`private`: drafts,
    the user's view); a write, a throttled request and a server error must not be stored
    (`no-store`)."""
    patch_vary_headers(response, ["Accept", "Authorization"])
    if "Cache-Control" not in response:
        user = getattr(request, "user", None)
        if request.method not in ("GET", "HEAD") or response.status_code == 429 or response.status_code >= 500:
            response["Cache-Control"] = "no-store"
        elif user is not None and user.is_authenticated:
            response["Cache-Control"] = "private, no-cache"
        else:
            response["Cache-Control"] = "public, no-cache"
    return response


def _not_modified(headers) -> HttpResponseNotModified:
    response = HttpResponseNotModified()
    for name, value in not_modified_headers(headers):
        response[name] = value
    return response
