"""Paging: `page` and `page_size`, cursor (keyset) pages, and counts cached per data version."""

import base64
import binascii
import hashlib
import json

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import DatabaseError
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.utils.functional import cached_property
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from core.cache import health as cachehealth
from core.cache.responses import lookup


class CachedCountPaginator(Paginator):
    """Django's paginator, with the count remembered per data version (API_COUNT_CACHE):
    paging through a list, or asking for the same filter again, runs COUNT(*) once per
    data version, not once per page. The key is the query's own SQL, so two lists share
    a count only when they are the same rows."""

    @cached_property
    def count(self):
        query = getattr(self.object_list, "query", None)
        if not settings.API_COUNT_CACHE or query is None:
            return super().count
        try:
            sql, params = query.sql_with_params()
        except EmptyResultSet:
            return 0
        raw = repr((self.object_list.db, sql, params)).encode()
        key = "tracker:api-count:" + hashlib.blake2b(raw, digest_size=20).hexdigest()
        try:
            version, entry = lookup(key)
        except DatabaseError:
            return super().count
        except Exception as exc:
            cachehealth.failed("the count cache", exc)
            return super().count
        if entry is not None:
            return entry[1]
        count = super().count
        try:
            cache.set(key, (version, count), settings.API_CACHE_SECONDS)
        except Exception as exc:
            cachehealth.failed("the count cache", exc)
        return count


_INT_TYPES = {
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "PositiveBigIntegerField",
}


_STR_TYPES = {"CharField", "TextField", "SlugField"}


def encode_cursor(position, reverse=False) -> str:
    raw = json.dumps({"p": list(position), "r": bool(reverse)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class KeysetPaginationMixin:
    """Cursor paging (`?cursor=`: empty for the first page, then the `next` and
    `previous` links) for views that declare `cursor_keys`: expressions that order
    their rows totally, the last one unique (the primary key). A page is a range scan
    from the cursor's position, `WHERE (keys) > (position) ORDER BY keys LIMIT n`, so the
    last page costs what the first does; with a matching index it reads only its rows.
    The envelope is the same as with `page` (count, next, previous, results); the count
    is the cached one. Cursor paging follows the default order, so `ordering` and `page`
    are refused with it."""

    cursor_query_param = "cursor"
    cursor_mode = False

    def paginate_queryset(self, queryset, request, view=None):
        params = request.query_params
        if self.cursor_query_param not in params:
            self.cursor_mode = False
            return super().paginate_queryset(queryset, request, view)
        keys = getattr(view, "cursor_keys", None)
        if not keys:
            raise exceptions.ValidationError({"cursor": ["Cursor paging is not offered on this list."]})
        if "page" in params:
            raise exceptions.ValidationError({"cursor": ["Page by cursor or by page number, not both."]})
        if params.get("ordering"):
            raise exceptions.ValidationError(
                {"ordering": ["Cursor paging follows the default order: leave ordering out, or page by number."]}
            )
        self.cursor_mode = True
        self.request = request
        size = self.get_page_size(request)
        # The same count (and the same cache entry) as paging by number.
        self.cursor_count = self.django_paginator_class(queryset, size).count
        names = [f"_cursor_{i}" for i in range(len(keys))]
        queryset = queryset.annotate(**dict(zip(names, keys, strict=True)))
        query = queryset.query
        compiler = query.get_compiler(queryset.db)
        resolved = [query.annotations[name] for name in names]
        position, backwards = self._decode(params.get(self.cursor_query_param, ""), resolved)
        if position is not None:
            sql, sql_params = [], []
            for expression in resolved:
                part, part_params = compiler.compile(expression)
                sql.append(part)
                sql_params.extend(part_params)
            operator = "<" if backwards else ">"
            condition = f"({', '.join(sql)}) {operator} ({', '.join(['%s'] * len(sql))})"
            queryset = queryset.filter(RawSQL(condition, (*sql_params, *position), output_field=BooleanField()))
        order = [f"-{n}" if backwards else n for n in names]
        rows = list(queryset.order_by(*order)[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        if backwards:
            rows.reverse()

        def key_of(row):
            return [row[n] if isinstance(row, dict) else getattr(row, n) for n in names]

        if backwards:
            self.next_position = key_of(rows[-1]) if rows else position
            self.previous_position = key_of(rows[0]) if more else None
        else:
            self.next_position = key_of(rows[-1]) if more else None
            self.previous_position = (key_of(rows[0]) if rows else position) if position is not None else None
        return rows

    def get_paginated_response(self, data):
        if not self.cursor_mode:
            return super().get_paginated_response(data)
        return Response(
            {
                "count": self.cursor_count,
                "next": self.cursor_link(self.next_position, False),
                "previous": self.cursor_link(self.previous_position, True),
                "results": data,
            }
        )

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        if getattr(view, "cursor_keys", None):
            parameters.append(
                {
                    "name": self.cursor_query_param,
                    "required": False,
                    "in": "query",
                    "description": "Cursor paging: empty for the first page, then the value in the next or previous "
                    "link. Follows the default order; not with page or ordering.",
                    "schema": {"type": "string"},
                }
            )
        return parameters

    def _decode(self, token, resolved):
        if token == "":
            return None, False
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            value = json.loads(raw)
            position, backwards = value["p"], value["r"]
            if not isinstance(position, list) or not isinstance(backwards, bool) or len(position) != len(resolved):
                raise ValueError
            for item, expression in zip(position, resolved, strict=True):
                kind = expression.output_field.get_internal_type()
                if kind in _INT_TYPES:
                    if not isinstance(item, int) or isinstance(item, bool) or not -(2**63) < item < 2**63:
                        raise ValueError
                elif kind in _STR_TYPES:
                    if not isinstance(item, str) or "\x00" in item:
                        raise ValueError
                else:
                    raise ValueError
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
            raise exceptions.ValidationError(
                {"cursor": ["Not a valid cursor: use the next or previous link."]}
            ) from None
        return position, backwards

    def cursor_link(self, position, reverse):
        if position is None:
            return None
        url = remove_query_param(self.request.build_absolute_uri(), self.page_query_param)
        return replace_query_param(url, self.cursor_query_param, encode_cursor(position, reverse))


MAX_PAGE_SIZE = 500


class TrackerPagination(KeysetPaginationMixin, PageNumberPagination):
    """`page` and `page_size` (at most 500); a bad page size is a 400, not a default.
    `cursor` pages by keyset where the view declares `cursor_keys`; counts are cached
    per data version (core/cache/responses.py)."""

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
