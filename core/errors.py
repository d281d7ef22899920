"""The site's error views: under /api/ every error is the API's JSON error shape
(`{"errors": [{"code", "detail"}]}`), whatever raised it (a body over the size limit, a
malformed request, a missing page, a server error); elsewhere Django's pages, from the
site's templates (400.html, 403.html, 404.html, 500.html)."""

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.views import defaults


def _api_error(status, code, detail):
    return JsonResponse({"errors": [{"code": code, "detail": detail}]}, status=status)


def _is_api(request):
    return request.path.startswith("/api/")


def bad_request(request, exception):
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        from core.api.exceptions import PayloadTooLarge

        return _api_error(413, "too_large", str(PayloadTooLarge().detail))
    return _api_error(400, "bad_request", "The request could not be understood.")


def permission_denied(request, exception):
    if not _is_api(request):
        return defaults.permission_denied(request, exception)
    return _api_error(403, "permission_denied", "You do not have permission to perform this action.")


def page_not_found(request, exception):
    if not _is_api(request):
        return defaults.page_not_found(request, exception)
    return _api_error(404, "not_found", f"No API endpoint at {request.path}.")


def server_error(request):
    if not _is_api(request):
        return defaults.server_error(request)
    return _api_error(500, "server_error", "The server could not answer this request.")
