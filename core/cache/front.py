"""The response cache's hits answered in front of Django, from each worker's own memory,
while Redis keeps every worker told of the data version.

tracker.wsgi wraps the application in ResponseCacheFront. For a request the response
cache may answer (core.cache.responses.request_for), the front looks in its process's
copy of the entries APIResponseCacheMiddleware stored in Redis, under the key Django's
get_cache_key makes for the current data version. The front knows that version without
asking Redis on every request: its redis-py connection (RESP3) subscribes to changes of
the version key (Redis client-side caching, `CLIENT TRACKING ON BCAST`), and Redis pushes
the invalidation to every subscribed connection in the same event-loop turn as its reply
to the write that bumped the version, so it is on its way to every server before that
write's own HTTP response is; the front reads what has arrived (one non-blocking read)
before it answers. A connection that breaks, or a push it cannot read, drops the
process's copy: the next request connects again, and checks the version it gets against
the database's (core.cache.version.VersionFloor), since a Redis that restarted from an
old snapshot brings back an old version with the entries made under it.

A hit costs that read and two dictionary lookups (the request's key, the entry); a
local miss fetches what it lacks from Redis (a round trip each); a miss there goes to
Django, with the version passed along. Where the cache is not a single Redis server
(local memory, several servers), or API_FRONT_CACHE_BYTES is 0, the front asks the cache
on every request instead (core.cache.responses.lookup_response): one round trip, and no
reliance on the push arriving before the next request.
"""

import os
import threading
from collections import OrderedDict

from django.conf import settings
from django.core.cache import caches
from django.db import DatabaseError
from django.utils.cache import get_cache_key

from core.cache import health as cachehealth
from core.cache import responses as apicache
from core.cache.version import VERSION_KEY, floor

# What a push handler returns, so a read of pushes can tell them from a reply.
_PUSHED = object()


