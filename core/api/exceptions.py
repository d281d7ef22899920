"""One error shape for the whole API: {"errors": [{"code", "detail", "field"?}]}."""

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.settings import api_settings

from core.api.authentication import not_authenticated_detail


def api_exception_handler(exc, context):
    """One error shape for the whole API:
    {"errors": [{"code": "...", "detail": "...", "field": "name"?}]}."""
    # Imported here: DRF loads this module while rest_framework.views is being imported.
    from rest_framework.views import exception_handler

    if isinstance(exc, ProtectedError | RestrictedError):
        objects = getattr(exc, "protected_objects", None) or getattr(exc, "restricted_objects", ())
        names = ", ".join(sorted({str(o) for o in objects})[:5])
        exc = Conflict(f"Still in use by other records and cannot be deleted: {names}.")
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        exc = exceptions.ParseError("Too many parameters or fields.")
    if isinstance(exc, exceptions.NotAuthenticated):
        detail = not_authenticated_detail(context.get("request"))
        if detail is not None:
            exc = exceptions.NotAuthenticated(detail)
    response = exception_handler(exc, context)
    if response is None:
        return None
    errors = []

    def walk(detail, field=None):
        if isinstance(detail, dict):
            for key, value in detail.items():
                name = key if key != api_settings.NON_FIELD_ERRORS_KEY else None
                walk(value, f"{field}.{name}" if field and name else (name or field))
        elif isinstance(detail, list):
            for item in detail:
                walk(item, field)
        else:
            entry = {"code": getattr(detail, "code", "error"), "detail": str(detail)}
            if field:
                entry["field"] = field
            errors.append(entry)

    data = response.data
    if not isinstance(exc, exceptions.ValidationError) and isinstance(data, dict) and set(data) == {"detail"}:
        # NotFound, PermissionDenied, Throttled...: about the request, not a field.
        data = [data["detail"]]
    walk(data)
    response.data = {"errors": errors}
    return response


@csrf_exempt  # nothing is written: no CSRF failure page in place of the 404
def api_not_found(request, *args, **kwargs):
    """Any other path under /api/v1/: a 404 in the API's error shape, not the site's page."""
    body = {"errors": [{"code": "not_found", "detail": f"No API endpoint at {request.path}."}]}
    return JsonResponse(body, status=404)


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The record changed since you read it (If-Match does not match its ETag): read it again."
    default_code = "precondition_failed"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is larger than the API accepts."
    default_code = "too_large"

    def __init__(self, detail=None, code=None):
        from django.conf import settings

        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if detail is None and limit:
            detail = f"The request body is larger than the API accepts ({limit:,} bytes at most)."
        super().__init__(detail, code)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The record is still in use by other records."
    default_code = "conflict"
