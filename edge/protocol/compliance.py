"""The compliance officers' control plane (REST under /v1/compliance/): what they ask, what
they are answered, and the lines of an export's JSON Lines file.

Every request names the `case` the officer acts under; the role is held per case and
granted only by an operator (docs/compliance.md). An export runs as a job: its status says
how far it has got and, once done, hands out its files as short-lived download URLs, each
with its SHA-256, which the manifest file lists too.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from edge.protocol.answers import ConversationEvent
from edge.protocol.control import QueryParameters, RequestBody
from edge.protocol.events import ServerModel

CaseRef = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")]
"""A ticket or matter reference: 1 to 64 of A-Z, a-z, 0-9, `.`, `_`, `:`, `/`, `-`."""
ExportMode = Literal["as_of", "legal_hold"]
ExportState = Literal["running", "succeeded", "failed"]


def _absent(value: object) -> bool:
    return value is None


class ExportRequest(RequestBody):
    """One conversation (`conversation_id`) or every conversation a person was ever in
    (`user_id`), exactly one of the two. `as_of`: as it stood at `as_of_ms` (edits and
    deletions as they were then); `legal_hold`: every event up to `as_of_ms`, so every
    version of every message. `as_of_ms` defaults to now."""

    case: CaseRef
    conversation_id: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    user_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    mode: ExportMode = "as_of"
    as_of_ms: Annotated[int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _one_subject(self) -> Self:
        if (self.conversation_id is None) == (self.user_id is None):
            raise ValueError("give exactly one of conversation_id and user_id")
        return self


class ExportProgress(ServerModel):
    """`offsets_read` of `offsets_total`: the log positions the job has passed (a person's
    export reads the log twice: once to find their conversations, once to replay them)."""

    phase: Literal["starting", "finding", "replaying", "writing", "done"] = "starting"
    offsets_read: int = 0
    offsets_total: int = 0
    conversations: int = 0
    events_written: int = 0
    percent: float = 0.0


class ExportFile(ServerModel):
    """One file of an export; `url` (a pre-signed GET, valid until `ExportStatus.urls_expire_at_ms`)
    is given only in the answer to the status request of a finished export."""

    name: str
    size_bytes: int
    sha256: str
    url: str | None = Field(default=None, exclude_if=_absent)


class ExportStatus(ServerModel):
    """An export job: `running` (see `progress`), `succeeded` (see `files`: the JSON Lines
    export, the HTML transcript and the manifest of both) or `failed` (see `error`)."""

    export_id: str
    case: str
    subject: str
    """`conversation:<id>` or `user:<id>`."""
    mode: ExportMode
    as_of_ms: int
    state: ExportState
    progress: ExportProgress
    files: list[ExportFile] = Field(default_factory=list)
    error: str | None = None
    created_at_ms: int
    updated_at_ms: int
    expires_at_ms: int
    """When the export's files are deleted from the platform."""
    urls_expire_at_ms: int | None = Field(default=None, exclude_if=_absent)


class AuditQuery(QueryParameters):
    """`case` is the case the officer reads under; the rest filter (`about_case`: entries
    of that case). `cursor` is where to go on from: the `next_cursor` of the last page."""

    case: CaseRef
    officer: Annotated[str, Field(min_length=1, max_length=160)] | None = None
    action: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    about_case: CaseRef | None = None
    target: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    since_ms: Annotated[int, Field(ge=0)] | None = None
    until_ms: Annotated[int, Field(ge=0)] | None = None
    cursor: Annotated[int, Field(ge=0)] = 0
    limit: Annotated[int, Field(ge=1, le=500)] = 100


class AuditEntry(ServerModel):
    """One record of the audit log. `started` comes before the action is performed;
    `ended` carries its `outcome` (`succeeded`, `failed`, or `refused`, which has no start)."""

    cursor: int
    phase: Literal["started", "ended"]
    action_id: str
    action: str
    officer: str
    device_id: str
    case_ref: str
    target: str
    parameters: dict[str, str] = Field(default_factory=dict)
    outcome: str | None = Field(default=None, exclude_if=_absent)
    detail: str | None = Field(default=None, exclude_if=_absent)
    origin: str
    occurred_at_ms: int


class AuditPage(ServerModel):
    """Entries in log order. `more`: the log holds records past `next_cursor` not yet read
    (ask again from it); otherwise `next_cursor` is where new entries will appear."""

    entries: list[AuditEntry]
    next_cursor: int
    more: bool = False


class ErasureRequest(RequestBody):
    """Erase a person (the right to be forgotten) under `case_ref`. `erasure_id`: the id a
    previous answer gave, to finish an erasure that was interrupted (nothing is done twice)."""

    case_ref: CaseRef
    user_id: Annotated[str, Field(min_length=1, max_length=64)]
    erasure_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")] | None = None