class VersionWatch:
    """One process's (one thread's) redis-py connection to Redis, subscribed to the version
    key (`full_key`), and the entries and header lists of the current version read through
    it. `make_key` makes a cache key into the Redis key (the backend's `make_key`); `pool_class`,
    `options` and `serializer` are the cache's own (core.cache.responses.redis_settings).
    With a `floor` (core.cache.version.VersionFloor), each version read from Redis is
    checked against it, and each new connection has it checked against the database."""

    def __init__(
        self, location, full_key, *, make_key=str, pool_class=None, options=None, serializer=None,
        timeout=2.0, floor=None,
    ):  # fmt: skip
        import redis
        from django.core.cache.backends.redis import RedisSerializer
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.full_key = full_key.encode()
        self.make_key = make_key
        self.floor = floor
        self.loads = (serializer or RedisSerializer()).loads
        connection_options = {
            **(options or {}),
            "protocol": 3,
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            # A broken connection fails the request it breaks under (Django answers it);
            # the next one connects again, through _connected.
            "retry": Retry(NoBackoff(), 0),
            "redis_connect_func": self._connected,
        }
        self.pool = (pool_class or redis.ConnectionPool).from_url(location, **connection_options)
        self.client = None
        self.client_id = None
        self._poller = self._poller_sock = None
        self.version = None
        self.entries = OrderedDict()
        self.entry_bytes = 0
        self.header_lists = apicache.HeaderLists(self.get)
        self.keys = {}  # a request's signature (_signature) -> its cache key, this version

    # connection

    def _connected(self, connection):
        """Every (re)connection: HELLO 3 and the rest of redis-py's handshake, then the
        subscription, and nothing kept from before."""
        connection.on_connect()
        # redis-py's own client-side cache (CacheProxyConnection) sets its handler so; the
        # parser has no other way in. Other pushes (none are asked for) are dropped.
        connection._parser.set_invalidation_push_handler(self._on_invalidation)
        connection._parser.set_pubsub_push_handler(lambda push: _PUSHED)
        connection.send_command("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", self.full_key)
        connection.read_response()
        connection.send_command("CLIENT", "ID")
        self.client_id = connection.read_response()
        self._forget()
        if self.floor is not None:
            self.floor.recheck()

    def close(self):
        """Drop the connection and what was read through it; the next read connects again."""
        if self.client is not None and self.client.connection is not None:
            self.client.connection.disconnect()
        self._forget()

    def _forget(self):
        self.version = None
        self.entries.clear()
        self.entry_bytes = 0
        self.header_lists.forget()
        self.keys.clear()

    def _on_invalidation(self, push):
        # ["invalidate", [keys]], or ["invalidate", None] for a flush.
        keys = push[1] if len(push) > 1 else None
        if keys is None or self.full_key in keys:
            self._forget()
        return _PUSHED

    def _drain(self):
        """Handle whatever Redis has pushed since the last request, without waiting."""
        from redis.exceptions import InvalidResponse, TimeoutError

        connection = self.client.connection
        # The usual case, nothing pushed, in one poll() of the socket (0.3 µs) rather than
        # redis-py's can_read(timeout=0), which sets the socket's timeout twice around a
        # recv (2 µs): this runs before every answer the front gives. redis-py's own check
        # decides whenever anything has arrived or is buffered.
        if not self._maybe_readable(connection):
            return
        while connection.can_read(timeout=0):
            try:
                pushed = connection.read_response(push_request=True, timeout=0, disconnect_on_error=False)
            except TimeoutError:  # part of a push: the rest is read next time
                break
            # None: a push redis-py handled itself (its maintenance notices).
            if pushed is not _PUSHED and pushed is not None:
                raise InvalidResponse("Redis sent a reply nobody asked for")

    def _maybe_readable(self, connection):
        sock = getattr(connection, "_sock", None)
        if sock is None or self._poller_sock is not sock:
            import select

            self._poller = select.poll() if sock is not None and hasattr(select, "poll") else None
            if self._poller is not None:
                self._poller.register(sock, select.POLLIN | select.POLLERR | select.POLLHUP)
            self._poller_sock = sock
        if self._poller is None:
            return True
        # Bytes redis-py has read but not parsed yet are in its buffer, not the socket; a
        # parser whose buffer this cannot see (hiredis) is always asked.
        buffered = getattr(getattr(connection._parser, "_buffer", None), "unread_bytes", None)
        if buffered is None or buffered():
            return True
        return bool(self._poller.poll(0))

    def _redis(self, command):
        """Run command(client); on any error, forget everything (what was pushed meanwhile
        is lost with the connection) and raise."""
        try:
            if self.client is None:
                import redis

                self.client = redis.Redis(connection_pool=self.pool, single_connection_client=True)
            return command(self.client)
        except Exception:
            self.close()
            raise

    # the cache

    def get(self, key):
        """The value stored under a cache key, from Redis (None if none)."""
        data = self._redis(lambda client: client.get(self.make_key(key)))
        return None if data is None else self.loads(data)

    def current_version(self):
        if self.client is not None:
            self._redis(lambda client: self._drain())
        if self.version is not None:
            return self.version
        data = self._redis(lambda client: client.get(self.full_key))
        stored = None if data is None else self.loads(data)
        # Asks the database only after a new connection, or for a version missing or gone back.
        self.version = stored if self.floor is None else self.floor.checked(stored)
        return self.version

    def get_entry(self, key, limit, version=None):
        """The entry under a cache key, from this process's copy, else from Redis (and then
        kept, up to `limit` bytes of bodies): (the current version, the entry or None).
        `version`: the current version, read by the caller for this request."""
        if version is None:
            version = self.current_version()
        entry = self.entries.get(key)
        if entry is not None:
            self.entries.move_to_end(key)
            return version, entry
        entry = self.get(key)
        if self.version != version:  # the version moved while we asked
            return None, None
        if entry is None:
            return version, None
        # Kept with what a conditional request needs, worked out once: its ETag and the
        # headers of a 304.
        headers, body = entry
        entry = (headers, body, apicache.header(headers, "ETag"), apicache.not_modified_headers(headers))
        size = len(body)
        if size <= limit:
            self.entries[key] = entry
            self.entry_bytes += size
            while self.entry_bytes > limit:
                _, dropped = self.entries.popitem(last=False)
                self.entry_bytes -= len(dropped[1])
        return version, entry

    KEYS_LIMIT = 4096

    def lookup_environ(self, environ, limit):
        """For a WSGI environ the cache may answer (apicache.cacheable): (the
        current version, the stored answer or None), or None when Django must answer
        (a host it refuses). Django's request and its cache key are made once for each
        request signature and version, and the key remembered: the same request again
        (every input of the key the same) costs a dictionary lookup, not the ~70 µs of
        building a request, choosing its language and hashing its URL and headers."""
        version = self.current_version()
        signature = _signature(environ)
        key = self.keys.get(signature)
        if key is None:
            request = apicache.request_for(environ)
            if request is None:
                return None
            key = get_cache_key(request, apicache.key_prefix(version), cache=self.header_lists)
            if self.version != version:
                return None, None
            if key is None:
                return version, None  # the URL's header list is not known yet: nothing kept
            if len(self.keys) >= self.KEYS_LIMIT:
                self.keys.clear()
            self.keys[signature] = key
        return self.get_entry(key, limit, version)


