"""The OpenAPI schema's shared parts: the error responses every operation can give, the
conditional-request headers, the bounds of list parameters, and the 414 a web server
gives for a URL too long.

drf-spectacular documents each view's success response from its serializer; what it
cannot see is what the API's plumbing adds around every view (core.api: the error
shape, 304/412 from ETags, 409 for protected deletes, 429 from throttling, 503 from
core.db_errors). A postprocessing hook adds those to every operation, so the schema
lists every response a client can get and a schema-driven fuzzer can hold us to it.

The same hook makes the schema one that OpenAPI's own tools accept (`make schema-lint`:
openapi-spec-validator, Spectral's spectral:oas, Redocly's recommended): every operation
has a summary, no read-only property carries the default DRF keeps for its own
validation, and no component is left that nothing refers to.
"""

import inspect
import re

from django.utils import translation
from django_countries import countries
from drf_spectacular.drainage import warn

from core.filtersets import MAX_FILTER_VALUES
from core.models import CHANGE_REASON_MAX


def country_choices():
    """The ISO 3166-1 codes, for the one CountryEnum every country field shares."""
    return [(country.code, country.name) for country in countries]


ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error the API returns has this shape: one entry per problem, naming the field or "
    "parameter where there is one.",
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "code": {"type": "string", "description": "A machine-readable code, e.g. `invalid`, `required`."},
                    "detail": {"type": "string", "description": "What is wrong, in words."},
                    "field": {"type": "string", "description": "The field or query parameter concerned, if any."},
                },
                "required": ["code", "detail"],
            },
        }
    },
    "required": ["errors"],
}

ERROR_REF = {"$ref": "#/components/schemas/Error"}
STRING = {"type": "string"}
CSV_SCHEMA = {"type": "string", "description": "CSV with a header row; names beside codes."}

ERRORS = {
    "400": "Invalid query parameter or payload: one message per field.",
    "401": "Authentication credentials were not provided or are invalid.",
    "403": "Authenticated, but not allowed to do this (only editors write).",
    "404": "No such record, or not visible to you (drafts are hidden from the public), or no such page.",
    "406": "The Accept header asks for a format the API does not offer.",
    "409": "The record is still referred to by other records and cannot be deleted.",
    "412": "If-Match does not match the record's current ETag: someone changed it since you read it.",
    "414": (
        "The request line (path and query string) is longer than the web server accepts (8,190 bytes in "
        "deploy/gunicorn.conf.py and nginx, 4,094 under gunicorn's defaults). The server refuses it before "
        "the API reads it, in its own HTML."
    ),
    "415": "The request body's media type is not supported.",
    "429": "Too many requests: slow down (see Retry-After).",
    "503": "The database is unavailable; try again shortly.",
}

ETAG_HEADER = {"ETag": {"schema": {"type": "string"}, "description": "The record's version; send it back in If-Match."}}


CHANGE_REASON_SCHEMA = {
    "type": "string",
    "writeOnly": True,
    "maxLength": CHANGE_REASON_MAX,
    "description": "Why this change is made, for the record's history (this field or the X-Change-Reason "
    "header). Required for a change to a published record (or to an activity, report or citation of one), "
    "and when the write changes the record's releasability.",
}


def _json(schema):
    return {"application/json": {"schema": schema}}


def _header_parameter(name, description):
    return {"in": "header", "name": name, "required": False, "schema": {"type": "string"}, "description": description}


def _codes_for(method, path=""):
    # Any request may carry a bad query parameter (400), bad credentials (401), ask for
    # something hidden or absent (404: a draft, an unknown slug in a path, a page past the
    # end), be throttled (429) or meet a database outage (503).
    codes = {"400", "401", "403", "404", "406", "429", "503"}
    if method in {"post", "put", "patch"}:
        codes.add("415")
    if method in {"put", "patch", "delete"} or (method == "post" and path.rstrip("/").endswith(REVIEW_STEP_PATHS)):
        codes.add("412")
    if method == "delete":
        codes.add("409")
    return codes


# A record's review steps (core.api.views.ReviewActionsMixin), which take If-Match too.
REVIEW_STEP_PATHS = ("/submit", "/approve", "/send-back", "/withdraw")


# The summary of each of a viewset's standard actions, from its model's verbose names.
ACTION_SUMMARIES = {
    "list": "List {plural}",
    "create": "Create {one}",
    "retrieve": "Retrieve {one}",
    "update": "Replace {one}",
    "partial_update": "Partially update {one}",
    "destroy": "Delete {one}",
}


