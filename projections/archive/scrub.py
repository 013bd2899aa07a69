"""The archive's side of a redaction: the `raw` objects holding a redacted message (its
`MessageSent` and every `MessageEdited` of it) are rewritten with those records' bodies
replaced by an empty sealed body (docs/compliance.md, "Redaction of a message").

Same keys, same offsets, rows, log times, keys and event types: the chain, the manifest's
ranges and the `table` family (which never held a body, only its kind and size) stay valid;
the object's old bytes are replaced by the rewrite under the same key. Whatever else a
record says (its metadata, attachments' facts) stays: only the body was the message.

Who scrubs: the writer of the partition (writer.py), the one process that writes its
objects, so a scrub never races a compaction or an upload there. When it archives a
`MessageRedacted`, it first puts a marker (`<root>/scrub/<topic>/partition=N/<offset>.json`)
before the object holding the redaction goes up, and scrubs once it is up; the marker is
deleted only after the scrub. A writer that died between the two finds the marker when it
opens the partition again, and scrubs then: restart-safe, and idempotent (a record already
scrubbed is not rewritten). Records the archive had not yet written when it died come back
from the log with the redaction after them, which marks them again.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict

from kafkalog.cold.chain import resolve
from kafkalog.cold.layout import Family, ObjectKey, family_prefix
from objectstore.store import ObjectStore
from projections.archive.columns import TableLayout
from projections.archive.parquet import COMPRESSION, COMPRESSION_LEVEL, ROW_GROUP_ROWS
from schemas import codec
from schemas import models as m
from schemas.errors import MalformedRecordError, UnknownSchemaError

log = logging.getLogger("parley.archive")
EMPTY_BODY = m.SealedBody(key_id="", algorithm="", nonce=b"", ciphertext=b"")
"""What a scrubbed record's body becomes: a sealed body no key opens (shown as removed)."""
FOUND_COLUMNS = ["offset", "event_type", "conversation_id", "seq", "target_seq"]


class Redaction(BaseModel):
    """A `MessageRedacted` the archive holds at `offset`: what its marker says."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    offset: int
    conversation_id: str
    target_seq: int


@dataclass(frozen=True)
class Scrubbed:
    """What one scrub did: the records it emptied, and the raw objects it rewrote (key, new
    size in bytes)."""

    records: tuple[int, ...]
    objects: tuple[tuple[str, int], ...]


def redaction_in(layout: TableLayout, row: list[Any], event_type: str) -> Redaction | None:
    """The redaction a record's `table` row says it is, if it is one."""
    if event_type != "MessageRedacted":
        return None
    index = layout.index
    return Redaction(
        offset=row[index["offset"]],
        conversation_id=row[index["conversation_id"]],
        target_seq=row[index["target_seq"]],
    )


@dataclass(frozen=True)
class Place:
    """One partition's archive: where its objects and its scrub markers are."""

    store: ObjectStore
    root: str
    topic: str
    partition: int

    def markers(self) -> str:
        return f"{self.root}/scrub/{self.topic}/partition={self.partition}/"

    def marker(self, offset: int) -> str:
        return f"{self.markers()}{offset:020d}.json"


def mark(place: Place, found: Redaction) -> None:
    """Says, before the redaction's object goes up, that a scrub is owed (idempotent)."""
    place.store.put_bytes(place.marker(found.offset), found.model_dump_json().encode())


def pending(place: Place) -> list[Redaction]:
    """The scrubs owed in this partition, oldest first."""
    owed = []
    for listed in place.store.list_keys(place.markers()):
        data = place.store.get_if_exists(listed.key)
        if data is not None:
            owed.append(Redaction.model_validate_json(data))
    return sorted(owed, key=lambda r: r.offset)


def settle(
    place: Place, *, spool_dir: Path, crash_point: Callable[[str], None] = lambda step: None
) -> list[Scrubbed]:
    """Every scrub owed in the partition, each marker deleted once its scrub is done.
    `crash_point` names each step to a test that dies there."""
    done = []
    for owed in pending(place):
        done.append(scrub(place, owed, spool_dir=spool_dir, crash_point=crash_point))
        place.store.delete([place.marker(owed.offset)])
    return done


def scrub(
    place: Place,
    redaction: Redaction,
    *,
    spool_dir: Path,
    crash_point: Callable[[str], None] = lambda step: None,
) -> Scrubbed:
    """Empties the bodies of the redacted message's send and edits in every raw object of the
    partition before the redaction. Objects are read newest first (their `table` twins,
    five columns), and the search stops at the one holding the send: edits come after it."""
    store, topic, partition = place.store, place.topic, place.partition
    listed = [
        parsed
        for family in Family
        for found in store.list_keys(family_prefix(place.root, family, topic))
        if (parsed := ObjectKey.parse(found.key)) is not None
    ]
    chain = resolve(partition, listed)
    records: list[int] = []
    rewritten: list[tuple[str, int]] = []
    for obj in reversed(chain.objects):
        if obj.span.start >= redaction.offset:
            continue
        offsets, sent = _targets(store.get(obj.key()), redaction)
        if offsets:
            raw = obj.twin(Family.RAW).key()
            size = _rewrite(store, raw, offsets, spool_dir)
            if size is not None:
                rewritten.append((raw, size))
                crash_point(f"rewrote {raw}")
            records += offsets
        if sent:
            break
    log.info(
        "%s/%d: redaction at %d scrubbed records %s in %d objects",
        topic,
        partition,
        redaction.offset,
        sorted(records),
        len(rewritten),
    )
    return Scrubbed(tuple(sorted(records)), tuple(rewritten))


def _targets(table_bytes: bytes, redaction: Redaction) -> tuple[list[int], bool]:
    """The offsets of the message's send and edits in one `table` object, and whether the
    send is among them."""
    columns = pq.read_table(io.BytesIO(table_bytes), columns=FOUND_COLUMNS).to_pydict()
    offsets: list[int] = []
    has_send = False
    rows = zip(*(columns[name] for name in FOUND_COLUMNS), strict=True)
    for offset, event_type, conversation_id, seq, target_seq in rows:
        if conversation_id != redaction.conversation_id:
            continue
        if event_type == "MessageSent" and seq == redaction.target_seq:
            offsets.append(offset)
            has_send = True
        elif event_type == "MessageEdited" and target_seq == redaction.target_seq:
            offsets.append(offset)
    return offsets, has_send


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
