"""The response cache's hits answered in front of Django, from each worker's own memory,
while Redis keeps every worker told of the data version (issue 5).

tracker.wsgi wraps the application in ResponseCacheFront. For a request the response
cache may answer (core.cache.responses.response_key), the front looks in its process's copy
of the entries APIResponseCacheMiddleware stored in Redis. An entry is good only for the
data version it was made under, and the front knows the current version without asking
Redis on every request: its connection subscribes to changes of the version key
(Redis client-side caching, `CLIENT TRACKING ON BCAST`, RESP3). Redis pushes the
invalidation to every subscribed connection in the same event-loop turn as its reply to
the write that bumped the version, so it is on its way to every server before that
write's own HTTP response is; the front reads what has arrived (one non-blocking read)
before it answers. A connection that breaks, or a push it cannot read, drops the
process's copy: the next request asks Redis again, and checks the version it gets
against the database's (core.cache.version.VersionFloor), since a Redis that restarted
from an old snapshot brings back an old version with the entries made under it.

A hit costs that read and a dictionary lookup; a local miss fetches the entry from
Redis (one round trip); a miss there goes to Django, with the version passed along.
Where the cache is not a single plain `redis://` server (local memory, TLS, several
servers), or API_FRONT_CACHE_BYTES is 0, the front asks the cache on every request
instead (core.cache.responses.lookup): one round trip, and no reliance on the push arriving
before the next request.
"""

import contextlib
import os
import socket
import threading
from collections import OrderedDict
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisSerializer
from django.db import DatabaseError

from core.cache import health as cachehealth
from core.cache import responses as apicache
from core.cache.version import VERSION_KEY, floor

_SERIALIZER = RedisSerializer()


class RedisProtocolError(Exception):
    pass


class _Incomplete(Exception):
    pass


def _encode(*args) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def _parse(buf: bytes, pos: int):
    """One RESP3 frame from buf at pos: (value, is_push, next position); _Incomplete if the
    frame has not all arrived. Errors come back as RedisProtocolError values."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise _Incomplete
    kind, line, pos = buf[pos : pos + 1], buf[pos + 1 : end], end + 2
    if kind in (b"+", b"(", b","):
        return line.decode(), False, pos
    if kind == b":":
        return int(line), False, pos
    if kind == b"#":
        return line == b"t", False, pos
    if kind == b"_":
        return None, False, pos
    if kind == b"-":
        return RedisProtocolError(line.decode(errors="replace")), False, pos
    if kind in (b"$", b"=", b"!"):
        size = int(line)
        if size < 0:
            return None, False, pos
        if len(buf) < pos + size + 2:
            raise _Incomplete
        data = buf[pos : pos + size]
        if kind == b"!":
            data = RedisProtocolError(data.decode(errors="replace"))
        return data, False, pos + size + 2
    if kind in (b"*", b">", b"~", b"%", b"|"):
        count = int(line)
        if count < 0:
            return None, False, pos
        if kind in (b"%", b"|"):
            count *= 2
        items = []
        for _ in range(count):
            item, _push, pos = _parse(buf, pos)
            items.append(item)
        if kind == b"|":  # an attribute: the frame it describes follows
            return _parse(buf, pos)
        return items, kind == b">", pos
    raise RedisProtocolError(f"unexpected RESP type {kind!r}")


class VersionWatch:
    """One process's (one thread's) connection to Redis, subscribed to the version key.
    With a `floor` (core.cache.version.VersionFloor), each version read from Redis is
    checked against it, and each new connection has it checked against the database."""

    def __init__(self, location, full_key, timeout=2.0, floor=None):
        url = urlsplit(location)
        self.address = (url.hostname or "127.0.0.1", url.port or 6379)
        self.username = unquote(url.username) if url.username else None
        self.password = unquote(url.password) if url.password else None
        self.db = int(url.path.strip("/") or 0)
        self.full_key = full_key.encode()
        self.timeout = timeout
        self.floor = floor
        self.sock = None
        self.buf = b""
        self.version = None
        self.entries = OrderedDict()
        self.entry_bytes = 0

    # connection

    def _connect(self):
        self.close()
        sock = socket.create_connection(self.address, timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock, self.buf = sock, b""
        hello = ["HELLO", "3"]
        if self.password is not None:
            hello += ["AUTH", self.username or "default", self.password]
        self._command(*hello)
        if self.db:
            self._command("SELECT", self.db)
        self._command("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", self.full_key)
        self.client_id = self._command("CLIENT", "ID")
        self.sock.settimeout(0.0)
        if self.floor is not None:
            self.floor.recheck()

    def close(self):
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
        self.sock, self.buf = None, b""
        self._forget()

    def _forget(self):
        self.version = None
        self.entries.clear()
        self.entry_bytes = 0

    def _command(self, *args):
        """Send a command and wait for its reply (pushes on the way are handled)."""
        self.sock.settimeout(self.timeout)
        try:
            self.sock.sendall(_encode(*args))
            while True:
                frame = self._frame()
                if frame is None:
                    data = self.sock.recv(65536)
                    if not data:
                        raise ConnectionError("Redis closed the connection")
                    self.buf += data
                    continue
                value, push = frame
                if push:
                    self._on_push(value)
                    continue
                if isinstance(value, RedisProtocolError):
                    raise value
                return value
        finally:
            if self.sock is not None:
                self.sock.settimeout(0.0)

    def _frame(self):
        if not self.buf:
            return None
        try:
            value, push, pos = _parse(self.buf, 0)
        except _Incomplete:
            return None
        self.buf = self.buf[pos:]
        return value, push

    def _on_push(self, value):
        # ["invalidate", [keys]] or ["invalidate", None] (a flush); anything else is ignored.
        if value and value[0] == b"invalidate":
            keys = value[1] if len(value) > 1 else None
            if keys is None or self.full_key in keys:
                self._forget()

    def _drain(self):
        """Read whatever Redis has pushed since the last request, without waiting."""
        while True:
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                break
            if not data:
                raise ConnectionError("Redis closed the connection")
            self.buf += data
        while (frame := self._frame()) is not None:
            value, push = frame
            if not push:
                raise RedisProtocolError("a reply nobody asked for")
            self._on_push(value)

    # the cache

    @staticmethod
    def _loads(data):
        # Values as Django's Redis backend stores them (integers bare, the rest pickled).
        return None if data is None else _SERIALIZER.loads(data)

    def current_version(self):
        try:
            if self.sock is None:
                self._connect()
            else:
                self._drain()
            if self.version is not None:
                return self.version
            stored = self._loads(self._command("GET", self.full_key))
        except Exception:
            self.close()  # whatever was pushed meanwhile is lost with the connection
            raise
        # Asks the database only after a new connection, or for a version missing or gone back.
        self.version = stored if self.floor is None else self.floor.checked(stored)
        return self.version

    def get_entry(self, key, full_key, limit):
        """The entry for key, of the current version: from this process's copy, else from
        Redis (and then kept); None if Redis has none of this version."""
        version = self.current_version()
        if version is None:
            return None, None
        entry = self.entries.get(key)
        if entry is not None:
            self.entries.move_to_end(key)
            return version, entry
        try:
            entry = self._loads(self._command("GET", full_key))
        except Exception:
            self.close()
            raise
        if self.version != version:  # the version moved while we asked
            return None, None
        if entry is None or entry[0] != version:
            return version, None
        size = len(entry[2])
        if size <= limit:
            self.entries[key] = entry
            self.entry_bytes += size
            while self.entry_bytes > limit:
                _, dropped = self.entries.popitem(last=False)
                self.entry_bytes -= len(dropped[2])
        return version, entry


def _plain_redis_location():
    """The cache's one plain redis:// (or redis:// without TLS) location, or None."""
    backend = settings.CACHES["default"]
    if not backend["BACKEND"].endswith("RedisCache"):
        return None
    location = backend.get("LOCATION")
    if isinstance(location, (list, tuple)):
        location = location[0] if len(location) == 1 else None
    if not isinstance(location, str) or "," in location or not location.startswith("redis://"):
        return None
    return location


