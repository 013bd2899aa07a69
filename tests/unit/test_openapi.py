"""/openapi.json is made from the route table and the models: every route is in it with the
schemas of what it takes and gives, and every reference resolves."""

from __future__ import annotations

from typing import Any

from edge.openapi import document
from edge.protocol.answers import ANSWERS
from edge.protocol.pushes import SERVER_FRAMES
from edge.rest import ENDPOINTS, NoBody

DOCUMENT = document()
SCHEMAS: dict[str, Any] = DOCUMENT["components"]["schemas"]


def refs(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


def target(ref: dict[str, Any]) -> str:
    return str(ref["$ref"]).rsplit("/", 1)[-1]


def test_every_reference_resolves() -> None:
    assert {ref.rsplit("/", 1)[-1] for ref in refs(DOCUMENT)} <= set(SCHEMAS)


def test_every_route_names_the_models_it_takes_and_gives() -> None:
    for endpoint in ENDPOINTS:
        operation = DOCUMENT["paths"][endpoint.path][endpoint.method.lower()]
        answered = operation["responses"][str(endpoint.status.value)]
        if endpoint.answer is None:
            assert "content" not in answered
        else:
            assert target(answered["content"]["application/json"]["schema"]) == (
                endpoint.answer.__name__
            )
        parameters = operation.get("parameters", [])
        if endpoint.body is NoBody or endpoint.source == "query":
            assert "requestBody" not in operation
        else:
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            assert target(body) == endpoint.body.__name__
        if endpoint.source == "query":
            queried = {p["name"]: p["required"] for p in parameters if p["in"] == "query"}
            fields = endpoint.body.model_fields
            assert queried == {name: field.is_required() for name, field in fields.items()}
        assert bool(operation["security"]) == endpoint.secured
        names = [p["name"] for p in parameters if p["in"] == "path"]
        assert all("{" + name + "}" in endpoint.path for name in names)
        assert endpoint.path.count("{") == len(names)


def test_query_parameters_say_which_are_required_and_their_limits() -> None:
    """The audit log's page is asked for by query string: the acting case is required, the
    page size bounded, and the document says so."""
    operation = DOCUMENT["paths"]["/v1/compliance/audit"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert parameters["case"]["required"] is True
    assert parameters["limit"]["required"] is False
    assert parameters["limit"]["schema"]["maximum"] == 500
    assert {p["in"] for p in parameters.values()} == {"query"}


def test_the_data_planes_models_are_described_too() -> None:
    models = {*ANSWERS, *ANSWERS.values(), *SERVER_FRAMES.values()}
    assert {m.__name__ for m in models} <= set(SCHEMAS)
    assert SCHEMAS["SendResult"]["required"] == ["seq"]
