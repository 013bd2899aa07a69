"""Replay of history to an instant, and an export's lines read from it.

History comes from `projections.history_source` (the archive, then the log, up to a
snapshot) and goes through the history view's own projection into a scratch view
(`projections.history.scratch`); the lines are read back from that view and rendered by the
code that renders a device's history page (`edge.pages.message_item`, `edge.event_views`).
No second interpretation of events exists here: what is skipped, merged or hidden is the
view's doing, so an export at an instant shows what a member's history showed then.

"At an instant T": a conversation's events are applied in seq order until the first one
that occurred after T; that one and every later one are not. A person's conversations are
those whose creation or a `MemberAdded` named them at or before T (found by a first pass
that decodes only those two kinds of event, recognised by their schema fingerprints).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Protocol, cast

from edge.compliance.bodies import BodyOpener, BodyPlace
from edge.event_views import event_view
from edge.pages import message_item
from edge.protocol.answers import ConversationEvent
from edge.protocol.compliance import ExportConversation, ExportEvent, ExportMode, ExportProgress
from projections.history.query import MAX_PAGE, HistoryReader
from projections.history.scratch import ScratchHistory
from projections.history_source import SourceRecord
from schemas import codec
from schemas import models as m
from schemas.codec import HEADER_LENGTH, MAGIC
from schemas.errors import MalformedRecordError, UnknownSchemaError
from schemas.partitioning import partition_for
from schemas.registry import writer_schemas

MEMBERSHIP_EVENTS = frozenset({m.ConversationCreated.avro_name, m.MemberAdded.avro_name})
REPORT_EVERY = 2000
"""Records between two progress reports."""


class Source(Protocol):
    """Where history comes from: `projections.history_source.HistorySource` (the archive,
    then the log)."""

    def snapshot(self, partitions: list[int]) -> dict[int, int]: ...

    def records(self, partition: int, end: int) -> Iterator[SourceRecord]: ...


class ExportCancelledError(Exception):
    """The export was told to stop (its edge node went away)."""


@cache
def membership_headers() -> frozenset[bytes]:
    """The single-object headers of every version of the events that make someone a member."""
    return frozenset(
        MAGIC + bytes.fromhex(fingerprint)
        for fingerprint, (name, _) in writer_schemas().items()
        if name in MEMBERSHIP_EVENTS
    )


def occurred_ms(event: m.Event) -> int:
    return int(event.meta.occurred_at.timestamp() * 1000)


def _decoded(record: SourceRecord) -> m.Event | None:
    """The event in a record; None for one the views would dead-letter (they skip it too)."""
    try:
        decoded = codec.decode(record.value)
    except (MalformedRecordError, UnknownSchemaError):
        return None
    return cast(m.Event, decoded) if hasattr(decoded, "meta") else None


@dataclass
class Tally:
    """How far a replay has got, reported as `ExportProgress`."""

    offsets_total: int = 0
    offsets_read: int = 0
    conversations: int = 0
    events_written: int = 0
    phase: str = "starting"

    def progress(self) -> ExportProgress:
        total = max(self.offsets_total, 1)
        return ExportProgress.model_validate(
            {
                "phase": self.phase,
                "offsets_read": self.offsets_read,
                "offsets_total": self.offsets_total,
                "conversations": self.conversations,
                "events_written": self.events_written,
                "percent": round(100 * min(self.offsets_read / total, 1.0), 1),
            }
        )


class Replay:
    """One export's reads of history: blocking, in the export's own process."""

    def __init__(
        self,
        source: Source,
        partitions: int,
        *,
        report: Callable[[ExportProgress], None],
        cancelled: Callable[[], bool],
    ) -> None:
        self.source = source
        self.partitions = partitions
        self.report = report
        self.cancelled = cancelled
        self.tally = Tally()
        self.records_read = 0

    def snapshot(self, subject_partitions: list[int] | None) -> dict[int, int]:
        """The log's end now, for every partition (a person's export reads them all)."""
        ends = self.source.snapshot(list(range(self.partitions)))
        scanned = subject_partitions if subject_partitions is not None else list(ends)
        self.tally.offsets_total = sum(ends[p] for p in scanned)
        if subject_partitions is None:  # a person: all once to find, then theirs again
            self.tally.offsets_total *= 2
        return ends

    def conversations_of(self, user_id: str, as_of_ms: int, ends: dict[int, int]) -> set[str]:
        """Every conversation whose creation or a `MemberAdded` named the user by `as_of_ms`."""
        self.tally.phase = "finding"
        headers = membership_headers()
        found: set[str] = set()
        for partition in sorted(ends):
            for record in self._read(partition, ends[partition]):
                if record.value[:HEADER_LENGTH] not in headers:
                    continue
                event = _decoded(record)
                if event is None or occurred_ms(event) > as_of_ms:
                    continue
                named = (
                    [member.user_id for member in event.members]
                    if isinstance(event, m.ConversationCreated)
                    else [getattr(event, "user_id", "")]
                )
                if user_id in named:
                    found.add(event.meta.conversation_id)
        # What the second pass will not read, it will not count either.
        read = {partition_for(cid, self.partitions) for cid in found}
        self.tally.offsets_total -= sum(ends[p] for p in ends if p not in read)
        return found

    def replay(
        self, conversations: set[str], as_of_ms: int, ends: dict[int, int], into: ScratchHistory
    ) -> None:
        """Feed each conversation's events up to the instant into the scratch view."""
        self.tally.phase = "replaying"
        keys = {cid.encode() for cid in conversations}
        after: set[str] = set()
        partitions = sorted({partition_for(cid, self.partitions) for cid in conversations})
        for partition in partitions:
            for record in self._read(partition, ends[partition]):
                if record.key is not None and record.key not in keys:
                    continue
                event = _decoded(record)
                if event is None or event.meta.conversation_id not in conversations:
                    continue
                cid = event.meta.conversation_id
                if cid in after:
                    continue
                if occurred_ms(event) > as_of_ms:
                    after.add(cid)
                    continue
                into.add(event, record.value)

    def wrote(self) -> None:
        """One more event written to the export's files."""
        self.tally.events_written += 1
        if self.tally.events_written % REPORT_EVERY == 0:
            self._checkpoint()

    def _read(self, partition: int, end: int) -> Iterator[SourceRecord]:
        """The partition's records below `end`, counting the offsets passed (transaction
        markers and aborted records included, so a partition read counts `end` in all)."""
        passed = 0
        for record in self.source.records(partition, end):
            self.tally.offsets_read += record.offset + 1 - passed
            passed = record.offset + 1
            self.records_read += 1
            if self.records_read % REPORT_EVERY == 0:
                self._checkpoint()
            yield record
        self.tally.offsets_read += max(end - passed, 0)

    def _checkpoint(self) -> None:
        if self.cancelled():
            raise ExportCancelledError
        self.report(self.tally.progress())


