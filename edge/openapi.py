"""The OpenAPI 3.1 description of the REST control plane, served at /openapi.json: made from
the routes' table (edge/rest.py's `ENDPOINTS`) and the JSON schemas of the protocol models
they take and give. The data plane's models (WebSocket frames, answers, pushes, events) are
among its components too, so one document names every type a client meets."""

from __future__ import annotations

import functools
import re
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from edge.protocol.answers import ANSWERS, ErrorAnswer, Health
from edge.protocol.frames import CLIENT_FRAME
from edge.protocol.pushes import SERVER_FRAMES
from edge.rest import ENDPOINTS, Endpoint, NoBody

REF = "#/components/schemas/{model}"
PATH_PARAMETER = re.compile(r"\{(\w+)\}")
SECURED: list[dict[str, list[str]]] = [{"bearer": []}]


@functools.cache
def document() -> dict[str, Any]:
    """Made once per process: the models do not change while it runs."""
    schemas, refs = _components()
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in ENDPOINTS:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint, refs)
    paths["/healthz"] = {
        "get": {
            "summary": "This edge node's liveness.",
            "security": [],
            "responses": {"200": {"description": "OK", "content": _json(refs[Health])}},
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Parley control plane",
            "version": "1",
            "description": "The data plane is the WebSocket at /v1/ws: docs/protocol.md.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": SECURED,
    }


def _components() -> tuple[dict[str, Any], dict[type[BaseModel], dict[str, Any]]]:
    """Every model's JSON schema, by name, and a `$ref` to each."""
    rest: set[type[BaseModel]] = {e.body for e in ENDPOINTS if e.body is not NoBody}
    rest |= {e.answer for e in ENDPOINTS if e.answer is not None}
    data_plane: set[type[BaseModel]] = {*ANSWERS, *ANSWERS.values(), *SERVER_FRAMES.values()}
    every: set[type[BaseModel]] = rest | data_plane | {ErrorAnswer, Health}
    models: list[type[BaseModel]] = sorted(every, key=lambda m: m.__name__)
    mode: JsonSchemaMode = "validation"
    keys, top = models_json_schema([(m, mode) for m in models], ref_template=REF)
    schemas: dict[str, Any] = top.get("$defs", {})
    schemas["ClientFrame"] = CLIENT_FRAME.json_schema(ref_template=REF)
    return schemas, {m: keys[(m, mode)] for m in models}


def _operation(endpoint: Endpoint[Any, Any], refs: dict[type[BaseModel], Any]) -> dict[str, Any]:
    error = {"description": "error", "content": _json(refs[ErrorAnswer])}
    status = endpoint.status
    answered: dict[str, Any] = {"description": status.phrase}
    if endpoint.answer is not None:
        answered["content"] = _json(refs[endpoint.answer])
    operation: dict[str, Any] = {
        "summary": endpoint.summary,
        "security": SECURED if endpoint.secured else [],
        "responses": {str(status.value): answered, "4XX": error, "503": error},
    }
    text = TypeAdapter(str).json_schema()
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": text}
        for name in PATH_PARAMETER.findall(endpoint.path)
    ]
    if endpoint.source == "query":
        parameters += _query_parameters(endpoint.body)
    elif endpoint.body is not NoBody:
        operation["requestBody"] = {"required": True, "content": _json(refs[endpoint.body])}
    if parameters:
        operation["parameters"] = parameters
    return operation


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """A body model read from the query string: one parameter per field, its schema and
    description the field's own."""
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", []))
    found = []
    for name, field in schema["properties"].items():
        described = {k: v for k, v in field.items() if k != "description"}
        parameter = {"name": name, "in": "query", "required": name in required}
        if "description" in field:
            parameter["description"] = field["description"]
        found.append(parameter | {"schema": described})
    return found


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}
