"""Hostile records (bench/fuzz.py, hypothesis) at a short budget: the codec raises only its
documented errors; the log writers survive any run of command records, dead-letter what
does not decode and write only what decodes; the views (history, inbox, search) and the
fan-out park what they cannot use or apply and never raise; the archive writes any record
(a malformed row for what does not decode). `python -m bench fuzz` runs
the same targets at 10,000 cases each."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pytest

from bench import fuzz
from kafkalog.decoding import Unusable, UnusableRecordError
from kafkalog.decoding import decode_event as fanout_decode_event
from projections.follower import add_event
from projections.history.store import HistoryBatch
from projections.search.store import SearchBatch, SearchStore
from projections.store import ViewStore
from schemas import codec
from schemas import models as m
from schemas.errors import MalformedRecordError
from schemas.registry import writer_schemas

TARGETS = {t.name: t for t in fuzz.targets()}
SHORT_BUDGET = 150
SLOW_BUDGET = 30
"""For the targets whose every case writes files: a tantivy index (the search view), two
Parquet files (the archive); 0.1 to 0.3 s a case."""


@pytest.mark.parametrize(
    "name",
    [
        "codec: arbitrary bytes",
        "codec: a known header, any body",
        "codec: every writer schema, corrupted",
        "sequencer: any run of command records",
        "accounts: any run of command records",
        "views: any run of events-topic records",
        "fan-out: any run of events-topic records",
        "search view: any run of events-topic records",
        "archive: any run of events-topic records",
        "archive: any run of accounts-topic records",
    ],
)
def test_hostile_records_never_crash_the_codec_or_a_processor(name: str) -> None:
    budget = SLOW_BUDGET if name.startswith(("search", "archive")) else SHORT_BUDGET
    outcome = fuzz.run_target(TARGETS[name], budget)
    assert outcome["cases"] == budget


def test_a_timestamp_beyond_datetime_is_a_malformed_record() -> None:
    """Regression: a timestamp-millis long far outside datetime's range raised OverflowError
    out of `codec.decode` (found by bench/fuzz.py), which no processor catches: one such
    record stopped the sequencer or a view on every restart."""
    meta = b"\x02c" + b"\x02u" + b"\x02d" + b"\x02m" + b"\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01"
    schema = next(
        s
        for fp, (name, s) in sorted(writer_schemas().items())
        if name == "parley.account.command.ChangeProfile"
    )
    header = codec.MAGIC + bytes.fromhex(codec.schema_fingerprint(schema))
    with pytest.raises(MalformedRecordError):
        codec.decode(header + meta + b"\x00\x00")


COMMAND_ON_EVENTS_TOPIC = b"\xc3\x01\x1b\xe0S{`{r\xe5\x00\x00\x00\x00\x00\x00\x00"
"""A command record where an event belongs: found by hypothesis against the fan-out."""
NEGATIVE_SEQ_EVENT = (
    b"\xc3\x0154\xac3Vy\xda+\x00\x04\x00\x00\x02\x00\x00\x00\x06\x00\x00\x00\x00\x00\x01\x00"
)
"""An event decoded with seq -1: found by hypothesis against the views."""
OVERFLOWING_ATTACHMENTS_EVENT = (
    b"\xc3\x01\xa0\x99\xdf\nB\x87tn\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    b"\x06\x00\x00\x00\x00\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    b"\xd2\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xae\xfb\xff\xff\xff\xff\xff\xff"
    b"\xff\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
)
"""A send whose attachments' sizes (297 and 2**63 - 297) sum past int64: found by
`python -m bench fuzz-records` (10,000 cases) against the archive writer."""
UNDERFLOWING_ATTACHMENTS_EVENT = (
    b"\xc3\x01\xa0\x99\xdf\nB\x87tn\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    b"\x04\x00\x00\x81\x80\x80\x80\xb4\x1f\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    b"\x81\x80\x80\x80\xcc\xe0\xff\xff\xff\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
)
"""The same below int64's least: found by the next run once the first was fixed."""


