"""Whether this process can reach the cache. Every part of the tracker that carries on
without the cache (the response cache, the counts, the data version, throttling, the WSGI
front, /healthz) reports its failures and successes here, so an outage is logged twice,
when it starts and when it ends, instead of with a traceback on every request.

An error the cache answers with (out of memory, read-only, a value that will not load)
is not an outage: the cache is reachable. It is logged with its traceback, at most once
every ERROR_LOG_SECONDS for each part and kind of error.
"""

import logging
import threading
import time

try:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
except ImportError:  # the cache is not Redis
    UNREACHABLE = (OSError,)
else:
    # OSError covers a socket's own errors, where a library lets them through.
    UNREACHABLE = (OSError, RedisConnectionError, RedisTimeoutError)

ERROR_LOG_SECONDS = 300

logger = logging.getLogger(__name__)


class CacheHealth:
    """One process's view of the cache: reachable or not, and when errors were last logged."""

    def __init__(self):
        self.lock = threading.Lock()
        self.down_since = None
        self.errors_logged = {}

    def failed(self, what: str, exc: BaseException) -> None:
        """`what` (say "the API response cache") could not use the cache."""
        if not isinstance(exc, UNREACHABLE):
            self._error(what, exc)
            return
        if self.down_since is not None:
            return
        with self.lock:
            if self.down_since is not None:
                return
            self.down_since = time.monotonic()
        logger.warning(
            "The cache is unreachable (%s failed: %s: %s). Requests are answered without it; "
            "this is logged again when it is back.",
            what,
            type(exc).__name__,
            exc,
        )

    def worked(self) -> None:
        """Something used the cache successfully. Costs one attribute test while it is up."""
        if self.down_since is None:
            return
        with self.lock:
            if self.down_since is None:
                return
            seconds, self.down_since = time.monotonic() - self.down_since, None
        logger.warning("The cache is reachable again, after %.0f s.", seconds)

    def _error(self, what, exc):
        key = (what, type(exc))
        now = time.monotonic()
        with self.lock:
            last = self.errors_logged.get(key)
            if last is not None and now - last < ERROR_LOG_SECONDS:
                return
            self.errors_logged[key] = now
        logger.warning(
            "Cache error in %s: the cache is reachable but answered with an error (logged at most every %d s)",
            what,
            ERROR_LOG_SECONDS,
            exc_info=exc,
        )


health = CacheHealth()
failed = health.failed
worked = health.worked
