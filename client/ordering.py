"""The client's order of each conversation: cursors, de-duplication, buffering and gaps (no I/O).

The edge pushes a conversation's events in seq order, but a push can be lost (a dropped
socket, a `resync`) or seen twice (a push racing a history fetch). This module decides what
may be yielded next and what must be fetched first; the SDK does the fetching. A cursor is
the highest seq handed to the application: it only moves when `pop_ready` returns an event,
so an application that stores `cursors` and passes them back never skips or repeats one.

The caller's loop: `pop_ready()` until it returns None, then `next_gap()`; fetch the gap
with `fetch_history(after=gap.after)` and report the page with `page_fetched`; only when
there is no gap wait for the next push and `offer` it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from client.models import ConversationEvent

Offered = Literal["ready", "buffered", "duplicate", "dropped"]
Filled = Literal["progress", "empty"]


@dataclass(frozen=True, slots=True)
class Gap:
    """Events after `after` are missing. `before` is the first seq already held, or None when
    the end is unknown (catching up after a reconnect or a resync): fetch until a short page.
    """

    conversation_id: str
    after: int
    before: int | None


class ConversationOrder:
    """Per-conversation cursor plus a bounded buffer of events that arrived early.

    `backfill_new` decides where a conversation seen for the first time starts: at seq 1
    (its whole history is fetched, nothing is missed) or at the first event seen (live only).
    Buffered events beyond `max_buffered` are dropped and the conversation is marked for
    catch-up, which is safe because they are fetched again from the log after the cursor.
    """

    def __init__(
        self,
        cursors: Mapping[str, int] | None = None,
        *,
        backfill_new: bool = True,
        max_buffered: int = 1000,
    ) -> None:
        if max_buffered < 1:
            raise ValueError("max_buffered must be at least 1")
        self._backfill_new = backfill_new
        self._max_buffered = max_buffered
        self._cursors: dict[str, int] = {}
        self._buffers: dict[str, dict[int, ConversationEvent]] = {}
        self._catching_up: dict[str, None] = {}
        for conversation_id, cursor in (cursors or {}).items():
            self.track(conversation_id, cursor)

    @property
    def cursors(self) -> dict[str, int]:
        """The highest seq handed out per conversation (a copy: store it to resume)."""
        return dict(self._cursors)

    @property
    def conversations(self) -> list[str]:
        return list(self._cursors)

    def track(self, conversation_id: str, cursor: int = 0) -> bool:
        """Start following a conversation after `cursor`; False if it was already followed."""
        if cursor < 0:
            raise ValueError(f"cursor of {conversation_id!r} must be >= 0, not {cursor}")
        if conversation_id in self._cursors:
            return False
        self._cursors[conversation_id] = cursor
        return True

    def catch_up(self, conversation_ids: Iterable[str] | None = None) -> None:
        """Mark conversations (all followed ones by default) as possibly behind the log."""
        for conversation_id in self._cursors if conversation_ids is None else conversation_ids:
            if conversation_id in self._cursors:
                self._catching_up[conversation_id] = None

    def offer(self, item: ConversationEvent) -> Offered:
        conversation_id = item.conversation_id
        cursor = self._cursors.get(conversation_id)
        if cursor is None:
            cursor = 0 if self._backfill_new else max(item.seq - 1, 0)
            self._cursors[conversation_id] = cursor
        if item.seq <= cursor:
            return "duplicate"
        buffer = self._buffers.setdefault(conversation_id, {})
        if item.seq in buffer:
            return "duplicate"
        if len(buffer) >= self._max_buffered:
            self._catching_up[conversation_id] = None
            highest = max(buffer)
            if item.seq > highest:
                return "dropped"
            del buffer[highest]
        buffer[item.seq] = item
        return "ready" if item.seq == cursor + 1 else "buffered"

    def pop_ready(self) -> ConversationEvent | None:
        """The next event of some conversation whose seq follows its cursor, advancing it."""
        for conversation_id, buffer in self._buffers.items():
            following = self._cursors[conversation_id] + 1
            item = buffer.pop(following, None)
            if item is not None:
                self._cursors[conversation_id] = following
                return item
        return None

    def next_gap(self) -> Gap | None:
        """What to fetch before anything else can be handed out; None when nothing is missing.

        Call it only once `pop_ready` returns None, or a gap may be reported that a ready
        event would have closed.
        """
        for conversation_id, buffer in self._buffers.items():
            if buffer:
                cursor = self._cursors[conversation_id]
                first = min(buffer)
                if first > cursor + 1:
                    return Gap(conversation_id, cursor, first)
        for conversation_id in self._catching_up:
            if not self._buffers.get(conversation_id):
                return Gap(conversation_id, self._cursors[conversation_id], None)
        return None

    def page_fetched(
        self, gap: Gap, events: Iterable[ConversationEvent], *, exhausted: bool
    ) -> Filled:
        """Take the page fetched for `gap`; `exhausted` means the server had no more events.

        Returns "empty" when the page held nothing inside the gap; the caller may then
        retry later (history served by a lagging projection) or `skip` it.
        """
        progress = newer = False
        for item in events:
            if item.conversation_id != gap.conversation_id or item.seq <= gap.after:
                continue
            self.offer(item)
            newer = True
            if gap.before is None or item.seq < gap.before:
                progress = True
        if exhausted or not newer:
            self._catching_up.pop(gap.conversation_id, None)
        return "progress" if progress else "empty"

    def skip(self, gap: Gap) -> None:
        """Accept that the seqs of a bounded gap will never be visible (not this user's to
        see) and move the cursor up to the first held event, which unblocks the rest."""
        if gap.before is not None and self._cursors.get(gap.conversation_id) == gap.after:
            self._cursors[gap.conversation_id] = gap.before - 1
