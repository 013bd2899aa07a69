"""The archive's side of a redaction or an expiry: the `raw` objects holding a removed
message (its `MessageSent` and every `MessageEdited` of it) are rewritten with those
records' bodies replaced by an empty sealed body (docs/compliance.md, "Redaction of a
message" and "Retention and disappearing messages").

Same keys, same offsets, rows, log times, keys and event types: the chain, the manifest's
ranges and the `table` family (which never held a body, only its kind and size) stay valid;
the object's old bytes are replaced by the rewrite under the same key. Whatever else a
record says (its metadata, attachments' facts) stays: only the body was the message.

One path for both events: a `MessageRedacted` removes one seq, a `MessagesExpired` up to
1,000 (the expiry processor's batch); either is a `Removal` of its conversation's
`targets`, one marker per event (an event listing more than `MAX_TARGETS` seqs, which the
sequencer never writes, gets one marker per `MAX_TARGETS`).

Who scrubs: the writer of the partition (writer.py), the one process that writes its
objects, so a scrub never races a compaction or an upload there. When it archives a
removal, it first puts a marker (`<root>/scrub/<topic>/partition=N/<offset>.json`) before
the object holding the removal goes up, and scrubs once it is up; the marker is deleted
only after the scrub. A writer that died between the two finds the marker when it opens the
partition again, and scrubs then: restart-safe, and idempotent (a record already scrubbed
is not rewritten). Records the archive had not yet written when it died come back from the
log with the removal after them, which marks them again. The removals owed in a partition
are scrubbed in one pass over its objects, each read and rewritten at most once.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, model_validator

from kafkalog.cold.chain import resolve
from kafkalog.cold.layout import Family, ObjectKey, family_prefix
from objectstore.store import ObjectStore
from projections.archive.parquet import COMPRESSION, COMPRESSION_LEVEL, ROW_GROUP_ROWS
from schemas import codec
from schemas import models as m
from schemas.errors import MalformedRecordError, UnknownSchemaError

log = logging.getLogger("parley.archive")
EMPTY_BODY = m.SealedBody(key_id="", algorithm="", nonce=b"", ciphertext=b"")
"""What a scrubbed record's body becomes: a sealed body no key opens (shown as removed)."""
FOUND_COLUMNS = ["offset", "event_type", "conversation_id", "seq", "target_seq"]
MAX_TARGETS = 1000
"""Seqs per marker: a `MessagesExpired` carries at most the expiry processor's batch of
1,000, so one marker per event; the bound keeps a hostile record's marker small."""
REMOVING = frozenset({"MessageRedacted", "MessagesExpired"})