def _path_shape(path):
    # The generator's paths name parameters as the URLconf does, the schema's as it shows
    # them ({pk} is {id}: SCHEMA_COERCE_PATH_PK).
    return re.sub(r"\{[^}]*\}", "{}", path)


def _views_by_operation(generator):
    """(path, method) -> (view class, viewset action or None), for the endpoints the generator read."""
    views = {}
    for path, _regex, method, callback in getattr(generator, "endpoints", None) or ():
        actions = getattr(callback, "actions", None) or {}
        views[(_path_shape(path), method.lower())] = (getattr(callback, "cls", None), actions.get(method.lower()))
    return views


def _model_of(view_class):
    queryset = getattr(view_class, "queryset", None)
    if queryset is not None:
        return queryset.model
    return getattr(getattr(getattr(view_class, "serializer_class", None), "Meta", None), "model", None)


def _headline(doc):
    """A docstring's first sentence, before any colon or parenthesis: "Partner × field: each
    cell ..." is "Partner × field"."""
    paragraph = " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())
    return re.split(r"\.(?:\s|$)|:\s| \(", paragraph, maxsplit=1)[0].strip()


def _summary(view_class, action, method):
    """A viewset's standard action is "List projects", "Retrieve a project", ...; any other
    operation is the headline of its handler's docstring, else of its view class's own (not
    one a mixin lends it: drf-spectacular's descriptions fall back to those)."""
    model = _model_of(view_class)
    if action in ACTION_SUMMARIES and model is not None:
        with translation.override("en"):
            one, plural = str(model._meta.verbose_name), str(model._meta.verbose_name_plural)
        article = "an" if one[:1].lower() in "aeiou" else "a"
        return ACTION_SUMMARIES[action].format(one=f"{article} {one}", plural=plural)
    handler = getattr(view_class, action or method, None)
    for doc in (getattr(handler, "__doc__", None), view_class.__dict__.get("__doc__")):
        if doc and _headline(doc):
            return _headline(doc)
    return None


def _drop_read_only_defaults(node):
    """DRF gives a read-only field in a unique constraint a default (Activity.slug's "") for
    its own validation; in the schema it is a value clients never send that can break the
    property's own pattern. A read-only property has no default to document."""
    if isinstance(node, dict):
        if node.get("readOnly") is True:
            node.pop("default", None)
        for value in node.values():
            _drop_read_only_defaults(value)
    elif isinstance(node, list):
        for value in node:
            _drop_read_only_defaults(value)


SCHEMA_REF = "#/components/schemas/"


def _schema_refs(node):
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(SCHEMA_REF):
                yield ref[len(SCHEMA_REF) :]
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _drop_unused_schemas(result):
    """COMPONENT_SPLIT_REQUEST makes a ...Request twin of every nested serializer, also of one
    only ever read (CitationRequest, of Activity.citations): keep what the paths reach."""
    schemas = result["components"]["schemas"]
    roots = {key: value for key, value in result.items() if key != "components"}
    roots["components"] = {key: value for key, value in result["components"].items() if key != "schemas"}
    reached, pending = set(), list(_schema_refs(roots))
    while pending:
        name = pending.pop()
        if name not in reached and name in schemas:
            reached.add(name)
            pending.extend(_schema_refs(schemas[name]))
    for name in set(schemas) - reached:
        del schemas[name]


