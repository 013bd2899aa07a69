"""The control plane: accounts, devices and conversations over JSON/HTTP (see /openapi.json)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edge.errors import UNAUTHORIZED, ClientError, validation_problems
from edge.service import EdgeService
from telemetry.tracing import Tracing

log = logging.getLogger("parley.edge")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegisterRequest(Body):
    username: Annotated[str, Field(min_length=3, max_length=32)]
    password: Annotated[str, Field(min_length=8, max_length=256)]
    display_name: Annotated[str, Field(max_length=64)] = ""


class LoginRequest(Body):
    username: Annotated[str, Field(min_length=1, max_length=32)]
    password: Annotated[str, Field(min_length=1, max_length=256)]
    device_name: Annotated[str, Field(max_length=64)] = "device"


class ProfileRequest(Body):
    display_name: Annotated[str, Field(min_length=1, max_length=64)]


class CreateConversationRequest(Body):
    kind: Literal["direct", "group"]
    members: Annotated[list[str], Field(max_length=1000)]
    name: Annotated[str, Field(max_length=256)] | None = None


class AddMemberRequest(Body):
    user_id: Annotated[str, Field(min_length=1, max_length=64)]
    role: Literal["OWNER", "ADMIN", "MEMBER", "owner", "admin", "member"] = "MEMBER"


BodyT = TypeVar("BodyT", bound=Body)


def _json(status: int, payload: dict[str, Any]) -> web.Response:
    return web.json_response(payload, status=status)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ClientError as e:
        return _json(e.status, {"error": {"code": e.code, "message": e.message}})
    except web.HTTPException:
        raise
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return _json(500, {"error": {"code": "internal", "message": "internal error"}})


def tracing_middleware(tracing: Tracing) -> Callable[..., Awaitable[web.StreamResponse]]:
    """A span for each control-plane request, the root of the trace of any command it
    produces. The WebSocket upgrade gets none: a connection lives for hours, and each of
    its requests roots a trace of its own (edge/websocket.py)."""

    @web.middleware
    async def traced(request: web.Request, handler: Handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        if not route.startswith("/v1/") or route == "/v1/ws":
            return await handler(request)
        attributes = {"http.request.method": request.method, "http.route": route}
        with tracing.serving(f"http {request.method} {route}", attributes) as span:
            response = await handler(request)
            span.set_attribute("http.response.status_code", response.status)
            return response

    return traced


async def _parse(request: web.Request, model: type[BodyT]) -> BodyT:
    try:
        raw = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ClientError("bad_json", "the body is one JSON object") from e
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        raise ClientError("invalid", validation_problems(e)) from e


class RestApi:
    def __init__(self, service: EdgeService) -> None:
        self.service = service

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v1/accounts", self.register),
            web.post("/v1/sessions", self.login),
            web.get("/v1/profile", self.profile),
            web.patch("/v1/profile", self.change_profile),
            web.get("/v1/devices", self.devices),
            web.delete("/v1/devices/{device_id}", self.revoke),
            web.post("/v1/conversations", self.create_conversation),
            web.get("/v1/conversations", self.conversations),
            web.post("/v1/conversations/{cid}/members", self.add_member),
            web.delete("/v1/conversations/{cid}/members/{user_id}", self.remove_member),
        ]

    async def _identity(self, request: web.Request) -> tuple[str, str]:
        header = request.headers.get("Authorization", "")
        identity = (
            await self.service.authenticate(header[7:].strip())
            if header.startswith("Bearer ")
            else None
        )
        if identity is None:
            raise UNAUTHORIZED
        return identity

    async def register(self, request: web.Request) -> web.Response:
        body = await _parse(request, RegisterRequest)
        user_id = await self.service.register(
            body.username, body.password, body.display_name, request.headers.get("Idempotency-Key")
        )
        return _json(201, {"user_id": user_id})

    async def login(self, request: web.Request) -> web.Response:
        body = await _parse(request, LoginRequest)
        return _json(201, await self.service.login(body.username, body.password, body.device_name))

    async def profile(self, request: web.Request) -> web.Response:
        user_id, _ = await self._identity(request)
        return _json(200, self.service.profile(user_id))

    async def change_profile(self, request: web.Request) -> web.Response:
        user_id, device_id = await self._identity(request)
        body = await _parse(request, ProfileRequest)
        await self.service.change_profile(user_id, device_id, body.display_name)
        return _json(200, self.service.profile(user_id))

    async def devices(self, request: web.Request) -> web.Response:
        user_id, _ = await self._identity(request)
        return _json(200, {"devices": self.service.devices(user_id)})

    async def revoke(self, request: web.Request) -> web.Response:
        user_id, device_id = await self._identity(request)
        await self.service.revoke_device(user_id, device_id, request.match_info["device_id"])
        return web.Response(status=204)

    async def create_conversation(self, request: web.Request) -> web.Response:
        user_id, device_id = await self._identity(request)
        body = await _parse(request, CreateConversationRequest)
        created = await self.service.create_conversation(
            user_id,
            device_id,
            kind=body.kind,
            members=body.members,
            name=body.name,
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
        return _json(201, created)

    async def conversations(self, request: web.Request) -> web.Response:
        user_id, _ = await self._identity(request)
        return _json(200, {"conversations": self.service.conversations(user_id)})

    async def add_member(self, request: web.Request) -> web.Response:
        user_id, device_id = await self._identity(request)
        body = await _parse(request, AddMemberRequest)
        result = await self.service.change_members(
            user_id,
            device_id,
            request.match_info["cid"],
            add=body.user_id,
            remove=None,
            role=body.role,
        )
        return _json(200, result)

    async def remove_member(self, request: web.Request) -> web.Response:
        user_id, device_id = await self._identity(request)
        result = await self.service.change_members(
            user_id,
            device_id,
            request.match_info["cid"],
            add=None,
            remove=request.match_info["user_id"],
        )
        return _json(200, result)
