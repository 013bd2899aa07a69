"""The OpenAPI 3.1 description of the REST control plane, served at /openapi.json."""

from __future__ import annotations

from typing import Any

from edge import rest


def _schema(model: type[rest.Body]) -> dict[str, Any]:
    return model.model_json_schema(ref_template="#/components/schemas/{model}")


def _body(name: str) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
    }


def _ok(description: str, properties: dict[str, Any] | None = None) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties or {}}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERROR = {
    "description": "error",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
STR = {"type": "string"}
INT = {"type": "integer"}
SECURED: list[dict[str, list[str]]] = [{"bearer": []}]


def document() -> dict[str, Any]:
    errors = {"4XX": ERROR, "503": ERROR}
    paths: dict[str, Any] = {
        "/v1/accounts": {
            "post": {
                "summary": "Register an account (through the log).",
                "security": [],
                "requestBody": _body("RegisterRequest"),
                "responses": {"201": _ok("registered", {"user_id": STR}), **errors},
            }
        },
        "/v1/sessions": {
            "post": {
                "summary": "Log in: a new device and its bearer token (shown once).",
                "security": [],
                "requestBody": _body("LoginRequest"),
                "responses": {
                    "201": _ok("logged in", {"user_id": STR, "device_id": STR, "token": STR}),
                    **errors,
                },
            }
        },
        "/v1/profile": {
            "get": {
                "summary": "My user id and display name.",
                "security": SECURED,
                "responses": {
                    "200": _ok("profile", {"user_id": STR, "display_name": STR}),
                    **errors,
                },
            },
            "patch": {
                "summary": "Change my display name (through the log).",
                "security": SECURED,
                "requestBody": _body("ProfileRequest"),
                "responses": {
                    "200": _ok("profile", {"user_id": STR, "display_name": STR}),
                    **errors,
                },
            },
        },
        "/v1/devices": {
            "get": {
                "summary": "My devices.",
                "security": SECURED,
                "responses": {"200": _ok("devices", {"devices": {"type": "array"}}), **errors},
            }
        },
        "/v1/devices/{device_id}": {
            "delete": {
                "summary": "Revoke a device; its token stops working on every edge.",
                "security": SECURED,
                "parameters": [
                    {"name": "device_id", "in": "path", "required": True, "schema": STR}
                ],
                "responses": {"204": {"description": "revoked"}, **errors},
            }
        },
        "/v1/conversations": {
            "post": {
                "summary": "Create a 1:1 (one per pair) or a group.",
                "security": SECURED,
                "requestBody": _body("CreateConversationRequest"),
                "responses": {
                    "201": _ok("created", {"conversation_id": STR, "seq": INT}),
                    **errors,
                },
            },
            "get": {
                "summary": "Conversations I am in.",
                "security": SECURED,
                "responses": {"200": _ok("mine", {"conversations": {"type": "array"}}), **errors},
            },
        },
        "/v1/conversations/{cid}/members": {
            "post": {
                "summary": "Add a member (owners and admins).",
                "security": SECURED,
                "parameters": [{"name": "cid", "in": "path", "required": True, "schema": STR}],
                "requestBody": _body("AddMemberRequest"),
                "responses": {"200": _ok("added", {"seq": INT}), **errors},
            }
        },
        "/v1/conversations/{cid}/members/{user_id}": {
            "delete": {
                "summary": "Remove a member; removing yourself is leaving.",
                "security": SECURED,
                "parameters": [
                    {"name": "cid", "in": "path", "required": True, "schema": STR},
                    {"name": "user_id", "in": "path", "required": True, "schema": STR},
                ],
                "responses": {"200": _ok("removed", {"seq": INT}), **errors},
            }
        },
    }
    schemas = {
        m.__name__: _schema(m)
        for m in (
            rest.RegisterRequest,
            rest.LoginRequest,
            rest.ProfileRequest,
            rest.CreateConversationRequest,
            rest.AddMemberRequest,
        )
    }
    schemas["Error"] = {
        "type": "object",
        "properties": {"error": {"type": "object", "properties": {"code": STR, "message": STR}}},
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
