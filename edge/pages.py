"""History as a device reads it: pages of a conversation, and `sync` over all of them.

A person reads only what was sent during one of their tenures (from the event that made them
a member to the one that removed them; `Tenures` in projections/history/layout.py), so a
page is taken from those stretches of the conversation only: a page never comes back short
because the seqs it looked at were someone else's. Each message shows as it is now: with its
latest edit and its reactions, and as a `Hidden` placeholder when the reader deleted it for
themselves (a placeholder keeps the seq, so clients see no gap). A deletion "for me" by
someone else is a placeholder too: only its author learns of it. Runs on the edge's history
thread (RocksDB reads block).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, cast

from edge.errors import NO_SUCH_CONVERSATION
from edge.event_views import body_view, event_view, hidden, visible_view
from edge.inbox_entries import inbox_entry
from edge.protocol.answers import (
    ConversationEvent,
    Edit,
    HistoryPage,
    SyncAnswer,
    SyncedConversation,
)
from projections.history.layout import MAX_SEQ, Tenures
from projections.history.query import MAX_PAGE, Overlay
from projections.inbox.query import InboxConversation
from schemas import codec
from schemas import models as m
from sealing.bodies import BodyOpener, EventT

PAGE_BUDGET_BYTES = 1024 * 1024
SNAPSHOT_AFTER = 200
"""A conversation missed by more events than this is sent as its latest page instead."""
SNAPSHOT_PAGE = 30


class HistoryView(Protocol):
    def page(
        self, conversation_id: str, *, before: int | None, after: int | None, limit: int
    ) -> list[bytes]: ...

    def last_seq(self, conversation_id: str) -> int: ...

    def tenures_in(self, user_id: str, conversation_id: str) -> Tenures | None: ...

    def overlay(self, conversation_id: str, seq: int) -> Overlay: ...

    def hidden_for(self, user_id: str, conversation_id: str, seq: int) -> bool: ...


class InboxView(Protocol):
    def entries(self, user_id: str) -> list[InboxConversation]: ...

    def activity(self, user_id: str) -> list[tuple[str, int]]: ...

    def entry(self, user_id: str, conversation_id: str) -> InboxConversation | None: ...

    def refresh(self) -> None: ...


class HistoryPages:
    def __init__(
        self, history: HistoryView, inbox: InboxView, opener: BodyOpener | None = None
    ) -> None:
        """`opener` opens sealed bodies (None: a log that holds none); a body whose key is
        gone shows as sealed, which clients render as removed."""
        self.history = history
        self.inbox = inbox
        self.opener = opener

    def page(
        self, user_id: str, cid: str, *, before: int | None, after: int | None, limit: int
    ) -> HistoryPage:
        tenures = self.history.tenures_in(user_id, cid)
        if tenures is None:
            raise NO_SUCH_CONVERSATION
        raws = self._readable(tenures, cid, before=before, after=after, limit=limit)
        newest_first = before is not None and after is None
        events = self._render(user_id, cid, raws, newest_first=newest_first)
        return HistoryPage(events=events, last_seq=self._last_readable(tenures, cid))

    def _last_readable(self, tenures: Tenures, cid: str) -> int:
        """The `last_seq` a reader is told: the conversation's for a member; for someone
        removed, the seq of their last removal, so that nobody learns how far a
        conversation went on after they left."""
        last = self.history.last_seq(cid)
        left_at = tenures.tenures[-1].left_at
        return last if left_at is None else min(left_at, last)

    def sync(
        self, user_id: str, cursors: dict[str, int], limit: int, *, with_inbox: bool = False
    ) -> SyncAnswer:
        """Everything after the device's cursors, conversation by conversation, most recent
        activity first, at most `limit` events (and ~1 MiB) per answer; `more` says ask
        again with the cursors advanced (or shortly: one view still trails the other). A
        conversation missed by over `SNAPSHOT_AFTER` events comes as its latest page
        (`snapshot`), older pages by `fetch_history`. `with_inbox` adds every inbox entry
        (the first round's, for a device that draws its list from it)."""
        budget = limit
        out: list[SyncedConversation] = []
        more = False
        for cid, inbox_last in self.inbox.activity(user_id):
            cursor = cursors.get(cid, 0)
            last = min(inbox_last, self.history.last_seq(cid))
            more = more or last < inbox_last  # the history view trails the inbox
            if cursor >= last:
                continue
            if budget <= 0:
                more = True
                break
            tenures = self.history.tenures_in(user_id, cid)
            if tenures is None:
                continue  # the history view trails the inbox (`more` said so)
            snapshot = last - cursor > SNAPSHOT_AFTER
            if snapshot:
                raws = self._readable(
                    tenures, cid, before=last + 1, after=None, limit=SNAPSHOT_PAGE
                )
            else:
                page = min(budget, MAX_PAGE)
                raws = self._readable(tenures, cid, before=last + 1, after=cursor, limit=page)
            events = self._render(user_id, cid, raws, newest_first=snapshot)
            budget -= max(len(events), 1)
            reached = events[-1].seq if events else last
            out.append(
                SyncedConversation(
                    conversation_id=cid,
                    events=events,
                    last_seq=last,
                    snapshot=snapshot,
                    complete=reached >= last,
                )
            )
            more = more or reached < last
        inbox = (
            [inbox_entry(c, self.opener) for c in self.inbox.entries(user_id)]
            if with_inbox
            else None
        )
        return SyncAnswer(conversations=out, more=more, inbox=inbox)

    def _readable(
        self, tenures: Tenures, cid: str, *, before: int | None, after: int | None, limit: int
    ) -> list[bytes]:
        """`HistoryView.page`'s answer (same `before`, `after`, `limit`) over the seqs the
        person may read: their tenures' stretches, walked from the near end."""
        lower = 1 if after is None else after + 1
        upper = MAX_SEQ if before is None else before - 1
        spans = tenures.spans(lower, upper)
        found: list[bytes] = []
        if after is not None:
            for first, last in spans:
                found += self.history.page(
                    cid, after=first - 1, before=last + 1, limit=limit - len(found)
                )
                if len(found) == limit:
                    break
            return found
        for first, last in reversed(spans):
            page = self.history.page(cid, before=last + 1, after=None, limit=limit - len(found))
            # The page's oldest may predate the tenure; from seq 1 on, nothing does.
            found[:0] = page if first == 1 else [raw for raw in page if _seq(raw) >= first]
            if len(found) == limit:
                break
        return found

    def _render(
        self, user_id: str, cid: str, raws: list[bytes], *, newest_first: bool
    ) -> list[ConversationEvent]:
        kept = _within_budget(raws, newest_first=newest_first)
        return [self._item(user_id, cid, cast(m.Event, codec.decode(raw))) for raw in kept]

    def _item(self, user_id: str, cid: str, event: m.Event) -> ConversationEvent:
        seq = event.meta.seq
        event = self._opened(event)
        if not isinstance(event, m.MessageSent):
            return ConversationEvent(
                conversation_id=cid, seq=seq, event=visible_view(event, user_id)
            )
        if self.history.hidden_for(user_id, cid, seq):
            return ConversationEvent(conversation_id=cid, seq=seq, event=hidden(cid, seq))
        return message_item(event, self.history.overlay(cid, seq), self._opened)

    def _opened(self, event: EventT) -> EventT:
        return event if self.opener is None else self.opener.event(event)


def message_item(
    event: m.MessageSent,
    overlay: Overlay,
    opened: Callable[[m.MessageEdited], m.MessageEdited] = lambda edit: edit,
) -> ConversationEvent:
    """A message as it is now: with its latest edit (`opened`: its body as readers see it)
    and its reactions (compliance's replay shows messages through this too, so an export
    at an instant and the page a device was shown then cannot differ)."""
    meta = event.meta
    edited: Edit | None = None
    if overlay.edit is not None:
        edit = opened(cast(m.MessageEdited, codec.decode(overlay.edit)))
        edited = Edit(seq=edit.meta.seq, body=body_view(edit.body))
    return ConversationEvent(
        conversation_id=meta.conversation_id,
        seq=meta.seq,
        event=event_view(event),
        edited=edited,
        reactions=overlay.reactions or None,
    )

    def _opened(self, event: EventT) -> EventT:
        return event if self.opener is None else self.opener.event(event)


def _seq(raw: bytes) -> int:
    return cast(m.Event, codec.decode(raw)).meta.seq


def _within_budget(events: list[bytes], *, newest_first: bool) -> list[bytes]:
    """At most ~1 MiB of events (at least one): `limit` is a maximum, and clients page on
    by cursor, so a page of large messages stays under every frame limit."""
    order = list(reversed(events)) if newest_first else events
    kept: list[bytes] = []
    used = 0
    for event in order:
        if kept and used + len(event) > PAGE_BUDGET_BYTES:
            break
        kept.append(event)
        used += len(event)
    return list(reversed(kept)) if newest_first else kept
