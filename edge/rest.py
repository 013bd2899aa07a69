"""The control plane: accounts, devices, conversations and search over JSON/HTTP.

`ENDPOINTS` is the one table of routes: each names its method and path, the body it takes
(a JSON object, or for a `GET` that takes one, its query parameters) and the answer it gives
(models of edge/protocol/), whether it needs a bearer token, and its handler. The routes
and the OpenAPI document at /openapi.json are both made from it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Generic, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from edge import http_errors
from edge.account_service import AccountService
from edge.accounts import bearer_token
from edge.command_service import CommandService
from edge.compliance.service import Caller, ComplianceService
from edge.errors import INTERNAL, UNAUTHORIZED, ClientError, ErrorCode, validation_problems
from edge.json_input import parse_json
from edge.media_service import MediaService
from edge.protocol import compliance as compliance_protocol
from edge.protocol import control as c
from edge.protocol.answers import (
    Account,
    ConversationList,
    CreatedConversation,
    DeviceList,
    Profile,
    SearchPage,
    Sequenced,
    Session,
)
from edge.protocol.frames import SearchParameters
from edge.protocol.media import DeclareMedia, MediaDownload, MediaInfo, UploadTicket
from edge.read_service import ReadService
from telemetry.tracing import Tracing

log = logging.getLogger("parley.edge")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
BodyT = TypeVar("BodyT", bound=BaseModel)
Source = Literal["json", "query"]
"""Where a request's body model is read from: the JSON body, or the query parameters."""
AnswerT = TypeVar("AnswerT", bound=BaseModel | None)
COMPLIANCE_OFF = ClientError(
    ErrorCode.UNAVAILABLE, "compliance is not configured on this edge node"
)


class NoBody(c.RequestBody):
    """What a route without a request body takes."""


@dataclass(frozen=True)
class Call(Generic[BodyT]):
    """One request, as a handler gets it: parsed, and authenticated if its route says so."""

    request: web.Request
    body: BodyT
    user_id: str = ""
    device_id: str = ""


def json_response(status: int, answer: BaseModel) -> web.Response:
    return web.Response(
        text=answer.model_dump_json(), status=status, content_type="application/json"
    )


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ClientError as e:
        return json_response(e.status, e.answer())
    except web.HTTPException as e:
        if e.status < 400:
            raise
        return http_errors.from_exception(e)
    except ConnectionError:
        raise  # the client went away (mid-handshake, say): aiohttp drops the connection
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return json_response(INTERNAL.status, INTERNAL.answer())


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


async def _parse(request: web.Request, model: type[BodyT], source: Source) -> BodyT:
    if model is NoBody:
        return model()
    raw: Any
    if source == "query":
        raw = _query_parameters(request)
    else:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge as e:
            raise ClientError(ErrorCode.TOO_LARGE, e.text or "the body is too large") from e
        raw = parse_json(body, "the body")
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        raise ClientError(ErrorCode.INVALID, validation_problems(e)) from e


MEDIA_UNAVAILABLE = ClientError(ErrorCode.UNAVAILABLE, "this edge serves no media")


def _query_parameters(request: web.Request) -> dict[str, str]:
    """Each parameter once: which of two values was meant is not for the edge to guess."""
    given = request.query
    repeated = sorted({name for name in given if len(given.getall(name)) > 1})
    if repeated:
        raise ClientError(ErrorCode.INVALID, f"given more than once: {', '.join(repeated)}")
    return dict(given)