def lines(
    reader: HistoryReader, conversation_id: str, mode: ExportMode, opener: BodyOpener
) -> Iterator[ExportConversation | ExportEvent]:
    """One conversation as the scratch view holds it: its opening line, then its events in
    seq order, a page at a time."""
    legal = mode == "legal_hold"
    yield ExportConversation(
        conversation_id=conversation_id,
        last_seq=None if legal else reader.last_seq(conversation_id),
        members=None if legal else reader.members(conversation_id),
    )
    after = 0
    while raws := reader.page(conversation_id, after=after, limit=MAX_PAGE):
        for raw in raws:
            event = cast(m.Event, codec.decode(raw))
            yield export_event(reader, event, opener, with_overlay=not legal)
            after = event.meta.seq


def export_event(
    reader: HistoryReader, event: m.Event, opener: BodyOpener, *, with_overlay: bool
) -> ExportEvent:
    meta = event.meta
    cid, seq = meta.conversation_id, meta.seq
    edit_text = None
    if isinstance(event, m.MessageSent) and with_overlay:
        overlay = reader.overlay(cid, seq)
        view = message_item(opener.event(event), overlay, opener.event)
        if overlay.edit is not None:
            edit = cast(m.MessageEdited, codec.decode(overlay.edit))
            edit_text = opener.open(edit.body, _place(edit))
    else:
        shown = opener.event(event)
        view = ConversationEvent(conversation_id=cid, seq=seq, event=event_view(shown))
    text = (
        opener.open(event.body, _place(event))
        if isinstance(event, m.MessageSent | m.MessageEdited)
        else None
    )
    return ExportEvent(conversation_id=cid, seq=seq, view=view, text=text, edit_text=edit_text)


def _place(event: m.Event) -> BodyPlace:
    meta = event.meta
    return BodyPlace(meta.conversation_id, meta.seq, meta.actor.user_id)
