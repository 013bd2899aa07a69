"""The archive's pure parts: key layout, cut rules, the chain resolved from a listing, and
the typed columns (every event type has its row; no text or body reaches them)."""

from __future__ import annotations

from datetime import date
from typing import get_args

import pytest

from analytics.tables import ACCOUNT_COLUMNS, EVENT_COLUMNS
from infra.objectstore import unfinished_write
from kafkalog.cold.chain import ArchiveGapError, resolve
from kafkalog.cold.layout import Family, ObjectKey, Span, day_of, day_start_ms
from projections.archive.columns import ACCOUNTS, EVENTS
from projections.archive.cuts import CutLimits, Filling, aged, full, other_day
from schemas import codec
from schemas import models as m
from schemas.catalog import definitions
from tests.unit.samples import sample

DAY = date(2026, 1, 1)


def key(start: int, end: int, family: Family = Family.TABLE, partition: int = 0) -> ObjectKey:
    return ObjectKey("archive", family, "events", DAY, partition, Span(start, end))


def pair(start: int, end: int, partition: int = 0) -> list[ObjectKey]:
    return [key(start, end, Family.RAW, partition), key(start, end, Family.TABLE, partition)]


def test_keys_sort_like_offsets_and_parse_back() -> None:
    small, large = key(9, 10), key(10, 200)
    assert small.key() < large.key()
    assert small.key().endswith(
        "date=2026-01-01/partition=0/00000000000000000009-00000000000000000010.parquet"
    )
    assert ObjectKey.parse(large.key()) == large
    assert ObjectKey.parse("archive/table/events/date=2026-01-01/") is None


def test_what_s3proxy_left_of_a_write_it_was_stopped_in_names_that_write() -> None:
    """CI saw `<key>-<uuid>` listed after the test stopped s3proxy mid-upload: its
    filesystem store writes a temporary file beside the key and renames it when done."""
    written = key(9034, 10539, Family.RAW, 1).key()
    left = written + "-e884ac10-986c-4dbf-a8d1-09f69f8c34ab"
    assert ObjectKey.parse(left) is None
    assert unfinished_write(left) == written
    assert unfinished_write(written) is None
    assert unfinished_write(written + "-not-a-uuid") is None


def test_day_of_a_log_timestamp_is_its_utc_date() -> None:
    assert day_of(1_767_225_599_999) == date(2025, 12, 31)
    assert day_of(1_767_225_600_000) == date(2026, 1, 1)


def test_cut_rules() -> None:
    limits = CutLimits(max_bytes=100, max_records=10, max_age_s=60)
    start = 1_767_225_600_000  # 2026-01-01T00:00:00Z
    filling = Filling(DAY, start, records=9, avro_bytes=99, opened_at=1000.0)
    assert not full(filling, limits)
    assert full(Filling(DAY, start, 10, 0, 0.0), limits)
    assert full(Filling(DAY, start, 1, 100, 0.0), limits)
    assert not other_day(filling, start) and not other_day(filling, start + 86_399_999)
    assert other_day(filling, start + 86_400_000) and other_day(filling, start - 1)
    assert day_start_ms(start + 5) == start
    assert not aged(filling, limits, 1059.9) and aged(filling, limits, 1060.0)


def test_empty_archive_has_no_chain() -> None:
    chain = resolve(0, [])
    assert chain.end is None and chain.objects == () and chain.orphans == ()


def test_contiguous_pairs_form_the_chain_and_other_partitions_are_ignored() -> None:
    listed = pair(0, 10) + pair(10, 25) + pair(25, 26) + pair(0, 7, partition=1)
    chain = resolve(0, listed)
    assert [o.span for o in chain.objects] == [Span(0, 10), Span(10, 25), Span(25, 26)]
    assert chain.end == 26 and chain.orphans == ()
    assert resolve(1, listed).end == 7


def test_a_raw_object_without_its_table_twin_is_an_orphan() -> None:
    """The writer died between the two uploads of a pair: resume before that range."""
    chain = resolve(0, [*pair(0, 10), key(10, 30, Family.RAW)])
    assert chain.end == 10
    assert chain.orphans == (key(10, 30, Family.RAW),)


def test_compacted_object_wins_and_the_small_ones_are_orphans() -> None:
    listed = pair(0, 10) + pair(10, 20) + pair(20, 30) + pair(0, 20) + pair(30, 31)
    chain = resolve(0, listed)
    assert [o.span for o in chain.objects] == [Span(0, 20), Span(20, 30), Span(30, 31)]
    assert {o.span for o in chain.orphans} == {Span(0, 10), Span(10, 20)}