class RestApi:
    def __init__(
        self,
        *,
        accounts: AccountService,
        commands: CommandService,
        reads: ReadService,
        media: MediaService | None = None,
        compliance: ComplianceService | None = None,
    ) -> None:
        self.accounts = accounts
        self.commands = commands
        self.reads = reads
        self.media = media
        self.compliance = compliance

    def routes(self) -> list[web.RouteDef]:
        return [web.route(e.method, e.path, self._handler(e)) for e in ENDPOINTS]

    def _handler(self, endpoint: Endpoint[Any, Any]) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            identity = ("", "")
            if endpoint.secured:
                identity = await self._identity(request)
            body = await _parse(request, endpoint.body, endpoint.source)
            answer = await endpoint.handle(self, Call(request, body, *identity))
            if answer is None:
                return web.Response(status=endpoint.status)
            return json_response(endpoint.status, answer)

        return handle

    async def _identity(self, request: web.Request) -> tuple[str, str]:
        token = bearer_token(request.headers.get("Authorization", ""))
        identity = None if token is None else await self.accounts.authenticate(token)
        if identity is None:
            raise UNAUTHORIZED
        return identity.user_id, identity.device_id

    async def register(self, call: Call[c.RegisterRequest]) -> Account:
        body = call.body
        return await self.accounts.register(
            body.username,
            body.password,
            body.display_name,
            call.request.headers.get("Idempotency-Key"),
        )

    async def login(self, call: Call[c.LoginRequest]) -> Session:
        body = call.body
        return await self.accounts.login(body.username, body.password, body.device_name)

    async def profile(self, call: Call[NoBody]) -> Profile:
        return self.accounts.profile(call.user_id)

    async def change_profile(self, call: Call[c.ProfileRequest]) -> Profile:
        return await self.accounts.change_profile(
            call.user_id, call.device_id, call.body.display_name
        )

    async def devices(self, call: Call[NoBody]) -> DeviceList:
        return self.accounts.devices(call.user_id)

    async def revoke(self, call: Call[NoBody]) -> None:
        target = call.request.match_info["device_id"]
        await self.accounts.revoke_device(call.user_id, call.device_id, target)

    async def create_conversation(
        self, call: Call[c.CreateConversationRequest]
    ) -> CreatedConversation:
        body = call.body
        return await self.commands.create_conversation(
            call.user_id,
            call.device_id,
            kind=body.kind,
            members=body.members,
            name=body.name,
            idempotency_key=call.request.headers.get("Idempotency-Key"),
        )

    async def conversations(self, call: Call[NoBody]) -> ConversationList:
        return self.reads.conversations(call.user_id)

    async def add_member(self, call: Call[c.AddMemberRequest]) -> Sequenced:
        return await self.commands.change_members(
            call.user_id,
            call.device_id,
            call.request.match_info["cid"],
            add=call.body.user_id,
            remove=None,
            role=call.body.role,
        )

    async def set_disappearing(self, call: Call[c.DisappearingRequest]) -> Sequenced:
        return await self.commands.set_disappearing(
            call.user_id, call.device_id, call.request.match_info["cid"], call.body.after_ms
        )

    async def search(self, call: Call[SearchParameters]) -> SearchPage:
        return await self.reads.search(call.user_id, call.body)

    async def remove_member(self, call: Call[NoBody]) -> Sequenced:
        return await self.commands.change_members(
            call.user_id,
            call.device_id,
            call.request.match_info["cid"],
            add=None,
            remove=call.request.match_info["user_id"],
        )

    async def declare_media(self, call: Call[DeclareMedia]) -> UploadTicket:
        return await self._media().declare(call.user_id, call.device_id, call.body)

    async def resume_upload(self, call: Call[NoBody]) -> UploadTicket:
        return await self._media().resume(call.user_id, call.request.match_info["media_id"])

    async def complete_upload(self, call: Call[NoBody]) -> MediaInfo:
        return await self._media().complete(call.user_id, call.request.match_info["media_id"])

    async def media_info(self, call: Call[NoBody]) -> MediaInfo:
        wait_s = _preferred_wait(call.request.headers.get("Prefer", ""))
        return await self._media().info(
            call.user_id, call.request.match_info["media_id"], wait_s=wait_s
        )

    async def download_media(self, call: Call[NoBody]) -> MediaDownload:
        return await self._media().download(call.user_id, call.request.match_info["media_id"])

    def _media(self) -> MediaService:
        if self.media is None:
            raise MEDIA_UNAVAILABLE
        return self.media

    async def compliance_export(
        self, call: Call[compliance_protocol.ExportRequest]
    ) -> compliance_protocol.ExportStatus:
        return await self._compliance().start_export(_caller(call), call.body)

    async def compliance_export_status(
        self, call: Call[NoBody]
    ) -> compliance_protocol.ExportStatus:
        export_id = call.request.match_info["export_id"]
        return await self._compliance().export_status(_caller(call), export_id)

    async def compliance_audit(
        self, call: Call[compliance_protocol.AuditQuery]
    ) -> compliance_protocol.AuditPage:
        return await self._compliance().read_audit(_caller(call), call.body)

    async def compliance_erase(
        self, call: Call[compliance_protocol.ErasureRequest]
    ) -> compliance_protocol.ErasureReport:
        return await self._compliance().erase(_caller(call), call.body)

    async def compliance_erasure_status(
        self, call: Call[NoBody]
    ) -> compliance_protocol.ErasureStatus:
        erasure_id = call.request.match_info["erasure_id"]
        return await self._compliance().erasure_status(_caller(call), erasure_id)

    async def compliance_redact(
        self, call: Call[compliance_protocol.RedactionRequest]
    ) -> Sequenced:
        return await self._compliance().redact(_caller(call), call.body)

    async def compliance_retention(
        self, call: Call[compliance_protocol.RetentionRequest]
    ) -> Sequenced:
        conversation = call.request.match_info["conversation"]
        return await self._compliance().set_retention(_caller(call), conversation, call.body)

    def _compliance(self) -> ComplianceService:
        if self.compliance is None:
            raise COMPLIANCE_OFF
        return self.compliance


