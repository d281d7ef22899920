"""The viewset base of the API: ETags with If-Match (optimistic locking for writes),
streaming CSV, and refused unknown query parameters."""

import csv
from collections.abc import Mapping

from django.db import transaction
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core import review
from core.api.exceptions import PreconditionFailed
from core.api.permissions import ReviewPermission
from core.api.queryparams import StrictQueryParamsMixin, unknown_parameter_message, wants_bom
from core.api.renderers import CSVRenderer, EchoWriter, ORJSONRenderer, csv_cell
from core.api.serializers import StrictCharField
from core.cache.responses import body_etag, etag_matches, streamed_etag
from core.models import CHANGE_REASON_MAX, ReviewedModel, reason_problem
from core.spreadsheet import BOM


class CSVStreamMixin:
    """A list endpoint asked for CSV streams every matching row (no paging), with the
    viewset's `csv_columns`: (header, function of the object) pairs, names beside codes."""

    csv_columns = ()

    def csv_records(self, objects):
        """What the `csv_columns` functions read, one per object: the objects themselves,
        or (where a viewset says so) their representations."""
        return objects

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
        rows = self.csv_records(rows)
        writer = csv.writer(EchoWriter())

        bom = BOM if wants_bom(request) else ""

        def lines():
            yield bom + writer.writerow([header for header, _ in self.csv_columns])
            for obj in rows:
                yield writer.writerow([csv_cell(get(obj)) for _, get in self.csv_columns])

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["ETag"] = streamed_etag(request)  # If-None-Match: core.cache.responses
        name = self.get_queryset().model._meta.verbose_name_plural
        response["Content-Disposition"] = f'attachment; filename="{str(name).replace(" ", "-")}.csv"'
        return response


def change_reason_header(request):
    """The request's X-Change-Reason, checked as the payload's change_reason is (a 400
    naming the header when it is too long), whether or not the payload gives one too;
    None without one."""
    header = request.headers.get("X-Change-Reason")
    if header is None:
        return None
    try:
        header = StrictCharField(max_length=CHANGE_REASON_MAX, allow_blank=True).run_validation(header)
    except serializers.ValidationError as exc:
        raise exceptions.ValidationError({"X-Change-Reason": exc.detail}) from None
    return header.strip() or None


class ETagMixin:
    """Every representation carries a strong ETag, a digest of its bytes
    (core.cache.responses.body_etag), so it changes whenever any byte could: the record's
    own fields, its linked partners, fields and program, its activities and citations,
    the language, the drafts the reader may see. If-None-Match answers 304. PUT, PATCH and
    DELETE with an If-Match that does not name the current representation (compared
    strongly: a weak tag never matches) answer 412 and change nothing: the row is locked,
    checked and written in one transaction, so two clients cannot both win. A 201 and a
    200 after a write carry the new representation's ETag, and a 201 its Location, so a
    client can write again without reading first. Writes record the API user in the
    change history."""

    def representation_etag(self, data):
        """The ETag of `data` as this request's JSON renderer writes it (compact JSON for any
        other renderer, such as the browsable API's): what a GET with the same Accept
        header gets, byte for byte."""
        renderer = getattr(self.request, "accepted_renderer", None)
        media_type = getattr(self.request, "accepted_media_type", None)
        if renderer is None or renderer.media_type != "application/json":
            renderer, media_type = ORJSONRenderer(), "application/json"
        return body_etag(renderer.render(data, media_type, self.get_renderer_context()))

    def retrieve(self, request, *args, **kwargs):
        instance = self.get_object()
        data = self.get_serializer(instance).data
        etag = self.representation_etag(data)
        # Not django.utils.cache.get_conditional_response: it would answer a stale If-Match
        # on this GET with a 412 and its 304 would lose DRF's headers (see etag_matches).
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
        if not etag_matches(header, self.representation_etag(self.get_serializer(locked).data), strong=True):
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
        return Response(data, headers={"ETag": self.representation_etag(data)})

    def destroy(self, request, *args, **kwargs):
        reason = change_reason_header(request)  # a bad header is a 400 before anything is read
        with transaction.atomic():
            instance = self._locked_object(request)
            self._check_if_match(request, instance)
            if isinstance(instance, ReviewedModel) and instance.is_published():
                raise exceptions.ValidationError(
                    {"publication_state": ["This record is published: withdraw it (with a reason) before deleting it."]}
                )
            problem = reason_problem(instance, {}, reason)
            if problem is not None:
                raise exceptions.ValidationError({"X-Change-Reason": [f"{problem[1]} Give an X-Change-Reason header."]})
            instance._history_user = request.user
            instance._change_reason = reason
            instance.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    def perform_create(self, serializer):
        with transaction.atomic():
            serializer.save()

    def get_success_headers(self, data):
        # DRF's Location (the new record's `url`), and its ETag.
        return {**super().get_success_headers(data), "ETag": self.representation_etag(data)}