class ResponseCacheFront:
    """WSGI middleware: the response cache's hits, before Django. See the module."""

    def __init__(self, application):
        self.application = application
        self.local = threading.local()
        self.limit = settings.API_FRONT_CACHE_BYTES
        # API_FRONT_CACHE_BYTES=0: no copy in the process; every hit asks the cache.
        self.location = _plain_redis_location() if self.limit > 0 else None
        self.backend = caches["default"]
        self.full_version_key = self.backend.make_key(VERSION_KEY) if self.location else None

    def _watch(self):
        watch = getattr(self.local, "watch", None)
        if watch is None or watch.pid != os.getpid():  # a forked child needs its own connection
            watch = self.local.watch = VersionWatch(self.location, self.full_version_key, floor=floor)
            watch.pid = os.getpid()
        return watch

    def _lookup(self, key):
        if self.location is None:
            return apicache.lookup(key)
        return self._watch().get_entry(key, self.backend.make_key(key), self.limit)

    def __call__(self, environ, start_response):
        if settings.API_RESPONSE_CACHE:
            key = apicache.response_key(environ)
            if key is not None:
                try:
                    version, entry = self._lookup(key)
                except DatabaseError:
                    pass  # Django answers, and meets the database's error itself
                except Exception as exc:
                    cachehealth.failed("the API response cache (WSGI front)", exc)
                else:
                    cachehealth.worked()
                    if entry is not None:
                        return self._replay(environ, entry, start_response)
                    if version is not None:
                        environ[apicache.LOOKED_UP] = (key, version)
        return self.application(environ, start_response)

    @staticmethod
    def _replay(environ, entry, start_response):
        _, headers, body = entry
        if apicache.etag_matches(environ.get("HTTP_IF_NONE_MATCH"), dict(headers).get("ETag")):
            start_response("304 Not Modified", apicache.not_modified_headers(headers))
            return []
        start_response("200 OK", list(headers))
        return [body]
