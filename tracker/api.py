"""Shared plumbing of the REST API: paging, permissions, the error shape, ETags with
If-Match (optimistic locking for writes) and streaming CSV."""

import csv
import hashlib
import json
import logging

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.http import JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, permissions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from tracker import cachehealth
from tracker.apicache import CachedCountPaginator, KeysetPaginationMixin, etag_matches

MAX_PAGE_SIZE = 500


class TrackerPagination(KeysetPaginationMixin, PageNumberPagination):
    """`page` and `page_size` (at most 500); a bad page size is a 400, not a default.
    `cursor` pages by keyset where the view declares `cursor_keys`; counts are cached
    per data version (tracker/apicache.py)."""

    django_paginator_class = CachedCountPaginator
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            raise exceptions.ValidationError({"page_size": ["A whole number is required."]}) from None
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise exceptions.ValidationError({"page_size": [f"Must be between 1 and {MAX_PAGE_SIZE}."]})
        return size

    def get_page_number(self, request, paginator):
        number = super().get_page_number(request, paginator)
        if number in self.last_page_strings:
            return number
        if not str(number).isdigit() or int(number) < 1:
            raise exceptions.ValidationError({self.page_query_param: ["A whole number of at least 1 is required."]})
        return number

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}
        return parameters


logger = logging.getLogger(__name__)


class FailOpenThrottleMixin:
    """Throttles count requests in the cache. If the cache (Redis) is unreachable, let the
    request through and say so in the log (once an outage: tracker.cachehealth): an
    outage of the cache must not turn every API request into a server error (/healthz
    reports the cache as down)."""

    def allow_request(self, request, view):
        try:
            allowed = super().allow_request(request, view)
        except Exception as exc:
            cachehealth.failed("throttling", exc)
            return True
        if getattr(self, "key", None) is not None:  # DRF's SimpleRateThrottle read the cache
            cachehealth.worked()
        return allowed


class AnonThrottle(FailOpenThrottleMixin, AnonRateThrottle):
    pass


class UserThrottle(FailOpenThrottleMixin, UserRateThrottle):
    pass


class ReadOrModelPermissions(permissions.DjangoModelPermissions):
    """Anyone may read (the querysets decide what each user sees: drafts only for staff
    with view permission); writing needs the model's add/change/delete permission."""

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        return super().has_permission(request, view)


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


class CSVRenderer(BaseRenderer):
    """`?format=csv` or `Accept: text/csv`. List endpoints stream their own rows
    (CSVStreamMixin); this renders what is left: reports and error bodies."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if isinstance(data, CSVTable):
            return "".join(csv_lines(data, header=data.header)).encode("utf-8")
        if isinstance(data, dict) and "errors" in data:
            rows = [{"field": e.get("field", ""), "code": e["code"], "detail": e["detail"]} for e in data["errors"]]
        elif isinstance(data, dict) and "results" in data:
            rows = data["results"]
        elif isinstance(data, list):
            rows = data
        else:
            rows = [data]
        return "".join(csv_lines(rows)).encode("utf-8")


class CSVTable(list):
    """Rows with their columns, so a CSV with no rows still has its header row (and a
    body, so a Content-Type). `filename` names the download."""

    def __init__(self, rows, *, header, filename):
        super().__init__(rows)
        self.header = list(header)
        self.filename = filename


def csv_table_response(table: CSVTable):
    response = Response(table)
    response["Content-Disposition"] = f'attachment; filename="{table.filename}"'
    return response


class _Echo:
    def write(self, value):
        return value


def csv_lines(rows, header=None):
    """CSV text a line at a time, for plain dict rows (nested values as JSON)."""
    writer = csv.writer(_Echo())
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        if header:
            yield writer.writerow(header)
        return
    header = header or list(first.keys())
    yield writer.writerow(header)
    yield writer.writerow([_cell(first.get(h)) for h in header])
    for row in rows:
        yield writer.writerow([_cell(row.get(h)) for h in header])


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


class CSVStreamMixin:
    """A list endpoint asked for CSV streams every matching row (no paging), with the
    viewset's `csv_columns`: (header, function of the object) pairs, names beside codes."""

    csv_columns = ()

    def get_renderers(self):
        renderers = super().get_renderers()
        if getattr(self, "action", None) == "list":
            return renderers
        return [r for r in renderers if not isinstance(r, CSVRenderer)]

    def list(self, request, *args, **kwargs):
        if getattr(request.accepted_renderer, "format", None) != "csv":
            return super().list(request, *args, **kwargs)
        queryset = self.filter_queryset(self.get_queryset())
        paging = self.paginator is not None and any(
            request.query_params.get(name) not in (None, "")
            for name in (self.paginator.page_query_param, self.paginator.page_size_query_param)
        )
        # Without page or page_size, CSV is the whole selection, streamed; with them, that page.
        rows = self.paginate_queryset(queryset) if paging else queryset.iterator(chunk_size=2000)
        writer = csv.writer(_Echo())

        def lines():
            yield writer.writerow([header for header, _ in self.csv_columns])
            for obj in rows:
                yield writer.writerow([_cell(get(obj)) for _, get in self.csv_columns])

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        name = self.get_queryset().model._meta.verbose_name_plural
        response["Content-Disposition"] = f'attachment; filename="{str(name).replace(" ", "-")}.csv"'
        return response