class TrackerViewSet(StrictQueryParamsMixin, ETagMixin, CSVStreamMixin, viewsets.ModelViewSet):
    lookup_field = "slug"


class ReviewStepSerializer(serializers.Serializer):
    """What a review step's request may carry: a comment (required to send a record
    back, and to withdraw a published one); or the X-Change-Reason header."""

    comment = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=CHANGE_REASON_MAX,
        help_text="Why: the comment sending a record back, or the reason for a withdrawal; shown in the history.",
    )
    change_reason = StrictCharField(
        required=False, allow_blank=True, max_length=CHANGE_REASON_MAX, help_text="The same as `comment`."
    )

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = [name for name in data if name not in self.fields]
            if unknown:
                raise serializers.ValidationError(
                    {str(name)[:100]: [unknown_parameter_message(name, list(self.fields), "field")] for name in unknown}
                )
        return super().to_internal_value(data)


IF_MATCH_REVIEWED = "The ETag of the version you reviewed: the step is refused (412) if it changed since."


def _review_step(step, description):
    def view(self, request, slug=None):
        return self.review_step(request, step)

    # Named before the decorators read the name (the router maps POST to it by name).
    view.__name__ = step
    view = action(
        detail=True, methods=["post"], url_path=step.replace("_", "-"), permission_classes=[ReviewPermission]
    )(view)
    return extend_schema(
        request=ReviewStepSerializer,
        summary=description.split(" (")[0].rstrip("."),
        description=description,
        parameters=[OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, description=IF_MATCH_REVIEWED)],
    )(view)


class ReviewActionsMixin:
    """The review workflow of a viewset's records (core.review), as POST actions on a
    record: `submit/` and `withdraw/` for editors, `approve/` and `send-back/` for
    reviewers. Each answers the record as saved, with its new ETag; a step the record's
    state does not allow is a 400 naming `publication_state`, one the user's role does
    not allow a 403, a record the user may not see a 404, and an If-Match naming
    another version a 412."""

    def review_step(self, request, step):
        payload = ReviewStepSerializer(data=request.data if request.data else {})
        payload.is_valid(raise_exception=True)
        given, header = payload.validated_data, change_reason_header(request)
        text = given.get("comment") or given.get("change_reason") or header
        with transaction.atomic():
            instance = self._locked_object(request)
            self._check_if_match(request, instance)
            try:
                saved = review.take_step(step, instance, request.user, text)
            except review.ReviewRefused as exc:
                if exc.forbidden:
                    raise exceptions.PermissionDenied(exc.message) from None
                raise exceptions.ValidationError({"publication_state": [exc.message]}) from None
            saved.refresh_from_db()
            data = self.get_serializer(saved).data
        return Response(data, headers={"ETag": self.representation_etag(data)})

    submit = _review_step(review.SUBMIT, "Submit a draft for review (editors).")
    approve = _review_step(
        review.APPROVE, "Approve a record in review, publishing it (reviewers who did not make its latest change)."
    )
    send_back = _review_step(review.SEND_BACK, "Send a record in review back to draft, with a comment (reviewers).")
    withdraw = _review_step(
        review.WITHDRAW, "Withdraw a record in review or published to draft (editors; a published one needs a reason)."
    )