def _preferred_wait(prefer: str) -> float:
    """`Prefer: wait=<seconds>` (RFC 7240): how long the client will wait for an answer
    that changes; anything else asks for the state as it is."""
    for preference in prefer.split(","):
        name, _, value = preference.strip().partition("=")
        if name.strip().lower() == "wait":
            try:
                return max(0.0, float(value.strip()))
            except ValueError:
                return 0.0
    return 0.0


def _caller(call: Call[Any]) -> Caller:
    return Caller(user_id=call.user_id, device_id=call.device_id)


@dataclass(frozen=True)
class Endpoint(Generic[BodyT, AnswerT]):
    """One route of the control plane; `answer` None: it answers with no body."""

    method: str
    path: str
    summary: str
    handle: Callable[[RestApi, Call[BodyT]], Awaitable[AnswerT]]
    body: type[BodyT]
    answer: type[AnswerT] | None
    status: HTTPStatus = HTTPStatus.OK
    secured: bool = True
    source: Source = "json"


ENDPOINTS: tuple[Endpoint[Any, Any], ...] = (
    Endpoint(
        "POST",
        "/v1/accounts",
        "Register an account (through the log).",
        RestApi.register,
        c.RegisterRequest,
        Account,
        HTTPStatus.CREATED,
        secured=False,
    ),
    Endpoint(
        "POST",
        "/v1/sessions",
        "Log in: a new device and its bearer token (shown once).",
        RestApi.login,
        c.LoginRequest,
        Session,
        HTTPStatus.CREATED,
        secured=False,
    ),
    Endpoint(
        "GET", "/v1/profile", "My user id and display name.", RestApi.profile, NoBody, Profile
    ),
    Endpoint(
        "PATCH",
        "/v1/profile",
        "Change my display name (through the log).",
        RestApi.change_profile,
        c.ProfileRequest,
        Profile,
    ),
    Endpoint("GET", "/v1/devices", "My devices.", RestApi.devices, NoBody, DeviceList),
    Endpoint(
        "DELETE",
        "/v1/devices/{device_id}",
        "Revoke a device; its token stops working on every edge.",
        RestApi.revoke,
        NoBody,
        None,
        HTTPStatus.NO_CONTENT,
    ),
    Endpoint(
        "POST",
        "/v1/conversations",
        "Create a 1:1 (one per pair) or a group.",
        RestApi.create_conversation,
        c.CreateConversationRequest,
        CreatedConversation,
        HTTPStatus.CREATED,
    ),
    Endpoint(
        "GET",
        "/v1/conversations",
        "Conversations I am in.",
        RestApi.conversations,
        NoBody,
        ConversationList,
    ),
    Endpoint(
        "POST",
        "/v1/conversations/{cid}/members",
        "Add a member (owners and admins).",
        RestApi.add_member,
        c.AddMemberRequest,
        Sequenced,
    ),
    Endpoint(
        "DELETE",
        "/v1/conversations/{cid}/members/{user_id}",
        "Remove a member; removing yourself is leaving.",
        RestApi.remove_member,
        NoBody,
        Sequenced,
    ),
    Endpoint(
        "PUT",
        "/v1/conversations/{cid}/disappearing",
        "Disappearing messages (members): new messages live 24 h, 7 d or 90 d from their "
        "sending, or null for off; every member's devices get `DisappearingMessagesSet`.",
        RestApi.set_disappearing,
        c.DisappearingRequest,
        Sequenced,
    ),
    Endpoint(
        "POST",
        "/v1/media",
        "Declare an upload (size, SHA-256, type, name): pre-signed URLs for its bytes.",
        RestApi.declare_media,
        DeclareMedia,
        UploadTicket,
        HTTPStatus.CREATED,
    ),
    Endpoint(
        "GET",
        "/v1/media/{media_id}/upload",
        "Resume an upload: fresh URLs for only the parts the store does not have.",
        RestApi.resume_upload,
        NoBody,
        UploadTicket,
    ),
    Endpoint(
        "POST",
        "/v1/media/{media_id}/complete",
        "Finish an upload: its bytes are checked (size, SHA-256, real type) and queued.",
        RestApi.complete_upload,
        NoBody,
        MediaInfo,
    ),
    Endpoint(
        "GET",
        "/v1/media/{media_id}",
        "My upload's state; with `Prefer: wait=<s>`, once processed (or after that long).",
        RestApi.media_info,
        NoBody,
        MediaInfo,
    ),
    Endpoint(
        "GET",
        "/v1/media/{media_id}/download",
        "Short-lived links to an attachment's renditions, for members of its conversation.",
        RestApi.download_media,
        NoBody,
        MediaDownload,
    ),
    Endpoint(
        "GET",
        "/v1/search",
        "Search the messages I may read (as the `search` frame; docs/search.md).",
        RestApi.search,
        SearchParameters,
        SearchPage,
        source="query",
    ),
    Endpoint(
        "POST",
        "/v1/compliance/exports",
        "Export a conversation or a person's conversations at an instant, or every version "
        "(compliance officers of the case; runs as a job: poll its status).",
        RestApi.compliance_export,
        compliance_protocol.ExportRequest,
        compliance_protocol.ExportStatus,
        HTTPStatus.ACCEPTED,
    ),
    Endpoint(
        "GET",
        "/v1/compliance/exports/{export_id}",
        "An export's progress; once done, its files as short-lived download URLs "
        "(compliance officers of its case).",
        RestApi.compliance_export_status,
        NoBody,
        compliance_protocol.ExportStatus,
    ),
    Endpoint(
        "GET",
        "/v1/compliance/audit",
        "The compliance audit log, filtered and paged (compliance officers).",
        RestApi.compliance_audit,
        compliance_protocol.AuditQuery,
        compliance_protocol.AuditPage,
        source="query",
    ),
    Endpoint(
        "POST",
        "/v1/compliance/erasures",
        "Erase a person: account tombstoned, person key destroyed, their content gone from "
        "every conversation (compliance officers of the case; repeat with `erasure_id` to "
        "finish an interrupted one).",
        RestApi.compliance_erase,
        compliance_protocol.ErasureRequest,
        compliance_protocol.ErasureReport,
    ),
    Endpoint(
        "GET",
        "/v1/compliance/erasures/{erasure_id}",
        "An erasure's report, store by store: what it reached, and what of the person is "
        "left readable, counted now (compliance officers of its case).",
        RestApi.compliance_erasure_status,
        NoBody,
        compliance_protocol.ErasureStatus,
    ),
    Endpoint(
        "POST",
        "/v1/compliance/redactions",
        "Redact one message: its content leaves every view, device, search and the archive "
        "(compliance officers of the case).",
        RestApi.compliance_redact,
        compliance_protocol.RedactionRequest,
        Sequenced,
    ),
    Endpoint(
        "PUT",
        "/v1/compliance/retention/{conversation}",
        "Set how many days a conversation's new messages are kept, or null for no rule of "
        "its own (compliance officers of the case).",
        RestApi.compliance_retention,
        compliance_protocol.RetentionRequest,
        Sequenced,
    ),
)