def etag_for(instance, data=None):
    version = getattr(instance, "version", None)
    if version is not None:
        return f'"{instance._meta.model_name}-{instance.pk}-v{version}"'
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:32]
    return f'"{digest}"'


class ETagMixin:
    """Detail responses carry an ETag; If-None-Match answers 304. PUT, PATCH and DELETE
    with an If-Match that no longer matches answer 412 and change nothing: the row is
    locked, checked and written in one transaction, so two clients cannot both win.
    Writes record the API user in the change history."""

    def retrieve(self, request, *args, **kwargs):
        instance = self.get_object()
        data = self.get_serializer(instance).data
        etag = etag_for(instance, data)
        if etag_matches(request.headers.get("If-None-Match"), etag):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        return Response(data, headers={"ETag": etag})

    def _locked_object(self, request):
        """The record, re-read under a row lock. Deleted while this request waited for
        the lock: 412 when the client said which version it meant to change, else 404."""
        instance = self.get_object()
        locked = type(instance).objects.select_for_update().filter(pk=instance.pk).first()
        if locked is None:
            if request.headers.get("If-Match") is not None:
                raise PreconditionFailed("The record was deleted since you read it (If-Match names no current record).")
            raise exceptions.NotFound("The record was deleted while this request waited for it.")
        return locked

    def _check_if_match(self, request, locked):
        header = request.headers.get("If-Match")
        if header is None:
            return
        if not header.strip():
            raise exceptions.ValidationError({"If-Match": ["Give the ETag you read, or leave the header out."]})
        current = etag_for(locked, None if hasattr(locked, "version") else self.get_serializer(locked).data)
        if not etag_matches(header, current):
            raise PreconditionFailed()

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        with transaction.atomic():
            instance = self._locked_object(request)
            serializer = self.get_serializer(instance, data=request.data, partial=partial)
            # A payload that could never be written is a 400 whatever the ETag says.
            serializer.is_valid(raise_exception=True)
            self._check_if_match(request, instance)
            instance._history_user = request.user
            saved = serializer.save()
            saved.refresh_from_db()
            data = self.get_serializer(saved).data
        return Response(data, headers={"ETag": etag_for(saved, data)})

    def destroy(self, request, *args, **kwargs):
        with transaction.atomic():
            instance = self._locked_object(request)
            self._check_if_match(request, instance)
            instance._history_user = request.user
            instance.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    def perform_create(self, serializer):
        with transaction.atomic():
            serializer.save()


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