class ErasedConversation(ServerModel):
    conversation_id: str
    seq: int | None
    """The seq of `SenderContentErased` there; None: it was already erased (a repeat)."""


class ErasureReport(ServerModel):
    """What an erasure did: the account made a tombstone (`account_seq`), the person key
    destroyed, their files' deletion asked of the media sweeper, and `SenderContentErased`
    in each conversation the person was ever in."""

    erasure_id: str
    user_id: str
    officer: str
    case_ref: str
    account_seq: int | None
    """The seq of `AccountErased`; None: the account was already a tombstone."""
    key_destroyed: bool
    """The person key held bytes until this request (False on a repeat)."""
    conversations: list[ErasedConversation]
    media: list[str]
    """Every media the person attached, whose files the media sweeper was asked to delete
    (`MediaErasureRequested`; the sweeper's `MediaDeleted(ERASED)` says it did)."""


ErasureStore = Literal[
    "accounts",
    "key_store",
    "log",
    "history_view",
    "inbox_view",
    "search_index",
    "media",
    "archive",
]


class StoreReport(ServerModel):
    """One store, as the erasure left it: what it reached there, what is left readable now."""

    store: ErasureStore
    found: int
    """What the erasure reached in this store: devices (accounts), the person key, the
    person's conversations (log, views, archive), the files they attached (media)."""
    left: int
    """What of the person this store still holds readable, counted when asked: 0 once
    clean (messages with their content, previews, search documents, files with objects)."""
    done: str
    """What the erasure did here, in words."""


class ErasureStatus(ServerModel):
    """An erasure's report read back later, store by store, counted when asked: what is
    true now, not only what was done. `complete` once every store has nothing left."""

    erasure_id: str
    user_id: str
    officer: str
    case_ref: str
    account_seq: int
    """The seq of `AccountErased`."""
    erased_at_ms: int
    complete: bool
    stores: list[StoreReport]


class RedactionRequest(RequestBody):
    """Remove one message's content everywhere; the seq stays, so the order stays dense.
    `reason` is written into the log's `MessageRedacted` with the case: no content in it."""

    case_ref: CaseRef
    conversation_id: Annotated[str, Field(min_length=1, max_length=256)]
    seq: Annotated[int, Field(ge=1)]
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class RetentionRequest(RequestBody):
    """Keep the conversation's new messages `keep_days` days (1 to 36,500); null: no
    retention of its own (the global default applies). Applies to messages sent after it."""

    case_ref: CaseRef
    keep_days: Annotated[int, Field(ge=1, le=36_500)] | None


class OpenedText(ServerModel):
    """A body as the officer reads it: `plain` (the server could read it), `opened` (sealed
    at rest and opened with its key), `e2ee` (end to end encrypted: the server cannot read
    it), `sealed` (no key store to open it) or `erased` (its key was destroyed)."""

    status: Literal["plain", "opened", "e2ee", "sealed", "erased"]
    text: str


class ExportHeader(ServerModel):
    """The first line of an export."""

    type: Literal["export"] = "export"
    format: int = 1
    export_id: str
    case: str
    subject: str
    mode: ExportMode
    as_of_ms: int
    generated_at_ms: int


class ExportConversation(ServerModel):
    """Opens a conversation's lines. In `as_of` mode, its members and last seq at the
    instant; in `legal_hold` mode the membership events themselves say it."""

    type: Literal["conversation"] = "conversation"
    conversation_id: str
    last_seq: int | None = Field(default=None, exclude_if=_absent)
    members: dict[str, str] | None = Field(default=None, exclude_if=_absent)


class ExportEvent(ServerModel):
    """One event: `view` is it exactly as a member's history showed it at the instant
    (`as_of`: a message with its latest edit and reactions then) or the event itself
    (`legal_hold`). `text` opens the event's own body, `edit_text` its latest edit's."""

    type: Literal["event"] = "event"
    conversation_id: str
    seq: int
    view: ConversationEvent
    text: OpenedText | None = Field(default=None, exclude_if=_absent)
    edit_text: OpenedText | None = Field(default=None, exclude_if=_absent)


class ExportEnd(ServerModel):
    """The last line: what the export holds, so a truncated file shows."""

    type: Literal["end"] = "end"
    conversations: int
    events: int


ExportLine = Annotated[
    ExportHeader | ExportConversation | ExportEvent | ExportEnd, Field(discriminator="type")
]


class ManifestFile(ServerModel):
    name: str
    size_bytes: int
    sha256: str


class Manifest(ServerModel):
    """`manifest.json`: the files of an export and the SHA-256 of each."""

    export_id: str
    case: str
    subject: str
    mode: ExportMode
    as_of_ms: int
    generated_at_ms: int
    files: list[ManifestFile]