def postprocess_errors_and_conditional_requests(result, generator, request, public):
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    _drop_read_only_defaults(components["schemas"])
    views = _views_by_operation(generator)
    for name, component in components["schemas"].items():
        if name.endswith("Request") and component.get("type") == "object":
            # A field the endpoint does not know is a 400 naming it (ModelRulesSerializer).
            component["additionalProperties"] = False
            # Every write may say why, for the history (or in X-Change-Reason).
            component.setdefault("properties", {})["change_reason"] = CHANGE_REASON_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            if not operation.get("summary"):  # @extend_schema(summary=...) comes first
                view_class, action = views.get((_path_shape(path), method), (None, None))
                operation["summary"] = view_class and _summary(view_class, action, method)
                if not operation["summary"]:
                    del operation["summary"]
                    warn(f"{method.upper()} {path}: no summary; give its view a docstring or extend_schema(summary=)")
            if method == "get" and {} not in operation.get("security", [{}]):
                # Anyone may read published data (core.api.ReadOrModelPermissions).
                operation["security"].append({})
            responses = operation.setdefault("responses", {})
            for response in responses.values():
                if "text/csv" in response.get("content", {}):
                    response["content"]["text/csv"] = {"schema": CSV_SCHEMA}
            # Asked for CSV (or XML), errors come in that format too: field,code,detail rows.
            other_formats = {
                media: {"schema": {"type": "string"}} if media != "text/csv" else {"schema": CSV_SCHEMA}
                for response in responses.values()
                for media in response.get("content", {})
                if media in {"text/csv", "application/xml"}
            }
            # Many values of many filters make a URL the server refuses, however valid each is.
            responses.setdefault("414", {"description": ERRORS["414"], "content": {"text/html": {"schema": STRING}}})
            for code in sorted(_codes_for(method, path)):
                responses.setdefault(code, {"description": ERRORS[code], "content": {**_json(ERROR_REF)}})
                responses[code].setdefault("content", {}).update(
                    {media: spec for media, spec in other_formats.items() if media not in responses[code]["content"]}
                )
            is_detail = path.rstrip("/").endswith("}")
            parameters = operation.setdefault("parameters", [])
            for parameter in parameters:
                if parameter["in"] == "query" and not parameter.get("required"):
                    # As in an HTML form, an empty filter is no filter (?year=&status=).
                    parameter["allowEmptyValue"] = True
                if parameter["in"] == "query" and parameter.get("schema", {}).get("type") == "array":
                    parameter["schema"].setdefault("maxItems", MAX_FILTER_VALUES)
            if is_detail and method == "get":
                parameters.append(
                    _header_parameter("If-None-Match", "An ETag from an earlier response: 304 if unchanged.")
                )
                responses["200"].setdefault("headers", {}).update(ETAG_HEADER)
                responses.setdefault("304", {"description": "Not modified since the ETag given in If-None-Match."})
            if (method in {"post", "put", "patch"} and "requestBody" in operation) or (
                is_detail and method == "delete"
            ):
                parameters.append(
                    {**_header_parameter("X-Change-Reason", CHANGE_REASON_SCHEMA["description"]),
                     "schema": {"type": "string", "maxLength": CHANGE_REASON_MAX}}
                )  # fmt: skip
            if is_detail and method in {"put", "patch", "delete"}:
                parameters.append(
                    _header_parameter("If-Match", "The ETag you read: the write is refused (412) if it changed since.")
                )
                for code in ("200", "204"):
                    if code in responses and method != "delete":
                        responses[code].setdefault("headers", {}).update(ETAG_HEADER)
            if not parameters:
                del operation["parameters"]
    _drop_unused_schemas(result)
    return result


def postprocess_staff_only_fields(result, generator, request, public):
    """A field only staff read (a serializer's Meta.staff_only_fields, dropped from every
    other reader's answer by ModelRulesSerializer) is never a required property: an
    answer without it is valid. Its description says who sees it."""
    from core.api.serializers import ModelRulesSerializer

    staff_only, signed_in = {}, {}

    def collect(cls):
        for sub in cls.__subclasses__():
            meta = getattr(sub, "Meta", None)
            name = sub.__name__.removesuffix("Serializer")
            staff_only[name] = set(getattr(meta, "staff_only_fields", ()))
            signed_in[name] = set(getattr(meta, "signed_in_fields", ()))
            collect(sub)

    collect(ModelRulesSerializer)
    for name, schema in result.get("components", {}).get("schemas", {}).items():
        staff = staff_only.get(name.removeprefix("Patched"), set())
        signed = signed_in.get(name.removeprefix("Patched"), set())
        names = staff | signed
        if not names:
            continue
        if "required" in schema:
            schema["required"] = [field for field in schema["required"] if field not in names]
            if not schema["required"]:
                del schema["required"]
        for field in names & set(schema.get("properties", {})):
            prop = schema["properties"][field]
            description = prop.get("description", "")
            if field in signed:
                if "liaison" not in description.lower():
                    who = "Staff and partners' liaison officers only (absent for others)."
                    prop["description"] = f"{who} {description}".strip()
            elif "staff only" not in description.lower():
                prop["description"] = f"Staff only (absent for others). {description}".strip()
    return result
