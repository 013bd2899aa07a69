"""The scrub's pure parts (projections/archive/scrub.py): which records it empties and how,
how a redaction or an expiry becomes a removal (its marker), and which records a removal
finds in a `table` object."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from projections.archive.columns import EVENTS
from projections.archive.scrub import (
    EMPTY_BODY,
    MAX_TARGETS,
    Removal,
    Search,
    emptied_body,
    removals_in,
)
from schemas import codec
from schemas import models as m


def meta(seq: int) -> m.EventMeta:
    return m.EventMeta(
        event_id=f"e{seq}",
        conversation_id="dm-a",
        seq=seq,
        actor=m.Actor(user_id="ann", device_id="d1"),
        client_msg_id=f"c{seq}",
        command_id=f"k{seq}",
        occurred_at=datetime(2026, 12, 3, tzinfo=UTC),
    )


def test_a_send_and_an_edit_keep_everything_but_their_body() -> None:
    attachment_free = m.MessageSent(
        meta=meta(2), body=m.PlainBody(text="secret"), mentions=("bob",)
    )
    edit = m.MessageEdited(
        meta=meta(3),
        target_seq=2,
        body=m.SealedBody(key_id="p/ann", algorithm="x", nonce=b"n", ciphertext=b"c"),
    )
    for record in (attachment_free, edit):
        emptied = codec.decode(emptied_body(codec.encode(record)))
        assert isinstance(emptied, m.MessageSent | m.MessageEdited)
        assert emptied.body == EMPTY_BODY
        assert emptied.model_copy(update={"body": record.body}) == record
        assert emptied_body(codec.encode(emptied)) == codec.encode(emptied), "idempotent"


def test_other_records_and_undecodable_bytes_stay_as_they_are() -> None:
    redaction = codec.encode(m.MessageRedacted(meta=meta(4), target_seq=2, reason="C-1: x"))
    assert emptied_body(redaction) == redaction
    assert emptied_body(b"\x00not avro") == b"\x00not avro"


def test_a_redaction_is_a_removal_of_its_one_seq() -> None:
    value = codec.encode(m.MessageRedacted(meta=meta(4), target_seq=2, reason="C-1: x"))
    assert removals_in(41, "MessageRedacted", value) == [
        Removal(offset=41, conversation_id="dm-a", targets=(2,))
    ]
    sent = codec.encode(m.MessageSent(meta=meta(2), body=m.PlainBody(text="hi")))
    assert removals_in(40, "MessageSent", sent) == []


def test_an_expiry_is_one_removal_of_its_seqs_sorted_once() -> None:
    value = codec.encode(m.MessagesExpired(meta=meta(9), seqs=(7, 2, 7, 5)))
    assert removals_in(50, "MessagesExpired", value) == [
        Removal(offset=50, conversation_id="dm-a", targets=(2, 5, 7))
    ]
    assert removals_in(50, "MessagesExpired", b"\x00not avro") == []


def test_an_expiry_past_the_cap_gets_a_marker_per_cap() -> None:
    """The sequencer writes at most 1,000 seqs; a longer (hostile) record still yields
    bounded markers, numbered by part."""
    seqs = tuple(range(1, 2 * MAX_TARGETS + 2))
    value = codec.encode(m.MessagesExpired(meta=meta(9), seqs=seqs))
    found = removals_in(50, "MessagesExpired", value)
    assert [len(r.targets) for r in found] == [MAX_TARGETS, MAX_TARGETS, 1]
    assert [r.part for r in found] == [0, 1, 2]
    assert sum((r.targets for r in found), ()) == seqs
    with pytest.raises(ValidationError):
        Removal(offset=1, conversation_id="c", targets=seqs)


def test_a_marker_put_before_targets_reads_as_a_removal_of_its_seq() -> None:
    """A redaction's marker from before expiries were scrubbed (`target_seq`) is still owed
    after an upgrade."""
    old = b'{"offset": 41, "conversation_id": "dm-a", "target_seq": 2}'
    assert Removal.model_validate_json(old) == Removal(
        offset=41, conversation_id="dm-a", targets=(2,)
    )


def table_of(events: list[m.Event]) -> bytes:
    """A `table` object of these events at offsets 0, 1, 2, ..."""
    rows = [EVENTS.row(offset, 0, codec.encode(e))[0] for offset, e in enumerate(events)]
    table = pa.Table.from_pylist(
        [dict(zip(EVENTS.names, row, strict=True)) for row in rows], schema=EVENTS.schema
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def test_a_pass_finds_every_removals_sends_and_edits_before_it() -> None:
    other = m.EventMeta(**{**meta(2).model_dump(), "conversation_id": "dm-b"})
    events: list[m.Event] = [
        m.MessageSent(meta=meta(2), body=m.PlainBody(text="a")),  # 0: expired
        m.MessageSent(meta=meta(3), body=m.PlainBody(text="b")),  # 1: kept
        m.MessageSent(meta=other, body=m.PlainBody(text="c")),  # 2: seq 2 of another
        m.MessageEdited(meta=meta(4), target_seq=2, body=m.PlainBody(text="a2")),  # 3
        m.MessageSent(meta=meta(5), body=m.PlainBody(text="d")),  # 4: redacted
        m.MessagesExpired(meta=meta(6), seqs=(2, 99)),  # 5
        m.MessageRedacted(meta=meta(7), target_seq=5, reason="C-1: x"),  # 6
    ]
    search = Search(
        [
            Removal(offset=5, conversation_id="dm-a", targets=(2, 99)),
            Removal(offset=6, conversation_id="dm-a", targets=(5,)),
        ]
    )
    assert search.found_in(table_of(events)) == [0, 3, 4]
    assert search.missing() == [("dm-a", 99)], "a seq with no send in the archive"


def test_a_record_after_its_removal_is_not_the_removed_message() -> None:
    search = Search([Removal(offset=1, conversation_id="dm-a", targets=(2,))])
    events: list[m.Event] = [
        m.MessagesExpired(meta=meta(1), seqs=(2,)),
        m.MessagesExpired(meta=meta(1), seqs=(2,)),
        m.MessageSent(meta=meta(2), body=m.PlainBody(text="later")),
    ]
    assert search.found_in(table_of(events)) == []
