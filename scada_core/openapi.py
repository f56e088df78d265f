"""The OpenAPI 3 document of the registered API views: typed path parameters, request bodies from the voluptuous
schemas the views validate with, and the error answers every route can give."""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import voluptuous as vol

from .const import APP_NAME, DB_INT_MAX, __version__
from .params import integer

if TYPE_CHECKING:
    from .http import View

# {name} or {name:regex} in an aiohttp route (the regex may hold {m,n} counts).
PATH_PART = re.compile(r"\{(\w+)(?::((?:[^{}]|\{\d*,?\d*\})+))?\}")
INTEGER_PATTERNS = (r"\d+", "[0-9]+")
TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object", list: "array"}
ERROR_SCHEMA = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}
BEARER = "bearer"


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_SCHEMA}}}


ERRORS = {
    "400": {"description": "invalid request, with a message"},
    "401": _error("authentication required (a bearer token or a staff session)"),
    "403": _error("the operator's role may not do this"),
}
NOT_FOUND = {"description": "nothing by that id"}


def path_parameters(url: str) -> tuple[str, list[dict[str, Any]]]:
    """Return the URL as an OpenAPI path template and its typed path parameters."""
    params = []
    for name, pattern in PATH_PART.findall(url):
        if pattern in INTEGER_PATTERNS:
            schema: dict[str, Any] = {"type": "integer", "minimum": 0, "maximum": DB_INT_MAX}
        elif pattern:
            schema = {"type": "string", "pattern": f"^(?:{pattern})$"}
        else:
            schema = {"type": "string", "minLength": 1}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return PATH_PART.sub(r"{\1}", url), params


def json_schema(validator: Any) -> dict[str, Any]:
    """Return the JSON schema of a voluptuous validator (what it cannot express is left open)."""
    if isinstance(validator, vol.Schema):
        return _object(validator.schema, validator.extra) if isinstance(validator.schema, dict) else json_schema(
            validator.schema)
    if isinstance(validator, dict):
        return _object(validator, vol.PREVENT_EXTRA)
    if isinstance(validator, list):
        return {"type": "array", "items": json_schema(validator[0]) if len(validator) == 1 else {}}
    if isinstance(validator, type) and validator in TYPES:
        return {"type": TYPES[validator]}
    if validator is integer:
        return {"type": "integer"}
    if isinstance(validator, vol.All):
        merged: dict[str, Any] = {}
        for part in validator.validators:
            merged.update(_length(part, merged.get("type")) if isinstance(part, vol.Length) else json_schema(part))
        return merged
    if isinstance(validator, vol.Any):
        options = [v for v in validator.validators if v is not None]
        schema = json_schema(options[0]) if len(options) == 1 else {"anyOf": [json_schema(v) for v in options]}
        return {**schema, "nullable": True} if len(options) < len(validator.validators) else schema
    return _constraint(validator)


def _constraint(validator: Any) -> dict[str, Any]:
    if isinstance(validator, vol.Range):
        bounds = {"minimum": validator.min, "maximum": validator.max}
        schema = {k: v for k, v in bounds.items() if v is not None}
        if validator.min is not None and not validator.min_included:
            schema["exclusiveMinimum"] = True
        if validator.max is not None and not validator.max_included:
            schema["exclusiveMaximum"] = True
        return schema
    if isinstance(validator, vol.Match):
        return {"type": "string", "pattern": validator.pattern.pattern.replace(r"\Z", "$")}
    if isinstance(validator, vol.In):
        return {"enum": list(validator.container)}
    if isinstance(validator, vol.Coerce):
        return {"type": TYPES.get(validator.type, "string")}
    return {}


def _length(validator: vol.Length, kind: str | None) -> dict[str, Any]:
    names = ("minItems", "maxItems") if kind == "array" else ("minLength", "maxLength")
    return {n: v for n, v in zip(names, (validator.min, validator.max)) if v is not None}


def _object(fields: dict[Any, Any], extra: int) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required = []
    for key, value in fields.items():
        name = str(key.schema if isinstance(key, vol.Marker) else key)
        properties[name] = json_schema(value)
        if isinstance(key, vol.Optional) and not isinstance(key.default, vol.Undefined):
            default = key.default()
            if default not in ({}, []):
                properties[name]["default"] = default
        if isinstance(key, vol.Required):
            required.append(name)
    schema: dict[str, Any] = {"type": "object", "properties": properties,
                              "additionalProperties": extra == vol.ALLOW_EXTRA}
    if required:
        schema["required"] = required
    return schema


def request_body(schema: vol.Schema, example: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the ``requestBody`` of a JSON body validated by ``schema``."""
    body = json_schema(schema)
    if example:
        body["example"] = example
    return {"required": True, "content": {"application/json": {"schema": body}}}


def document(views: Iterable[View]) -> dict[str, Any]:
    """Return the OpenAPI 3 document of every API view."""
    paths: dict[str, Any] = {}
    for view in views:
        if not view.in_api_doc:
            continue
        for url, operations in (view.openapi_paths() or {view.url: view.openapi}).items():
            _add_path(paths, view, url, operations)
    return {
        "openapi": "3.0.3",
        "info": {"title": f"{APP_NAME} API", "version": __version__},
        "components": {"securitySchemes": {BEARER: {"type": "http", "scheme": "bearer"}}},
        "security": [{BEARER: []}],
        "paths": dict(sorted(paths.items())),
    }


def _add_path(paths: dict[str, Any], view: View, url: str, operations: dict[str, dict[str, Any]]) -> None:
    template, params = path_parameters(url)
    item = paths.setdefault(template, {})
    for method, handler in view.handlers().items():
        doc = dict(operations.get(method, {}))
        doc.setdefault("summary", (handler.__doc__ or view.name).strip().splitlines()[0])
        doc.setdefault("operationId", f"{view.name}_{method}".replace(".", "_").replace(":", "_"))
        doc.setdefault("tags", [view.tag])
        responses = {"200": {"description": "OK"}, **ERRORS, **({"404": NOT_FOUND} if params else {}),
                     **doc.get("responses", {})}
        if view.public:
            responses.pop("401")
            responses.pop("403")
            doc["security"] = []
        doc["responses"] = responses
        if params:
            doc["parameters"] = params + doc.get("parameters", [])
        item[method] = doc