def test_a_zombie_writer_cut_differently_is_resolved_by_a_covering_path() -> None:
    listed = pair(0, 10) + pair(10, 20) + pair(0, 15) + pair(20, 40)
    chain = resolve(0, listed)
    assert chain.end == 40
    assert [o.span for o in chain.orphans if o.family == Family.TABLE] == [Span(0, 15)]


def test_a_hole_in_the_middle_is_an_error_never_silently_resolved() -> None:
    with pytest.raises(ArchiveGapError):
        resolve(0, pair(0, 10) + pair(12, 20))


def test_a_table_object_without_raw_twin_beyond_the_chain_is_an_error() -> None:
    with pytest.raises(ArchiveGapError):
        resolve(0, [*pair(0, 10), key(10, 20, Family.TABLE)])


@pytest.mark.parametrize("layout", [EVENTS, ACCOUNTS], ids=["events", "accounts"])
def test_every_type_of_the_topic_has_a_row(layout: object) -> None:
    union = m.Event if layout is EVENTS else m.AccountEvent
    names = {t.avro_name for t in get_args(union)}
    assert set(EVENTS.flatten if layout is EVENTS else ACCOUNTS.flatten) == names


PRIVATE = {
    "text",
    "ciphertext",
    "device_ciphertexts",
    "sender_key",
    "session_id",
    "nonce",
    "key_id",
    "encryption_key",
    "file_name",
    "placeholder",
    "name",
    "display_name",
    "password_hash",
    "token_hash",
    "device_name",
    "reason",
}
"""Fields whose content analysts must never see (docs/archive.md, "Privacy"); an
attachment's file name and BlurHash are the sender's content too."""
SECRET = "SECRET-VALUE"
ENUM_SYMBOLS = frozenset(
    symbol for d in definitions().values() if d["type"] == "enum" for symbol in d["symbols"]
)
"""An enum's value (a media variant's `name`) is one of its symbols: it holds no content."""


def _hide_marker(value: object) -> object:
    """The sample datum with a recognisable marker in every private field."""
    if isinstance(value, tuple):
        return (value[0], _hide_marker(value[1]))
    if isinstance(value, list):
        return [_hide_marker(v) for v in value]
    if not isinstance(value, dict):
        return value
    marked: dict[str, object] = {}
    for field, item in value.items():
        if field in PRIVATE and isinstance(item, str) and item not in ENUM_SYMBOLS:
            marked[field] = SECRET
        elif field in PRIVATE and isinstance(item, bytes):
            marked[field] = SECRET.encode()
        elif field in PRIVATE and isinstance(item, dict):
            marked[field] = {k: SECRET.encode() for k in item}
        else:
            marked[field] = _hide_marker(item)
    return marked


@pytest.mark.parametrize(
    "name", sorted(t.avro_name for t in (*get_args(m.Event), *get_args(m.AccountEvent)))
)
def test_no_text_body_or_secret_reaches_the_table_columns(name: str) -> None:
    layout = EVENTS if name.startswith("parley.event.") else ACCOUNTS
    for branch in range(3):
        datum = _hide_marker(sample(definitions()[name], branch))
        value = codec.encode(codec.from_avro(name, datum))  # type: ignore[arg-type]
        if SECRET in repr(datum):
            assert SECRET.encode() in value, "the marker is in the record the archive reads"
        row, short = layout.row(5, 1_767_225_600_000, value)
        assert short == name.rsplit(".", 1)[1]
        assert row[3] is None, row[3]
        assert SECRET not in repr(row), (name, row)


def test_the_privacy_check_has_secrets_to_find() -> None:
    for name in ("parley.event.MessageSent", "parley.account.event.AccountRegistered"):
        assert SECRET in repr(_hide_marker(sample(definitions()[name])))


def test_an_undecodable_record_still_has_its_row() -> None:
    row, short = EVENTS.row(3, 0, b"\xc3\x01garbage")
    assert short == "" and row[0] == 3 and row[3]


def test_analysts_tables_declare_exactly_the_archive_columns() -> None:
    assert [c.name for c in EVENT_COLUMNS] == EVENTS.schema.names
    assert [c.name for c in ACCOUNT_COLUMNS] == ACCOUNTS.schema.names


def test_compaction_groups_consecutive_objects_up_to_the_target() -> None:
    from projections.archive.compaction import _runs

    objects = tuple(key(10 * i, 10 * (i + 1)) for i in range(6))
    sizes = {
        o.twin(Family.RAW).key(): size for o, size in zip(objects, [4, 4, 4, 9, 1, 1], strict=True)
    }
    runs = _runs(objects, sizes, target_bytes=10)
    assert [[o.span.start for o in run] for run in runs] == [[0, 10], [30, 40]]
