"""The Parley SDK: the REST control plane plus a self-healing WebSocket that yields each
conversation's events exactly once and in seq order, across drops, goodbyes and resyncs."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import itertools
import logging
import socket
import uuid
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import aiohttp

from client.backoff import Backoff, send_pauses
from client.connection import ClientRequest, Connection, ConnectionState, ServerPush
from client.errors import (
    ApiError,
    ClientClosedError,
    DisconnectedError,
    ParleyError,
    RequestTimeoutError,
    SendFailedError,
)
from client.media import Progress, Source, Uploader, fetch
from client.models import (
    AckKind,
    ConversationEvent,
    ConversationSummary,
    CreatedConversation,
    Device,
    HistoryPage,
    Inbox,
    InboxEntry,
    SearchOrder,
    SearchPage,
    SendResult,
    Sequenced,
    SyncAnswer,
    parse_answer,
)
from client.ordering import ConversationOrder, Gap
from client.rest import RestApi
from edge.protocol.frames import (
    Ack,
    DeleteMessage,
    E2EECiphertext,
    EditMessage,
    FetchHistory,
    GetInbox,
    Ping,
    PlainText,
    React,
    Search,
    SendMessage,
    Sync,
    Typing,
)
from edge.protocol.media import MediaDownload, MediaInfo
from edge.protocol.pushes import EventPush, InboxPush, PresencePush, Resync, TypingPush

log = logging.getLogger(__name__)

# Error codes after which the edge did not take the message, so trying again is safe and useful.
RETRYABLE_CODES = frozenset({"timeout", "unavailable", "internal", "too_busy"})

Signal = TypingPush | PresencePush | InboxPush


class _Wake(enum.Enum):
    CATCH_UP = "catch_up"
    ENDED = "ended"


def websocket_url(base_url: str) -> str:
    base = base_url.rstrip("/")
    for http, ws in (("https://", "wss://"), ("http://", "ws://")):
        if base.startswith(http):
            return ws + base.removeprefix(http) + "/v1/ws"
    raise ValueError(f"server URL must start with http:// or https://, not {base_url!r}")


class ParleyClient:
    """One device's session with Parley.

    `cursors` (conversation id to the highest seq already handled) resumes where a previous
    run stopped; read them back from `cursors` before exiting. `backfill_new` decides
    whether a conversation without a cursor is delivered from seq 1 or from the first event
    seen. `fill_snapshots` (the default) fetches the history a sync snapshot leaves out (a
    conversation missed by over 200 events), so that `events()` yields every event; turn it
    off to resume such a conversation from its latest page, as a chat screen does. Only one
    task may iterate `events()` / `messages()` at a time. `connect_timeout` bounds opening
    the WebSocket and authenticating (by default `request_timeout`). `send_backoff` spaces
    a send's attempts (0.5 s growing to 8 s, jittered, by default).
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        cursors: Mapping[str, int] | None = None,
        backfill_new: bool = True,
        request_timeout: float = 10.0,
        connect_timeout: float | None = None,
        send_attempts: int = 5,
        send_deadline: float = 60.0,
        backoff: Backoff | None = None,
        heartbeat: float | None = 20.0,
        max_reconnect_attempts: int | None = None,
        max_buffered: int = 1000,
        max_inbox: int = 10_000,
        history_page: int = 200,
        sync_limit: int = 500,
        gap_retry_delays: Sequence[float] = (0.2, 1.0, 3.0),
        fill_snapshots: bool = True,
        send_backoff: Backoff | None = None,
        on_signal: Callable[[Signal], None] | None = None,
    ) -> None:
        if send_attempts < 1:
            raise ValueError("send_attempts must be at least 1")
        self._session: aiohttp.ClientSession | None = None
        self._rest = RestApi(base_url, self._http, token=token, timeout=request_timeout)
        self._uploader = Uploader(self._rest, self._http)
        self._backoff = backoff or Backoff()
        self._connection = Connection(
            websocket_url(base_url),
            self._http,
            lambda: self._rest.token,
            on_push=self._on_push,
            on_open=lambda: self._inbox.put_nowait(_Wake.CATCH_UP),
            on_end=lambda: self._inbox.put_nowait(_Wake.ENDED),
            backoff=self._backoff,
            heartbeat=heartbeat,
            connect_timeout=request_timeout if connect_timeout is None else connect_timeout,
            max_reconnect_attempts=max_reconnect_attempts,
        )
        self._order = ConversationOrder(
            cursors, backfill_new=backfill_new, max_buffered=max_buffered
        )
        self._backfill_new = backfill_new
        self._request_timeout = request_timeout
        self._send_attempts = send_attempts
        self._send_deadline = send_deadline
        self._max_inbox = max_inbox
        self._history_page = history_page
        self._sync_limit = sync_limit
        self._gap_retry_delays = tuple(gap_retry_delays)
        self._fill_snapshots = fill_snapshots
        self._send_backoff = send_backoff or send_pauses()
        self._fetch_backoff = Backoff(
            initial=self._backoff.initial, maximum=self._backoff.maximum, rng=self._backoff.rng
        )
        self._stuck: tuple[Gap, int] | None = None
        self._on_signal = on_signal
        self._inbox: asyncio.Queue[ConversationEvent | _Wake] = asyncio.Queue()
        self._overflowed = False
        self._consuming = False
        self._request_ids = itertools.count(1)
        self.user_id: str | None = None
        self.device_id: str | None = None

    async def __aenter__(self) -> ParleyClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def token(self) -> str | None:
        return self._rest.token

    @token.setter
    def token(self, value: str | None) -> None:
        self._rest.token = value

    @property
    def cursors(self) -> dict[str, int]:
        """Highest seq yielded per conversation: persist it and pass it back to resume."""
        return self._order.cursors

    @property
    def state(self) -> ConnectionState:
        return self._connection.state

    @property
    def connects(self) -> int:
        """How many times the WebSocket has been opened (1 + reconnects)."""
        return self._connection.connects

    def track(self, conversation_id: str, after: int = 0) -> bool:
        """Follow a conversation from just after `after`; False if it was already followed."""
        return self._order.track(conversation_id, after)

    async def close(self) -> None:
        await self._connection.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    # The control plane (REST).

    async def register(self, username: str, password: str, display_name: str | None = None) -> str:
        """Create an account; returns its user id (log in separately)."""
        return await self._rest.register(username, password, display_name or username)

    async def login(self, username: str, password: str, device_name: str | None = None) -> str:
        """Start a session for a new device; returns its token and uses it from now on."""
        session = await self._rest.login(
            username, password, device_name or f"parley-sdk@{socket.gethostname()}"
        )
        self.token, self.user_id, self.device_id = session.token, session.user_id, session.device_id
        return session.token

    async def create_direct(self, user_id: str) -> CreatedConversation:
        return await self._rest.create_conversation("direct", [user_id])

    async def create_group(self, name: str, members: Sequence[str]) -> CreatedConversation:
        return await self._rest.create_conversation("group", list(members), name)

    async def add_member(
        self, conversation_id: str, user_id: str, role: str | None = None
    ) -> int | None:
        return await self._rest.add_member(conversation_id, user_id, role)

    async def remove_member(self, conversation_id: str, user_id: str) -> int | None:
        return await self._rest.remove_member(conversation_id, user_id)

    async def set_disappearing(self, conversation_id: str, after_ms: int | None) -> int | None:
        """New messages of the conversation live `after_ms` (24 h, 7 d or 90 d in ms), or
        for ever (None). Expired messages come as `MessagesExpired`: drop what you kept."""
        return await self._rest.set_disappearing(conversation_id, after_ms)

    async def list_conversations(self) -> list[ConversationSummary]:
        return await self._rest.list_conversations()

    async def list_devices(self) -> list[Device]:
        return await self._rest.list_devices()

    async def revoke_device(self, device_id: str) -> None:
        await self._rest.revoke_device(device_id)

    # The data plane (WebSocket).

    async def connect(self) -> None:
        """Open the WebSocket, raising `UnauthorizedError` or `ServerUnavailableError` if that
        fails; later drops are repaired in the background. Other calls connect on first use."""
        if self._connection.state is ConnectionState.IDLE:
            await self._connection.open()
            identity = self._connection.identity
            if identity is not None:
                self.user_id, self.device_id = identity.user_id, identity.device_id

    async def send(
        self,
        conversation_id: str,
        text: str | E2EECiphertext,
        *,
        client_msg_id: str | None = None,
        reply_to: int | None = None,
        attachments: Sequence[str] = (),
    ) -> int:
        """Send a message (plain text, or a body encrypted end to end) and return its seq;
        `attachments` are media ids of this person's ready uploads (`upload_file`), and the
        text may then be empty.

        An unanswered attempt (timeout, dropped socket, an error that says try again) is
        retried with the same `client_msg_id` after a growing pause (`send_backoff`), so a
        slow server is not flooded with copies; the sequencer de-duplicates them: however
        many attempts it takes, the message is stored once and every answer names the same
        seq. A send given up on (`SendFailedError`) may be retried later with its
        `client_msg_id`, with the same guarantee.
        """
        body: PlainText | E2EECiphertext | None = text if not isinstance(text, str) else None
        if isinstance(text, str) and (text or not attachments):
            body = PlainText(text=text)
        await self.connect()
        client_msg_id = client_msg_id or str(uuid.uuid4())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._send_deadline
        pauses = dataclasses.replace(self._send_backoff)
        last: ParleyError | None = None
        attempt = 0
        while attempt < self._send_attempts and (remaining := deadline - loop.time()) > 0:
            if attempt:
                await asyncio.sleep(min(pauses.next_delay(), remaining))
                remaining = deadline - loop.time()
            attempt += 1
            frame = SendMessage(
                type="send",
                id=self._request_id(),
                conversation_id=conversation_id,
                client_msg_id=client_msg_id,
                body=body,
                reply_to=reply_to,
                attachments=list(attachments),
            )
            try:
                result = await self._connection.request(
                    frame, timeout=min(self._request_timeout, remaining)
                )
            except (DisconnectedError, RequestTimeoutError) as e:
                log.info("send %s attempt %d unanswered: %s", client_msg_id, attempt, e)
                last = e
                continue
            except ApiError as e:
                if e.code not in RETRYABLE_CODES:
                    raise
                last = e
                continue
            return parse_answer(SendResult, result, what="send").seq
        raise SendFailedError(
            f"message {client_msg_id} unconfirmed after {attempt} attempt(s): {last}",
            client_msg_id=client_msg_id,
        ) from last

    async def upload_file(
        self,
        data: Path | bytes,
        *,
        file_name: str | None = None,
        content_type: str | None = None,
        encrypted: bool = False,
        resume: str | None = None,
        on_declared: Callable[[str], None] | None = None,
        on_progress: Progress | None = None,
        wait_ready: bool = True,
    ) -> MediaInfo:
        """Upload a file (read a part at a time) or bytes straight to object storage and
        complete it; with `wait_ready`, answer once the server has scanned and processed
        it (an `ApiError` names a refusal: `malware`, `type_mismatch`, ...).

        A dropped upload raises `UploadFailedError` with its media id: pass it back as
        `resume` (or keep the id `on_declared` is told) and only the missing parts are sent.
        `encrypted`: the bytes are ciphertext (`client.sealing`), which the server stores and
        serves without looking inside."""
        source = Source(data, file_name)
        info = await self._uploader.upload(
            source,
            content_type=content_type,
            encrypted=encrypted,
            resume=resume,
            on_declared=on_declared,
            on_progress=on_progress,
        )
        return await self.wait_ready(info.media_id) if wait_ready else info

    async def wait_ready(self, media_id: str, *, deadline_s: float = 120.0) -> MediaInfo:
        """An upload of yours once processed (`ready`); an `ApiError` names a refusal."""
        return await self._uploader.ready(media_id, deadline_s=deadline_s)

    async def send_file(
        self,
        conversation_id: str,
        data: Path | bytes,
        *,
        caption: str = "",
        file_name: str | None = None,
        content_type: str | None = None,
        client_msg_id: str | None = None,
        resume: str | None = None,
        on_declared: Callable[[str], None] | None = None,
        on_progress: Progress | None = None,
    ) -> int:
        """Upload a file, wait until it is ready, and send it (with `caption`, if any) as a
        message; returns its seq."""
        info = await self.upload_file(
            data,
            file_name=file_name,
            content_type=content_type,
            resume=resume,
            on_declared=on_declared,
            on_progress=on_progress,
        )
        return await self.send(
            conversation_id, caption, client_msg_id=client_msg_id, attachments=[info.media_id]
        )

    async def download_links(self, media_id: str) -> MediaDownload:
        """Short-lived links to every rendition of an attachment of a message you can read."""
        return await self._rest.download_links(media_id)

    async def download(
        self, media_id: str, variant: str = "ORIGINAL", to: Path | None = None
    ) -> bytes:
        """A rendition's bytes (`ORIGINAL`, `THUMBNAIL`, `PREVIEW`, `POSTER`, `PLAYBACK`), or,
        with `to`, written there (and b"" returned)."""
        links = await self.download_links(media_id)
        link = next((v for v in links.variants if v.name == variant), None)
        if link is None:
            served = ", ".join(v.name for v in links.variants)
            raise ParleyError(f"{media_id} has no {variant} (it has {served})")
        return await fetch(self._http(), link.url, to)

    async def ack(self, conversation_id: str, kind: AckKind, up_to: int) -> int | None:
        """Mark this device's delivery, or this person's reading, up to a seq; returns the
        watermark, or None when it did not move."""
        frame = Ack(
            type="ack",
            id=self._request_id(),
            conversation_id=conversation_id,
            kind=kind,
            up_to=up_to,
        )
        return await self._watermark_or_seq(frame, "ack")

    async def fetch_history(
        self,
        conversation_id: str,
        *,
        after: int | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> HistoryPage:
        """A page of events sorted by seq: newer than `after`, older than `before`, or the
        latest when neither is given. It does not move the cursors."""
        frame = FetchHistory(
            type="fetch_history",
            id=self._request_id(),
            conversation_id=conversation_id,
            after=after,
            before=before,
            limit=limit,
        )
        return parse_answer(HistoryPage, await self._request(frame), what="fetch_history")

    async def typing(self, conversation_id: str, active: bool = True) -> None:
        frame = Typing(
            type="typing", id=self._request_id(), conversation_id=conversation_id, active=active
        )
        await self._request(frame)

    async def ping(self) -> None:
        await self._request(Ping(type="ping", id=self._request_id()))

    async def events(self) -> AsyncGenerator[ConversationEvent, None]:
        """Every event of every followed conversation, once each and in seq order per
        conversation; missing ranges are fetched before anything after them is yielded.
        Ends when the client is closed; raises when the connection fails for good."""
        if self._consuming:
            raise ParleyError("events() already has a consumer")
        self._consuming = True
        try:
            await self.connect()
            while True:
                item = self._order.pop_ready()
                if item is not None:
                    yield item
                    continue
                gap = self._order.next_gap()
                if gap is not None:
                    await self._fill(gap)
                elif not await self._receive():
                    return
        except ClientClosedError:
            return
        finally:
            self._consuming = False

    async def messages(self) -> AsyncGenerator[ConversationEvent, None]:
        """`events()` narrowed to messages (`MessageSent`)."""
        async for item in self.events():
            if item.type == "MessageSent":
                yield item

    # Internals.

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    def _request_id(self) -> str:
        return str(next(self._request_ids))

    async def _watermark_or_seq(self, frame: ClientRequest, what: str) -> int | None:
        """The seq of the event a change made (None when an ack moved nothing)."""
        return parse_answer(Sequenced, await self._request(frame), what=what).seq

    async def _request(self, frame: ClientRequest) -> dict[str, Any]:
        await self.connect()
        return await self._connection.request(frame, timeout=self._request_timeout)

    def _on_push(self, push: ServerPush) -> None:
        if isinstance(push, EventPush):
            if self._inbox.qsize() >= self._max_inbox:
                # The dropped push is in the log: a catch-up from the cursors fetches it.
                self._overflowed = True
                return
            self._inbox.put_nowait(
                ConversationEvent(
                    conversation_id=push.conversation_id, seq=push.seq, event=push.event
                )
            )
        elif isinstance(push, Resync):
            log.info("server asked for a resync (%s)", push.reason)
            self._inbox.put_nowait(_Wake.CATCH_UP)
        elif self._on_signal is not None:
            try:
                self._on_signal(push)
            except Exception:
                # The application's callback must not take the connection down with it.
                log.exception("on_signal callback failed")

    async def _receive(self) -> bool:
        """Take the next push or wake-up into the order; False once the client is closed."""
        if self._overflowed:
            self._overflowed = False
            await self._catch_up()
            return True
        inbound = await self._inbox.get()
        if inbound is _Wake.CATCH_UP:
            await self._catch_up()
        elif inbound is _Wake.ENDED:
            failure = self._connection.failure
            if failure is not None:
                raise failure
            return self._connection.state is not ConnectionState.CLOSED
        else:
            self._order.offer(inbound)
        return True

    async def sync(self, limit: int = 500) -> SyncAnswer:
        """One sync round from what this client holds (see `_catch_up`, which loops it)."""
        held = {cid: self._order.held_through(cid) for cid in self._order.conversations}
        frame = Sync(type="sync", id=self._request_id(), cursors=held, limit=limit)
        return parse_answer(SyncAnswer, await self._request(frame), what="sync")

    async def inbox(self) -> list[InboxEntry]:
        """The person's conversations, most recent activity first, with unread counts."""
        frame = GetInbox(type="inbox", id=self._request_id())
        return parse_answer(Inbox, await self._request(frame), what="inbox").entries

    async def edit(self, conversation_id: str, seq: int, text: str) -> int | None:
        body = PlainText(text=text)
        frame = EditMessage(
            type="edit", id=self._request_id(), conversation_id=conversation_id, seq=seq, body=body
        )
        return await self._watermark_or_seq(frame, "edit")

    async def delete(self, conversation_id: str, seq: int, *, for_everyone: bool) -> int | None:
        scope: Literal["for_me", "for_everyone"] = "for_everyone" if for_everyone else "for_me"
        frame = DeleteMessage(
            type="delete",
            id=self._request_id(),
            conversation_id=conversation_id,
            seq=seq,
            scope=scope,
        )
        return await self._watermark_or_seq(frame, "delete")

    async def react(
        self, conversation_id: str, seq: int, emoji: str, active: bool = True
    ) -> int | None:
        frame = React(
            type="react",
            id=self._request_id(),
            conversation_id=conversation_id,
            seq=seq,
            emoji=emoji,
            active=active,
        )
        return await self._watermark_or_seq(frame, "react")

    async def search(
        self,
        query: str,
        *,
        conversation_id: str | None = None,
        sender: str | None = None,
        before: date | None = None,
        after: date | None = None,
        has_link: bool = False,
        has_file: bool = False,
        order: SearchOrder = "relevance",
        limit: int = 20,
        cursor: str | None = None,
    ) -> SearchPage:
        """One page of the messages this person may read now that match `query` (words,
        "phrases", -exclusions, in: from: before: after: has:link has:file; docs/search.md).
        For the next page, call again with the same arguments and `cursor=page.next_cursor`.
        A query the server refuses raises `ApiError` with code `invalid` and the reason as
        its message; one over the server's time budget, code `timeout`. Snippet offsets
        count UTF-16 code units: `client.display.highlighted` renders them."""
        frame = Search(
            type="search",
            id=self._request_id(),
            query=query,
            conversation_id=conversation_id,
            sender=sender,
            before=before,
            after=after,
            has_link=has_link,
            has_file=has_file,
            order=order,
            limit=limit,
            cursor=cursor,
        )
        return parse_answer(SearchPage, await self._request(frame), what="search")

    async def _catch_up(self) -> None:
        """After a (re)connect or a resync: `sync` from what is held until nothing more is
        owed; against an edge without `sync`, fetch each known conversation's history."""
        try:
            await self._sync_all()
            return
        except ApiError as e:
            if e.code != "bad_frame":
                raise
            log.info("the edge has no sync; catching up by history pages")
        if self._backfill_new:
            try:
                for summary in await self._rest.list_conversations():
                    self._order.track(summary.conversation_id, 0)
            except ParleyError as e:
                log.warning("cannot list conversations, catching up known ones only: %s", e)
        self._order.catch_up()

    async def _sync_all(self, max_rounds: int = 1000) -> None:
        for _ in range(max_rounds):
            answer = await self.sync(self._sync_limit)
            fetched = 0
            for conversation in answer.conversations:
                cid = conversation.conversation_id
                if cid not in self._order.conversations and not self._backfill_new:
                    self._order.track(cid, conversation.last_seq)
                    continue
                self._order.synced(
                    cid,
                    conversation.events,
                    complete=conversation.complete,
                    fill_before=conversation.snapshot and self._fill_snapshots,
                )
                fetched += len(conversation.events)
            if not answer.more:
                return
            if not fetched:
                await asyncio.sleep(0.05)  # one of the server's views trails the other
        log.warning(
            "sync still owed events after %d rounds; history pages will fill in", max_rounds
        )
        self._order.catch_up()

    async def _fill(self, gap: Gap) -> None:
        try:
            page = await self.fetch_history(
                gap.conversation_id, after=gap.after, limit=self._history_page
            )
        except (DisconnectedError, RequestTimeoutError):
            await self._connection.wait_open()
            return
        except ApiError as e:
            log.warning("cannot fetch %s after seq %d: %s", gap.conversation_id, gap.after, e)
            if e.code in RETRYABLE_CODES:
                # The server could not answer, which says nothing about the gap: ask again
                # after a pause, never count it as an empty page (that would skip the gap).
                await asyncio.sleep(self._fetch_backoff.next_delay())
                return
            page = HistoryPage(events=[])
        else:
            self._fetch_backoff.reset()
        newest = max((e.seq for e in page.events), default=gap.after)
        if page.last_seq is not None:
            exhausted = not page.events or newest >= page.last_seq
        else:
            exhausted = len(page.events) < self._history_page
        if self._order.page_fetched(gap, page.events, exhausted=exhausted) == "progress":
            self._stuck = None
            return
        if gap.before is None:
            return
        retries = self._stuck[1] if self._stuck is not None and self._stuck[0] == gap else 0
        if retries < len(self._gap_retry_delays):
            # History may come from a projection that has not caught up with the pushes yet.
            self._stuck = (gap, retries + 1)
            await asyncio.sleep(self._gap_retry_delays[retries])
            return
        log.warning(
            "seqs %d..%d of %s are not in history; skipping them",
            gap.after + 1,
            gap.before - 1,
            gap.conversation_id,
        )
        self._stuck = None
        self._order.skip(gap)