# What a request's cache key and Django's view of it (its host, scheme and language) can
# depend on, besides its headers.
_SIGNATURE_KEYS = (
    "REQUEST_METHOD", "wsgi.url_scheme", "SERVER_NAME", "SERVER_PORT", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING",
)  # fmt: skip


def _signature(environ):
    """Every input of a request's cache key: the request line, the server, every header
    (in the order the server gives them: the same headers in another order are another
    signature, whose key is worked out once more, the same key)."""
    return (
        tuple(environ.get(name) for name in _SIGNATURE_KEYS),
        tuple((name, value) for name, value in environ.items() if name.startswith("HTTP_")),
    )


def _single_redis():
    """The cache's Redis settings (core.cache.responses.redis_settings) if it is one server."""
    found = apicache.redis_settings()
    if found is None:
        return None
    location = settings.CACHES["default"].get("LOCATION")
    if isinstance(location, (list, tuple)) and len(location) != 1:
        return None
    if isinstance(location, str) and ("," in location or ";" in location):
        return None
    return found


class ResponseCacheFront:
    """WSGI middleware: the response cache's hits, before Django. See the module."""

    def __init__(self, application):
        self.application = application
        self.local = threading.local()
        self.limit = settings.API_FRONT_CACHE_BYTES
        # API_FRONT_CACHE_BYTES=0: no copy in the process; every hit asks the cache.
        self.redis = _single_redis() if self.limit > 0 else None
        self.location = self.redis[0] if self.redis else None
        self.backend = caches["default"]

    def _watch(self):
        watch = getattr(self.local, "watch", None)
        if watch is None or watch.pid != os.getpid():  # a forked child needs its own connection
            location, pool_class, options, serializer = self.redis
            watch = self.local.watch = VersionWatch(
                location, self.backend.make_key(VERSION_KEY), make_key=self.backend.make_key,
                pool_class=pool_class, options=options, serializer=serializer, floor=floor,
            )  # fmt: skip
            watch.pid = os.getpid()
        return watch

    def _lookup(self, environ):
        """(version, entry), or None when the cache may not answer."""
        if self.location is None:
            request = apicache.request_for(environ)
            return None if request is None else apicache.lookup_response(request)
        if not apicache.cacheable(environ):
            return None
        return self._watch().lookup_environ(environ, self.limit)

    def __call__(self, environ, start_response):
        if settings.API_RESPONSE_CACHE:
            try:
                found = self._lookup(environ)
            except DatabaseError:
                found = None  # Django answers, and meets the database's error itself
            except Exception as exc:
                cachehealth.failed("the API response cache (WSGI front)", exc)
                found = None
            if found is not None:
                cachehealth.worked()
                version, entry = found
                if entry is not None:
                    return self._replay(environ, entry, start_response)
                if version is not None:
                    environ[apicache.LOOKED_UP] = version
        return self.application(environ, start_response)

    @staticmethod
    def _replay(environ, entry, start_response):
        # (headers, body) from the cache, or (headers, body, ETag, 304 headers) from the
        # process's copy (VersionWatch.get_entry).
        headers, body, *known = entry
        etag, not_modified = known or (apicache.header(headers, "ETag"), None)
        if apicache.etag_matches(environ.get("HTTP_IF_NONE_MATCH"), etag):
            start_response("304 Not Modified", not_modified or apicache.not_modified_headers(headers))
            return []
        start_response("200 OK", list(headers))
        return [body]
