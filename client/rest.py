"""The control plane over JSON HTTP: accounts, sessions, devices, conversations and media."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import aiohttp

from client.errors import (
    ApiError,
    ProtocolError,
    RequestTimeoutError,
    ServerUnavailableError,
    UnauthorizedError,
)
from client.models import (
    Account,
    ConversationList,
    ConversationSummary,
    CreatedConversation,
    Device,
    DeviceList,
    Sequenced,
    Session,
    parse_answer,
)
from edge.protocol.media import DeclareMedia, MediaDownload, MediaInfo, UploadTicket


def api_error(status: int, text: str) -> ApiError:
    """Map an error answer (`{error: {code, message}}`, or anything a proxy made up)."""
    code, message = f"http_{status}", text.strip()[:200] or f"HTTP {status}"
    try:
        detail = json.loads(text)["error"]
        code, message = str(detail["code"]), str(detail["message"])
    except (ValueError, KeyError, TypeError):
        pass
    error_type = UnauthorizedError if status == 401 else ApiError
    return error_type(code, message, status=status)


class RestApi:
    """One method per endpoint; the bearer token is sent once `token` is set (after login)."""

    def __init__(
        self,
        base_url: str,
        http: Callable[[], aiohttp.ClientSession],
        *,
        token: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._http = http
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._timeout_s = timeout

    async def register(self, username: str, password: str, display_name: str) -> str:
        body = {"username": username, "password": password, "display_name": display_name}
        data = await self._call("POST", "/v1/accounts", body)
        return parse_answer(Account, data, what="register").user_id

    async def login(self, username: str, password: str, device_name: str) -> Session:
        body = {"username": username, "password": password, "device_name": device_name}
        data = await self._call("POST", "/v1/sessions", body)
        return parse_answer(Session, data, what="login")

    async def list_devices(self) -> list[Device]:
        data = await self._call("GET", "/v1/devices")
        return parse_answer(DeviceList, data, what="list devices").devices

    async def revoke_device(self, device_id: str) -> None:
        await self._call("DELETE", f"/v1/devices/{quote(device_id, safe='')}")

    async def create_conversation(
        self, kind: str, members: list[str], name: str | None = None
    ) -> CreatedConversation:
        body: dict[str, Any] = {"kind": kind, "members": members}
        if name is not None:
            body["name"] = name
        data = await self._call("POST", "/v1/conversations", body)
        return parse_answer(CreatedConversation, data, what="create conversation")

    async def list_conversations(self) -> list[ConversationSummary]:
        data = await self._call("GET", "/v1/conversations")
        return parse_answer(ConversationList, data, what="list conversations").conversations

    async def add_member(
        self, conversation_id: str, user_id: str, role: str | None
    ) -> int | None:
        body = {"user_id": user_id} | ({"role": role} if role is not None else {})
        path = f"/v1/conversations/{quote(conversation_id, safe='')}/members"
        return parse_answer(Sequenced, await self._call("POST", path, body), what="add member").seq

    async def set_disappearing(self, conversation_id: str, after_ms: int | None) -> int | None:
        path = f"/v1/conversations/{quote(conversation_id, safe='')}/disappearing"
        data = await self._call("PUT", path, {"after_ms": after_ms})
        return parse_answer(Sequenced, data, what="disappearing messages").seq

    async def remove_member(self, conversation_id: str, user_id: str) -> int | None:
        path = (
            f"/v1/conversations/{quote(conversation_id, safe='')}/members/{quote(user_id, safe='')}"
        )
        data = await self._call("DELETE", path)
        return parse_answer(Sequenced, data, what="remove member").seq

    async def declare_media(self, declaration: DeclareMedia) -> UploadTicket:
        data = await self._call("POST", "/v1/media", declaration.model_dump())
        return parse_answer(UploadTicket, data, what="declare media")

    async def resume_upload(self, media_id: str) -> UploadTicket:
        data = await self._call("GET", f"{_media_path(media_id)}/upload")
        return parse_answer(UploadTicket, data, what="resume upload")

    async def complete_upload(self, media_id: str, timeout: float) -> MediaInfo:
        """`timeout`: completing reads the whole upload once on the server."""
        data = await self._call("POST", f"{_media_path(media_id)}/complete", timeout=timeout)
        return parse_answer(MediaInfo, data, what="complete upload")

    async def media_info(self, media_id: str, *, wait_s: float = 0.0) -> MediaInfo:
        """With `wait_s`, the server answers once the media is processed (or after that)."""
        headers = {"Prefer": f"wait={wait_s:g}"} if wait_s > 0 else {}
        data = await self._call(
            "GET", _media_path(media_id), headers=headers, timeout=wait_s + self._timeout_s
        )
        return parse_answer(MediaInfo, data, what="media info")

    async def download_links(self, media_id: str) -> MediaDownload:
        data = await self._call("GET", f"{_media_path(media_id)}/download")
        return parse_answer(MediaDownload, data, what="download")

    async def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        sent = {**(headers or {})}
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        url = self.base_url + path
        limit = self._timeout if timeout is None else aiohttp.ClientTimeout(total=timeout)
        try:
            async with self._http().request(
                method, url, json=body, headers=sent, timeout=limit
            ) as response:
                text = await response.text()
                status = response.status
        except TimeoutError as e:
            raise RequestTimeoutError(f"{method} {url}: no answer in time") from e
        except aiohttp.ClientError as e:
            raise ServerUnavailableError(f"cannot reach {self.base_url}: {e}") from e
        if status >= 400:
            raise api_error(status, text)
        if status == 204 or not text:
            return {}
        try:
            return json.loads(text)
        except ValueError as e:
            raise ProtocolError(f"{method} {path} answered with non-JSON: {text[:200]!r}") from e


def _media_path(media_id: str) -> str:
    return f"/v1/media/{quote(media_id, safe='')}"
