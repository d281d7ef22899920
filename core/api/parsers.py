"""The API's JSON parser: DRF's JSONParser through orjson, with a bound on nesting.

No record the API takes is nested more than a few levels deep; a body nested thousands of
levels is refused with a 400 before it reaches a serializer (Python's own recursion
would otherwise end it in a server error)."""

import codecs

import orjson
from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 16


def json_depth_exceeds(value, limit) -> bool:
    """Whether arrays and objects nest more than `limit` levels (iteratively: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read() if stream is not None else b""
        try:
            if codecs.lookup(encoding).name != "utf-8":
                raw = raw.decode(encoding).encode("utf-8")
            data = orjson.loads(raw)
        except (orjson.JSONDecodeError, UnicodeError, LookupError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if json_depth_exceeds(data, MAX_JSON_DEPTH):
            raise ParseError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep is not accepted.")
        return data
