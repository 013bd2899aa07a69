"""The control plane's request bodies (REST, JSON): accounts, sessions, conversations.

Their answers are in edge/protocol/answers.py; the routes that take them are edge/rest.py's
`ENDPOINTS`, which /openapi.json describes.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class RegisterRequest(RequestBody):
    username: Annotated[str, Field(min_length=3, max_length=32)]
    password: Annotated[str, Field(min_length=8, max_length=256)]
    display_name: Annotated[str, Field(max_length=64)] = ""


class LoginRequest(RequestBody):
    username: Annotated[str, Field(min_length=1, max_length=32)]
    password: Annotated[str, Field(min_length=1, max_length=256)]
    device_name: Annotated[str, Field(max_length=64)] = "device"


class ProfileRequest(RequestBody):
    display_name: Annotated[str, Field(min_length=1, max_length=64)]


class CreateConversationRequest(RequestBody):
    kind: Literal["direct", "group"]
    members: Annotated[list[str], Field(max_length=1000)]
    name: Annotated[str, Field(max_length=256)] | None = None


class AddMemberRequest(RequestBody):
    user_id: Annotated[str, Field(min_length=1, max_length=64)]
    role: Literal["OWNER", "ADMIN", "MEMBER", "owner", "admin", "member"] = "MEMBER"


class QueryParameters(RequestBody):
    """A route's query string, parsed: each field one parameter (`?name=value`)."""


class DisappearingRequest(RequestBody):
    """How long new messages of the conversation live, from their sending: one of the
    deployment's choices (24 h, 7 d or 90 d: 86400000, 604800000, 7776000000), or null for
    off. A setting applies to messages sent after it."""

    after_ms: Annotated[int, Field(strict=True)] | None
