"""The scrub's pure parts (projections/archive/scrub.py): which records it empties and how,
and how a redaction is recognised in the archive's own rows."""

from __future__ import annotations

from datetime import UTC, datetime

from projections.archive.columns import EVENTS
from projections.archive.scrub import EMPTY_BODY, Redaction, emptied_body, redaction_in
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


def test_a_redaction_is_recognised_in_its_table_row() -> None:
    value = codec.encode(m.MessageRedacted(meta=meta(4), target_seq=2, reason="C-1: x"))
    row, event_type = EVENTS.row(41, 0, value)
    assert redaction_in(EVENTS, row, event_type) == Redaction(
        offset=41, conversation_id="dm-a", target_seq=2
    )
    sent = codec.encode(m.MessageSent(meta=meta(2), body=m.PlainBody(text="hi")))
    assert redaction_in(EVENTS, *EVENTS.row(40, 0, sent)) is None
