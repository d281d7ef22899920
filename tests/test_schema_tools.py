"""The OpenAPI schema is one other tools accept, not only drf-spectacular's own check
(tests/projects/test_api.py, TestSchema): openapi-spec-validator finds no error, and
what Spectral and Redocly would fail on (`make schema-lint`) is held here too: a summary
on every operation, a `servers` entry, no default that breaks its own property's rules."""

import json
import re

import pytest
from django.core.management import call_command
from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator

pytestmark = pytest.mark.engines("once")

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
VALIDATORS = {"3.0": OpenAPIV30SpecValidator, "3.1": OpenAPIV31SpecValidator}


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "schema.json"
    # --fail-on-warn: an operation the hook cannot give a summary is a warning (core/api/openapi.py).
    call_command("spectacular", "--fail-on-warn", "--format", "openapi-json", "--file", str(path))
    return json.loads(path.read_text())


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def _subschemas(schema, where):
    """This schema and every schema inside it, each with where it is."""
    if not isinstance(schema, dict):
        return
    yield where, schema
    for key in ("properties", "patternProperties"):
        for name, sub in schema.get(key, {}).items():
            yield from _subschemas(sub, f"{where}.{name}")
    for key in ("allOf", "oneOf", "anyOf", "prefixItems"):
        for i, sub in enumerate(schema.get(key, [])):
            yield from _subschemas(sub, f"{where}.{key}[{i}]")
    for key in ("items", "additionalProperties", "not"):
        yield from _subschemas(schema.get(key), f"{where}.{key}")


def _all_schemas(schema):
    for name, component in schema.get("components", {}).get("schemas", {}).items():
        yield from _subschemas(component, f"components.schemas.{name}")
    for name, parameter in schema.get("components", {}).get("parameters", {}).items():
        yield from _subschemas(parameter.get("schema"), f"components.parameters.{name}")
    for path, method, operation in _operations(schema):
        for parameter in operation.get("parameters", []):
            yield from _subschemas(parameter.get("schema"), f"{method} {path} {parameter.get('name')}")
        bodies = [("request", operation.get("requestBody", {}))]
        bodies += [(code, response) for code, response in operation.get("responses", {}).items()]
        for code, body in bodies:
            for media, content in body.get("content", {}).items():
                yield from _subschemas(content.get("schema"), f"{method} {path} {code} {media}")


def _default_problems(where, schema):
    """How a schema's default breaks the schema's own pattern, enum or bounds."""
    if "default" not in schema:
        return []
    default, problems = schema["default"], []
    if default is None:
        return [] if schema.get("nullable") or "null" in schema.get("type", []) else [f"{where}: default null"]
    if "enum" in schema and default not in schema["enum"]:
        problems.append(f"{where}: default {default!r} not in its enum")
    if isinstance(default, str):
        if "pattern" in schema and not re.search(schema["pattern"], default):
            problems.append(f"{where}: default {default!r} does not match {schema['pattern']!r}")
        if len(default) > schema.get("maxLength", len(default)):
            problems.append(f"{where}: default {default!r} longer than maxLength {schema['maxLength']}")
        if len(default) < schema.get("minLength", 0):
            problems.append(f"{where}: default {default!r} shorter than minLength {schema['minLength']}")
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        if "maximum" in schema and default > schema["maximum"]:
            problems.append(f"{where}: default {default!r} above maximum {schema['maximum']}")
        if "minimum" in schema and default < schema["minimum"]:
            problems.append(f"{where}: default {default!r} below minimum {schema['minimum']}")
    return problems


def test_openapi_spec_validator_finds_no_error(schema):
    version = ".".join(schema["openapi"].split(".")[:2])
    assert version in VALIDATORS, schema["openapi"]
    validator = VALIDATORS[version](schema)
    errors = [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors()]
    assert errors == []


def test_every_operation_has_a_summary_in_words(schema):
    missing = []
    for path, method, operation in _operations(schema):
        summary = operation.get("summary", "").strip()
        if not summary or summary == operation.get("operationId") or " " not in summary:
            missing.append(f"{method.upper()} {path}: {summary!r}")
    assert missing == []
    projects = schema["paths"]["/api/v1/projects/{slug}/"]
    assert projects["get"]["summary"] == "Retrieve a project"
    assert projects["patch"]["summary"] == "Partially update a project"
    assert schema["paths"]["/api/v1/activities/"]["get"]["summary"] == "List activities"


def test_servers_are_given_relative_to_the_host(schema):
    assert schema["servers"], "no servers"
    assert all(server["url"].startswith("/") for server in schema["servers"]), schema["servers"]


def test_every_operations_tag_is_declared(schema):
    declared = {tag["name"] for tag in schema.get("tags", [])}
    used = {tag for _, _, operation in _operations(schema) for tag in operation.get("tags", [])}
    assert used - declared == set()


def test_no_default_breaks_its_own_property(schema):
    found = [problem for where, sub in _all_schemas(schema) for problem in _default_problems(where, sub)]
    assert found == []


def test_the_default_check_sees_a_default_that_breaks_its_pattern():
    """The rule above can fail: Activity.slug's old default ("" against the slug pattern) is reported."""
    slug = {"type": "string", "readOnly": True, "default": "", "pattern": "^[-a-zA-Z0-9_]+$"}
    schema = {"components": {"schemas": {"Activity": {"type": "object", "properties": {"slug": slug}}}}, "paths": {}}
    found = [problem for where, sub in _all_schemas(schema) for problem in _default_problems(where, sub)]
    assert found == ["components.schemas.Activity.slug: default '' does not match '^[-a-zA-Z0-9_]+$'"]
    assert _default_problems("x", {"type": "string", "enum": ["a"], "default": "b", "maxLength": 0}) == [
        "x: default 'b' not in its enum",
        "x: default 'b' longer than maxLength 0",
    ]
