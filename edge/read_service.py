"""Reads, as clients ask for them: history pages, sync, the inbox, the conversation list and
search, from the projections' query side. RocksDB reads block, so they run on one thread of
this edge's own, and a burst of history requests never stalls its sockets; searches run on
the search executor's threads, each within its time budget, so a slow search delays
neither a page nor another search beyond its own bound (projections/search/executor.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, TypeVar, cast

from edge.errors import search_error
from edge.inbox_entries import inbox_entry
from edge.pages import HistoryPages, HistoryView, InboxView
from edge.protocol.answers import (
    ConversationList,
    ConversationSummary,
    HistoryPage,
    Inbox,
    InboxEntry,
    SearchPage,
    SyncAnswer,
)
from edge.protocol.frames import SearchParameters
from edge.search_hits import search_page, search_request
from projections.history.layout import Lifetime, Tenures
from projections.inbox.layout import Preview
from projections.search.errors import SearchError
from projections.search.executor import SearchExecutor
from projections.search.query import Indexed, documents_by
from schemas import codec
from schemas import models as m
from sealing.bodies import BodyOpener

T = TypeVar("T")


class History(HistoryView, Protocol):
    def members(self, conversation_id: str) -> dict[str, str]: ...

    def conversations_of(self, user_id: str) -> list[str]: ...

    def tenures(self, user_id: str) -> dict[str, Tenures]: ...

    def event(self, conversation_id: str, seq: int) -> bytes | None: ...

    def attached_in(self, media_id: str) -> list[tuple[str, int]]: ...

    def media_sent_by(self, user_id: str, conversation_id: str) -> set[str]: ...

    def content_of(self, user_id: str, conversation_id: str) -> int: ...

    def lifetime(self, conversation_id: str) -> Lifetime: ...

    def refresh(self) -> None: ...

    def close(self) -> None: ...


class InboxReads(InboxView, Protocol):
    def close(self) -> None: ...


@dataclass(frozen=True)
class PersonTraces:
    """What the views hold of a person's content, counted at one moment: an erasure's
    report (edge/erasure_status.py)."""

    conversations: int
    """Conversations the person was ever in (their tenures)."""
    messages: int
    """Their messages that still hold their content in the history view."""
    previews: int
    """Inbox previews of a message of theirs that still hold its text."""
    documents: int | None
    """Search documents of theirs (None: this edge reads no search index)."""
    media: list[str]
    """Every media they attached (the history view's ids)."""


class ReadService:
    def __init__(
        self,
        *,
        history: History,
        inbox: InboxReads,
        searches: SearchExecutor,
        opener: BodyOpener | None = None,
        index: Indexed | None = None,
    ) -> None:
        """`opener` opens sealed bodies and previews for the answers (None: a log with none);
        `index`: the search index, where an erasure's report counts documents."""
        self.history = history
        self.inbox_view = inbox
        self.searches = searches
        self.index = index
        self.opener = opener
        self.pages = HistoryPages(history, inbox, opener)
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="history")
        self.lifetimes_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lifetimes")
        """A send's read of its conversation's lifetime (one key) waits behind no page."""

    async def fetch_history(
        self, user_id: str, cid: str, *, before: int | None, after: int | None, limit: int
    ) -> HistoryPage:
        return await self._read(
            lambda: self.pages.page(user_id, cid, before=before, after=after, limit=limit)
        )

    async def sync(
        self, user_id: str, cursors: dict[str, int], limit: int, *, with_inbox: bool
    ) -> SyncAnswer:
        return await self._read(
            lambda: self.pages.sync(user_id, cursors, limit, with_inbox=with_inbox)
        )

    async def inbox(self, user_id: str) -> Inbox:
        return await self._read(
            lambda: Inbox(
                entries=[inbox_entry(c, self.opener) for c in self.inbox_view.entries(user_id)]
            )
        )

    async def fresh_inbox_entry(self, user_id: str, cid: str) -> InboxEntry | None:
        """The entry as the inbox view holds it this moment (its reader caught up first)."""

        def read() -> InboxEntry | None:
            self.inbox_view.refresh()
            found = self.inbox_view.entry(user_id, cid)
            return None if found is None else inbox_entry(found, self.opener)

        return await self._read(read)

    async def search(self, user_id: str, asked: SearchParameters) -> SearchPage:
        try:
            found = await self.searches.run(user_id, search_request(asked))
        except SearchError as e:
            raise search_error(e) from e
        return search_page(found)

    async def sharing_a_conversation(
        self, user_id: str, others: list[str], excluding: str | None = None
    ) -> list[str]:
        """Those of `others` who share a conversation (other than `excluding`) with the
        user: presence is theirs only."""

        def visible() -> list[str]:
            mine = set(self.history.conversations_of(user_id)) - {excluding}
            return [u for u in others if mine & set(self.history.conversations_of(u))]

        return await self._read(visible)

    async def readable_attachment(
        self, user_id: str, media_id: str, *, fresh: bool = False
    ) -> m.Attachment | None:
        """The media as a message the user may read carries it: a message sent during one of
        their tenures in its conversation (`Tenures.covers`), not deleted for everyone nor redacted
        (its stored event is then gone), nor hidden by them. None for anyone else: the
        download authorization. `fresh`: catch the view up first (it has just written)."""

        def find() -> m.Attachment | None:
            if fresh:
                self.history.refresh()
            for cid, seq in self.history.attached_in(media_id):
                tenures = self.history.tenures_in(user_id, cid)
                if tenures is None or not tenures.covers(seq):
                    continue
                raw = self.history.event(cid, seq)
                if raw is None or self.history.hidden_for(user_id, cid, seq):
                    continue
                sent = cast(m.MessageSent, codec.decode(raw))
                for attachment in sent.attachments:
                    if attachment.media_id == media_id:
                        return self._opened(attachment, sent.meta.actor.user_id)
            return None

        return await self._read(find)

    def _opened(self, attachment: m.Attachment, sender: str) -> m.Attachment:
        """Its file name opened, when this service opens sealed values."""
        return attachment if self.opener is None else self.opener.attachment(attachment, sender)

    async def lifetime(self, cid: str, *, fresh: bool = False) -> tuple[Lifetime, int]:
        """The conversation's lifetime settings, and the seq of the view's last event there
        (what they reflect). `fresh`: catch the view up first (it has just written)."""

        def read() -> tuple[Lifetime, int]:
            if fresh:
                self.history.refresh()
            return self.history.lifetime(cid), self.history.last_seq(cid)

        return await self._read(read, self.lifetimes_thread)

    async def expiry_of(self, cid: str, seq: int) -> int | None:
        """When the message at `seq` expires (Unix ms); None if it never does, or the view
        holds no message there (the sequencer answers an edit of that)."""

        def read() -> int | None:
            raw = self.history.event(cid, seq)
            sent = None if raw is None else codec.decode(raw)
            if not isinstance(sent, m.MessageSent) or sent.expires_after_ms is None:
                return None
            return int(sent.meta.occurred_at.timestamp() * 1000) + sent.expires_after_ms

        return await self._read(read, self.lifetimes_thread)

    def conversations(self, user_id: str) -> ConversationList:
        return ConversationList(
            conversations=[
                ConversationSummary(
                    conversation_id=cid,
                    members=sorted(self.history.members(cid)),
                    last_seq=self.history.last_seq(cid),
                )
                for cid in self.history.conversations_of(user_id)
            ]
        )

    def members(self, cid: str) -> dict[str, str]:
        """The conversation's members and their roles (none for a stranger's)."""
        return self.history.members(cid)

    def close(self) -> None:
        """After the last request: the views close once their thread has finished."""
        self.thread.shutdown(wait=True)
        self.lifetimes_thread.shutdown(wait=True)
        self.searches.close()
        self.history.close()
        self.inbox_view.close()

    async def conversations_ever(self, user_id: str) -> list[str]:
        """Every conversation the person was ever in, left ones too (their tenures): what
        an erasure reaches."""
        return await self._read(lambda: sorted(self.history.tenures(user_id)))

    async def traces_of(self, user_id: str) -> PersonTraces:
        """What the views still hold of the person, counted now (fresh)."""

        def count() -> PersonTraces:
            self.history.refresh()
            conversations = sorted(self.history.tenures(user_id))
            media: set[str] = set()
            for cid in conversations:
                media |= self.history.media_sent_by(user_id, cid)
            previews = [e.summary.preview for e in self.inbox_view.entries(user_id)]
            return PersonTraces(
                conversations=len(conversations),
                messages=sum(self.history.content_of(user_id, c) for c in conversations),
                previews=sum(1 for p in previews if p is not None and _holds(p, user_id)),
                documents=None if self.index is None else documents_by(self.index, user_id),
                media=sorted(media),
            )

        return await self._read(count)

    async def media_sent_by(self, user_id: str, conversation_id: str) -> set[str]:
        """Every media the person attached in the conversation (deleted messages' too):
        the files their erasure deletes."""
        return await self._read(lambda: self.history.media_sent_by(user_id, conversation_id))

    async def _read(self, read: Callable[[], T], thread: ThreadPoolExecutor | None = None) -> T:
        return await asyncio.get_running_loop().run_in_executor(thread or self.thread, read)


def _holds(preview: Preview, user_id: str) -> bool:
    """The preview is of a message of the person's and still holds its text (plain or
    sealed): what an erasure must have dropped."""
    return preview.sender_id == user_id and (preview.text is not None or preview.sealed is not None)
