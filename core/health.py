"""/healthz: whether this app server can reach its database and its cache.

Load balancers poll it; it answers 503 when either is down so traffic moves elsewhere.
An unreachable cache is logged once an outage (core.cache.health), not once a poll.
"""

import logging
import time
import uuid

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from core.cache import health as cachehealth

logger = logging.getLogger(__name__)


def _check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache():
    key = f"healthz:{uuid.uuid4().hex}"
    cache.set(key, "ok", 10)
    if cache.get(key) != "ok":
        raise RuntimeError("the cache did not return what was stored")
    cache.delete(key)


@never_cache
def healthz(request):
    checks = {}
    for name, check in (("database", _check_database), ("cache", _check_cache)):
        started = time.monotonic()
        try:
            check()
        except Exception as exc:  # any failure of a dependency is reported, never raised
            if name == "cache":
                cachehealth.failed("the health check", exc)
            else:
                logger.warning("healthz: %s is down: %s", name, exc)
            checks[name] = {"status": "down", "error": exc.__class__.__name__}
        else:
            if name == "cache":
                cachehealth.worked()
            checks[name] = {"status": "ok"}
        checks[name]["ms"] = round((time.monotonic() - started) * 1000, 1)
    healthy = all(c["status"] == "ok" for c in checks.values())
    return JsonResponse({"status": "ok" if healthy else "down", "checks": checks}, status=200 if healthy else 503)
