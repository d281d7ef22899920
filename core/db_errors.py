"""A database outage answers 503 at once — a JSON error for the API, a plain page for
people — rather than a traceback or a hang. With CONN_HEALTH_CHECKS on, the first
request after the database comes back opens a fresh connection, so no restart is needed.
"""

import logging

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

# A fixed page: rendering a template could itself need what is down.
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Service unavailable · Capacity Building Tracker</title></head>
<body><main><h1>Service unavailable</h1>
<p>The tracker cannot reach its database just now. Please try again in a minute.</p></main></body></html>
"""

RETRY_AFTER_SECONDS = 30


def _unavailable(request):
    wants_json = request.path.startswith("/api/") or "json" in request.headers.get("Accept", "")
    if wants_json:
        response = JsonResponse(
            {"errors": [{"code": "service_unavailable", "detail": "The database is unavailable; try again shortly."}]},
            status=503,
        )
    else:
        response = HttpResponse(PAGE, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _is_outage(exc):
    if isinstance(exc, InterfaceError | OperationalError):
        return True
    # psycopg reports a dropped connection in the middle of a query as a DatabaseError
    # whose cause is an operational error.
    return isinstance(exc, DatabaseError) and isinstance(exc.__cause__, InterfaceError | OperationalError)


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exc):
        if _is_outage(exc):
            logger.error("Database unavailable: %s", exc)
            return _unavailable(request)
        return None
