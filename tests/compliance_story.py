"""Histories for compliance's tests: events of a few conversations, each a second after the
last, placed in partitions and offsets as the sequencer would place them; a source that
serves them as the archive and the log would (for the pure tests); an export's spec as the
edge would write it; and the elements and text of a transcript, as a browser parses it."""

from __future__ import annotations

import html.parser
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from edge.compliance.export import ExportSpec
from projections.history_source import SourceRecord
from schemas import codec
from schemas import models as m
from schemas.partitioning import partition_for

START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


@dataclass
class Story:
    partitions: int = 4
    step_ms: int = 1000
    at_ms: int = START_MS
    seqs: dict[str, int] = field(default_factory=dict)
    events: list[m.Event] = field(default_factory=list)

    def meta(self, cid: str, who: str) -> m.EventMeta:
        self.at_ms += self.step_ms
        seq = self.seqs[cid] = self.seqs.get(cid, 0) + 1
        return m.EventMeta(
            event_id=f"{cid}/{seq}",
            conversation_id=cid,
            seq=seq,
            actor=m.Actor(user_id=who, device_id=f"{who}-phone"),
            client_msg_id=str(uuid.uuid4()),
            command_id=str(uuid.uuid4()),
            occurred_at=datetime.fromtimestamp(self.at_ms / 1000, UTC),
        )

    def add(self, event: m.Event) -> int:
        self.events.append(event)
        return event.meta.seq

    def create(self, cid: str, owner: str, *others: str, name: str | None = None) -> int:
        members = (owner, *others)
        return self.add(
            m.ConversationCreated(
                meta=self.meta(cid, owner),
                kind=m.ConversationKind.GROUP if name else m.ConversationKind.DIRECT,
                name=name,
                members=tuple(
                    m.Member(user_id=u, role=m.Role.OWNER if u == owner else m.Role.MEMBER)
                    for u in members
                ),
            )
        )

    def send(self, cid: str, who: str, text: str) -> int:
        return self.add(m.MessageSent(meta=self.meta(cid, who), body=m.PlainBody(text=text)))

    def send_body(self, cid: str, who: str, body: m.EncryptedBody | m.SealedBody) -> int:
        return self.add(m.MessageSent(meta=self.meta(cid, who), body=body))

    def edit(self, cid: str, who: str, target: int, text: str) -> int:
        return self.add(
            m.MessageEdited(
                meta=self.meta(cid, who), target_seq=target, body=m.PlainBody(text=text)
            )
        )

    def delete(self, cid: str, who: str, target: int, *, for_everyone: bool = True) -> int:
        scope = m.DeleteScope.FOR_EVERYONE if for_everyone else m.DeleteScope.FOR_ME
        return self.add(m.MessageDeleted(meta=self.meta(cid, who), target_seq=target, scope=scope))

    def react(self, cid: str, who: str, target: int, emoji: str) -> int:
        return self.add(m.ReactionAdded(meta=self.meta(cid, who), target_seq=target, emoji=emoji))

    def add_member(self, cid: str, who: str, user: str) -> int:
        return self.add(m.MemberAdded(meta=self.meta(cid, who), user_id=user, role=m.Role.MEMBER))

    def records(self) -> list[SourceRecord]:
        """Every event as a record of its conversation's partition, offsets dense per
        partition, in the order they happened."""
        offsets: dict[int, int] = {}
        found = []
        for event in self.events:
            cid = event.meta.conversation_id
            partition = partition_for(cid, self.partitions)
            offset = offsets[partition] = offsets.get(partition, -1) + 1
            found.append(SourceRecord(partition, offset, cid.encode(), codec.encode(event)))
        return found


class ListSource:
    """The `Source` an export reads, over records in memory: for the pure tests only (the
    integration tests read the real log and archive)."""

    def __init__(self, records: list[SourceRecord]) -> None:
        self.by_partition: dict[int, list[SourceRecord]] = {}
        for record in records:
            self.by_partition.setdefault(record.partition, []).append(record)

    def snapshot(self, partitions: list[int]) -> dict[int, int]:
        return {
            p: (self.by_partition[p][-1].offset + 1 if self.by_partition.get(p) else 0)
            for p in partitions
        }

    def records(self, partition: int, end: int) -> Iterator[SourceRecord]:
        for record in self.by_partition.get(partition, []):
            if record.offset >= end:
                return
            yield record


def ms_after(story: Story) -> int:
    """An instant after everything the story holds so far, before anything it adds next."""
    return story.at_ms + story.step_ms // 2


def export_spec(
    subject: str, as_of_ms: int, *, mode: str = "as_of", kind: str = "conversation"
) -> ExportSpec:
    """What the edge hands an export job, for a test that runs the export itself."""
    return ExportSpec.model_validate(
        {
            "export_id": "0" * 32,
            "case": "CASE-1",
            "subject_kind": kind,
            "subject_id": subject,
            "mode": mode,
            "as_of_ms": as_of_ms,
            "created_at_ms": 1,
            "expires_at_ms": 2,
            "action_id": "a",
            "officer": "olga",
            "device_id": "d",
            "origin": "test",
        }
    )


class Elements(html.parser.HTMLParser):
    """A transcript's start tags and text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)