class Removal(BaseModel):
    """A `MessageRedacted` or `MessagesExpired` the archive holds at `offset`: the messages
    of its conversation (`targets`, seqs) whose send and edits it owes a scrub. What its
    marker says; `part` numbers the markers of an event with more than `MAX_TARGETS`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    offset: int
    conversation_id: str
    targets: tuple[int, ...] = Field(min_length=1, max_length=MAX_TARGETS)
    part: int = 0

    @model_validator(mode="before")
    @classmethod
    def _one_target(cls, data: Any) -> Any:
        """A marker put before removals had targets (a redaction's `target_seq`) is still
        owed after an upgrade."""
        if isinstance(data, dict) and "target_seq" in data and "targets" not in data:
            data = dict(data)
            data["targets"] = (data.pop("target_seq"),)
        return data


@dataclass(frozen=True)
class Scrubbed:
    """What one scrub did: the records it emptied, and the raw objects it rewrote (key, new
    size in bytes)."""

    records: tuple[int, ...]
    objects: tuple[tuple[str, int], ...]


def removals_in(offset: int, event_type: str, value: bytes) -> list[Removal]:
    """The removals a record is (none unless it is a redaction or an expiry), its seqs
    sorted, de-duplicated and cut into markers of at most `MAX_TARGETS`."""
    if event_type not in REMOVING:
        return []
    try:
        record = codec.decode(value)
    except (MalformedRecordError, UnknownSchemaError):
        return []
    if isinstance(record, m.MessageRedacted):
        seqs = [record.target_seq]
    elif isinstance(record, m.MessagesExpired):
        seqs = sorted(set(record.seqs))
    else:
        return []
    cid = record.meta.conversation_id
    return [
        Removal(offset=offset, conversation_id=cid, targets=tuple(chunk), part=part)
        for part, chunk in enumerate(
            seqs[i : i + MAX_TARGETS] for i in range(0, len(seqs), MAX_TARGETS)
        )
    ]


@dataclass(frozen=True)
class Place:
    """One partition's archive: where its objects and its scrub markers are."""

    store: ObjectStore
    root: str
    topic: str
    partition: int

    def markers(self) -> str:
        return f"{self.root}/scrub/{self.topic}/partition={self.partition}/"

    def marker(self, removal: Removal) -> str:
        part = f".{removal.part}" if removal.part else ""
        return f"{self.markers()}{removal.offset:020d}{part}.json"


def mark(place: Place, removal: Removal) -> None:
    """Says, before the removal's object goes up, that a scrub is owed (idempotent)."""
    place.store.put_bytes(place.marker(removal), removal.model_dump_json().encode())


def pending(place: Place) -> list[Removal]:
    """The scrubs owed in this partition, oldest first."""
    owed = []
    for listed in place.store.list_keys(place.markers()):
        data = place.store.get_if_exists(listed.key)
        if data is not None:
            owed.append(Removal.model_validate_json(data))
    return sorted(owed, key=lambda r: (r.offset, r.part))


def settle(
    place: Place, *, spool_dir: Path, crash_point: Callable[[str], None] = lambda step: None
) -> Scrubbed:
    """Every scrub owed in the partition, in one pass; the markers are deleted once it is
    done. `crash_point` names each step to a test that dies there."""
    owed = pending(place)
    if not owed:
        return Scrubbed((), ())
    done = scrub(place, owed, spool_dir=spool_dir, crash_point=crash_point)
    place.store.delete([place.marker(r) for r in owed])
    return done


def scrub(
    place: Place,
    owed: Sequence[Removal],
    *,
    spool_dir: Path,
    crash_point: Callable[[str], None] = lambda step: None,
) -> Scrubbed:
    """Empties the bodies of the removed messages' sends and edits in every raw object of
    the partition before their removal. Objects are read newest first (their `table` twins,
    five columns), and the search stops once every target's send is found: edits come after
    it."""
    store, topic, partition = place.store, place.topic, place.partition
    listed = [
        parsed
        for family in Family
        for found in store.list_keys(family_prefix(place.root, family, topic))
        if (parsed := ObjectKey.parse(found.key)) is not None
    ]
    chain = resolve(partition, listed)
    search = Search(owed)
    records: list[int] = []
    rewritten: list[tuple[str, int]] = []
    for obj in reversed(chain.objects):
        if search.done():
            break
        if obj.span.start >= search.latest():
            continue
        offsets = search.found_in(store.get(obj.key()))
        if offsets:
            raw = obj.twin(Family.RAW).key()
            size = _rewrite(store, raw, offsets, spool_dir)
            if size is not None:
                rewritten.append((raw, size))
                crash_point(f"rewrote {raw}")
            records += offsets
    if not search.done():
        log.warning(
            "%s/%d: sends not in the archive, nothing to scrub of them: %s",
            topic,
            partition,
            search.missing(),
        )
    log.info(
        "%s/%d: %d removals (offsets %d to %d) scrubbed %d records in %d objects",
        topic,
        partition,
        len(owed),
        owed[0].offset,
        owed[-1].offset,
        len(records),
        len(rewritten),
    )
    return Scrubbed(tuple(sorted(records)), tuple(rewritten))


class Search:
    """The removals of one pass, by (conversation, seq). A record belongs to a removal only
    if it comes before it (the removal's own object may hold later records)."""

    def __init__(self, owed: Sequence[Removal]) -> None:
        self.removed: dict[tuple[str, int], int] = {}
        """(conversation, seq) -> the latest removal of it (an offset): records before it
        are the message's."""
        for removal in owed:
            for seq in removal.targets:
                key = (removal.conversation_id, seq)
                self.removed[key] = max(self.removed.get(key, -1), removal.offset)
        self.conversations = {cid for cid, _ in self.removed}
        self.unsent = dict(self.removed)
        """The messages whose send is not found yet."""

    def done(self) -> bool:
        return not self.unsent

    def latest(self) -> int:
        """Objects starting at or after this offset cannot hold a record still looked for."""
        return max(self.unsent.values())

    def missing(self) -> list[tuple[str, int]]:
        return sorted(self.unsent)

    def removes(self, cid: str, seq: int, offset: int) -> bool:
        return offset < self.removed.get((cid, seq), -1)

    def found_in(self, table_bytes: bytes) -> list[int]:
        """The offsets of the removed messages' sends and edits in one `table` object; the
        sends found are no longer looked for."""
        columns = pq.read_table(io.BytesIO(table_bytes), columns=FOUND_COLUMNS).to_pydict()
        offsets: list[int] = []
        rows = zip(*(columns[name] for name in FOUND_COLUMNS), strict=True)
        for offset, event_type, cid, seq, target_seq in rows:
            if cid not in self.conversations:
                continue
            if event_type == "MessageSent" and self.removes(cid, seq, offset):
                offsets.append(offset)
                self.unsent.pop((cid, seq), None)
            elif event_type == "MessageEdited" and self.removes(cid, target_seq, offset):
                offsets.append(offset)
        return offsets


def _rewrite(store: ObjectStore, key: str, offsets: list[int], spool_dir: Path) -> int | None:
    """The raw object with those records' bodies emptied, uploaded under the same key: its
    new size; None when they already were (nothing is written)."""
    table = pq.read_table(io.BytesIO(store.get(key)))
    wanted = set(offsets)
    values = cast(list[bytes], table.column("value").to_pylist())
    changed = False
    for row, offset in enumerate(cast(list[int], table.column("offset").to_pylist())):
        if offset in wanted:
            emptied = emptied_body(values[row])
            changed |= emptied != values[row]
            values[row] = emptied
    if not changed:
        return None
    index = table.schema.get_field_index("value")
    table = table.set_column(index, table.schema.field(index), pa.array(values, pa.binary()))
    spool_dir.mkdir(parents=True, exist_ok=True)
    path = spool_dir / f"scrub-{key.replace('/', '_')}"
    try:
        pq.write_table(
            table,
            path,
            compression=COMPRESSION,
            compression_level=COMPRESSION_LEVEL,
            row_group_size=ROW_GROUP_ROWS[Family.RAW],
        )
        return store.upload(key, path)
    finally:
        path.unlink(missing_ok=True)


def emptied_body(value: bytes) -> bytes:
    """The record with an empty sealed body, if it is a send or an edit that has another;
    any other record (or one that does not decode) as it is."""
    try:
        record = codec.decode(value)
    except (MalformedRecordError, UnknownSchemaError):
        return value
    if not isinstance(record, m.MessageSent | m.MessageEdited) or record.body == EMPTY_BODY:
        return value
    return codec.encode(record.model_copy(update={"body": EMPTY_BODY}))
