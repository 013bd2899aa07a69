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
        self._next_seq: dict[str, dict[int, int]] = {}
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
        following = self._next_seq.get(conversation_id, {}).get(cursor, cursor + 1)
        return "ready" if item.seq == following else "buffered"

    def pop_ready(self) -> ConversationEvent | None:
        """The next event of some conversation whose seq follows its cursor, advancing it."""
        for conversation_id, buffer in self._buffers.items():
            cursor = self._cursors[conversation_id]
            links = self._next_seq.get(conversation_id, {})
            following = links.get(cursor, cursor + 1)
            item = buffer.pop(following, None)
            if item is not None:
                self._cursors[conversation_id] = following
                if following != cursor + 1:
                    self._forget_below(conversation_id, following)
                return item
        return None

    def next_gap(self) -> Gap | None:
        """What to fetch before anything else can be handed out; None when nothing is missing.

        Call it only once `pop_ready` returns None, or a gap may be reported that a ready
        event would have closed.
        """
        for conversation_id, buffer in self._buffers.items():
            if buffer:
                return Gap(conversation_id, self._cursors[conversation_id], min(buffer))
        for conversation_id in self._catching_up:
            if not self._buffers.get(conversation_id):
                return Gap(conversation_id, self._cursors[conversation_id], None)
        return None

    def page_fetched(
        self, gap: Gap, events: Iterable[ConversationEvent], *, exhausted: bool
    ) -> Filled:
        """Take the page fetched for `gap`; `exhausted` means the server had no more events.

        A history page lists every event the user may see after `gap.after`, in order, so
        a seq missing between two of its events (deleted for everyone, redacted, from
        before the user joined) will never come: the cursor later steps over it. Returns
        "empty" when the page held nothing after `gap.after`; history may come from a
        projection still behind the pushes, so the caller retries later or `skip`s.
        """
        page = sorted(
            (e for e in events if e.conversation_id == gap.conversation_id and e.seq > gap.after),
            key=lambda e: e.seq,
        )
        links = self._next_seq.setdefault(gap.conversation_id, {})
        previous = gap.after
        for item in page:
            if item.seq > previous + 1:
                links[previous] = item.seq
            if item.seq != previous:
                self.offer(item)
            previous = item.seq
        if exhausted or not page:
            self._catching_up.pop(gap.conversation_id, None)
        return "progress" if page else "empty"

    def held_through(self, conversation_id: str) -> int:
        """The highest seq held without a gap (handed out or waiting to be): what a sync
        may start after, so that events already fetched are not asked for again."""
        seq = self._cursors.get(conversation_id, 0)
        buffer = self._buffers.get(conversation_id, {})
        links = self._next_seq.get(conversation_id, {})
        while (following := links.get(seq, seq + 1)) in buffer:
            seq = following
        return seq

    def synced(
        self,
        conversation_id: str,
        events: Iterable[ConversationEvent],
        *,
        complete: bool,
        fill_before: bool = False,
    ) -> None:
        """Take one conversation of a sync answer: its events after what is held, in order
        (seqs absent between them will never come). A snapshot is only the latest page:
        with `fill_before`, the seqs between what is held and its first event are a gap to
        fetch; without, they are stepped over (a screen that shows the latest page and
        pages older history on demand)."""
        self.track(conversation_id, 0)
        after = self.held_through(conversation_id)
        page = [e for e in events if e.seq > after]
        if fill_before and page:
            after = min(e.seq for e in page) - 1
        self.page_fetched(Gap(conversation_id, after, None), page, exhausted=complete)
        if not complete:
            self._catching_up[conversation_id] = None

    def skip(self, gap: Gap) -> None:
        """Give up on a bounded gap that history keeps answering empty: step the cursor
        over it to the first held event, which unblocks the rest."""
        if gap.before is not None and self._cursors.get(gap.conversation_id) == gap.after:
            self._next_seq.setdefault(gap.conversation_id, {})[gap.after] = gap.before

    def _forget_below(self, conversation_id: str, seq: int) -> None:
        """After stepping over absent seqs, drop what was held or learned below the cursor."""
        buffer = self._buffers[conversation_id]
        for stale in [s for s in buffer if s < seq]:
            del buffer[stale]
        links = self._next_seq.get(conversation_id, {})
        for passed in [s for s in links if s < seq]:
            del links[passed]