def test_the_fanout_parks_a_record_on_the_events_topic_that_is_no_event() -> None:
    """Regression (found by hypothesis): a command on the events topic reached the fan-out's
    fold of memberships, which raised AttributeError on its `.meta`."""
    with pytest.raises(UnusableRecordError):
        fanout_decode_event(fuzz.FuzzRecord(COMMAND_ON_EVENTS_TOPIC, None, [], 0, "events"))  # type: ignore[arg-type]
    fuzz.fanout_routes_anything([COMMAND_ON_EVENTS_TOPIC])


def test_the_views_park_an_event_they_cannot_apply() -> None:
    """Regression (found by hypothesis): a `MessageRedacted` naming seq -1 made the history
    view's key raise ValueError, which stopped the view on every restart. It is now
    unapplicable, parked by the view's follower like a record that does not decode."""
    event = cast(m.Event, codec.decode(NEGATIVE_SEQ_EVENT))
    batch = HistoryBatch(cast(ViewStore, fuzz.MemoryViewStore()))
    refused = add_event(batch, event, NEGATIVE_SEQ_EVENT)
    assert refused is not None and refused.kind is Unusable.UNAPPLICABLE
    assert "seq -1" in refused.reason
    assert batch.changes == {} and batch.applied == 0
    fuzz.views_apply_anything([NEGATIVE_SEQ_EVENT])


def event_meta(seq: int, occurred_at: datetime) -> m.EventMeta:
    return m.EventMeta(
        event_id="e",
        conversation_id="c1",
        seq=seq,
        actor=m.Actor(user_id="ann", device_id="d"),
        client_msg_id="m",
        command_id="k",
        occurred_at=occurred_at,
    )


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (
            m.MessageRedacted(
                meta=event_meta(2, datetime(2026, 1, 1, tzinfo=UTC)),
                target_seq=-94206494,
                reason="",
            ),
            "seq -94206494",
        ),
        (
            m.MessageSent(
                meta=event_meta(1, datetime(1969, 12, 31, tzinfo=UTC)),
                body=m.PlainBody(text="hello"),
            ),
            "before 1970",
        ),
        (
            m.MessageSent(
                meta=event_meta(-1, datetime(2026, 1, 1, tzinfo=UTC)), body=m.PlainBody(text="x")
            ),
            "seq -1",
        ),
        (
            m.MessagesExpired(meta=event_meta(3, datetime(2026, 1, 1, tzinfo=UTC)), seqs=[2, -1]),
            "seq -1",
        ),
    ],
)
def test_the_search_view_parks_an_event_its_index_cannot_hold(
    event: m.Event, reason: str, tmp_path: Path
) -> None:
    """Regression (found by hypothesis): a redaction of seq -94206494 reached tantivy's
    unsigned seq field, which raised ValueError out of the batch and stopped the search
    view on every restart (CI later found the same through an expiry listing seq -1); a
    time before 1970 would have done the same to the unsigned time field. Each is now
    unapplicable, parked by the follower, and the index is as before: the batch still
    commits."""
    store = SearchStore(tmp_path / "index", heap_bytes=fuzz.SEARCH_HEAP_BYTES)
    batch = SearchBatch(store)
    refused = add_event(batch, event, codec.encode(event))
    assert refused is not None and refused.kind is Unusable.UNAPPLICABLE
    assert reason in refused.reason
    assert batch.messages == {} and batch.last_seqs == {} and batch.applied == 0
    batch.commit()
    assert store.last_seq("c1") == 0
    store.close()


@pytest.mark.parametrize("record", [OVERFLOWING_ATTACHMENTS_EVENT, UNDERFLOWING_ATTACHMENTS_EVENT])
def test_the_archive_writes_a_send_whose_attachment_sizes_overflow_int64(record: bytes) -> None:
    """Regression (bench fuzz-records): the archive's `attachment_bytes` summed the sizes
    into an int64 column, and pyarrow's OverflowError stopped the writer on every restart.
    The sum now saturates."""
    event = codec.decode(record)
    assert isinstance(event, m.MessageSent)
    assert not -(2**63) <= sum(a.size_bytes for a in event.attachments) < 2**63
    fuzz.archive_writes_anything("events")([record])
