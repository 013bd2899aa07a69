"""Where the writer cuts objects, against real S3: an idle partition still reaches S3 once
its object is old enough; no object spans two dates; cuts by size and date are the same
for any writer starting at the same position (so two writers agree on keys)."""

from __future__ import annotations

from pathlib import Path

from kafkalog.cold.layout import Family, ObjectKey, family_prefix
from kafkalog.cold.record import ArchiveRecord
from projections.archive.cuts import CutLimits
from tests.integration.archive import (
    as_archive,
    assert_exactly_once,
    fresh_root,
    new_writer,
    s3_store,
    simulated,
)

MIDNIGHT_MS = 1_767_312_000_000  # 2026-01-02T00:00:00Z


def table_keys(root: str) -> list[ObjectKey]:
    store = s3_store()
    found = [
        ObjectKey.parse(o.key) for o in store.list_keys(family_prefix(root, Family.TABLE, "events"))
    ]
    return sorted((k for k in found if k is not None), key=lambda k: (k.partition, k.span))


def test_an_idle_partition_is_flushed_by_age(tmp_path: Path) -> None:
    """Trap 2: records stop coming; `tick` closes the object once it is max_age_s old."""
    store, root = s3_store(), fresh_root()
    now = [1000.0]
    writer = new_writer(store, root, tmp_path, limits=CutLimits(max_age_s=60))
    writer.clock = lambda: now[0]
    writer.open(range(1))
    values = [r.value for r in as_archive(simulated(25, partitions=1, days=1))]
    fed = [ArchiveRecord(0, n, MIDNIGHT_MS + n, value, b"k") for n, value in enumerate(values)]
    for record in fed:
        writer.add(record)
    now[0] = 1059.9
    writer.tick()
    assert table_keys(root) == []
    now[0] = 1060.0
    writer.tick()
    assert [k.span.end for k in table_keys(root)] == [fed[-1].offset + 1]
    assert_exactly_once(store, root, fed)


def test_no_object_spans_two_dates(tmp_path: Path) -> None:
    store, root = s3_store(), fresh_root()
    values = [r.value for r in as_archive(simulated(40, partitions=1, days=1))]
    fed = [
        ArchiveRecord(0, offset, MIDNIGHT_MS - 20_000 + 1_000 * offset, value, b"k")
        for offset, value in enumerate(values)
    ]
    writer = new_writer(store, root, tmp_path)
    writer.open([0])
    for record in fed:
        writer.add(record)
    writer.flush()
    keys = table_keys(root)
    assert [(k.day.isoformat(), k.span.start, k.span.end) for k in keys] == [
        ("2026-01-01", 0, 20),
        ("2026-01-02", 20, 40),
    ]
    assert_exactly_once(store, root, fed)


def test_size_and_date_cuts_are_the_same_for_every_writer(tmp_path: Path) -> None:
    """Two writers fed the same records from the same position name the same objects."""
    fed = as_archive(simulated(5_000, partitions=2, days=2))
    limits = CutLimits(max_records=400, max_bytes=50_000)
    spans = []
    for n in range(2):
        store, root = s3_store(), fresh_root()
        writer = new_writer(store, root, tmp_path / str(n), limits=limits)
        writer.open(range(2))
        for record in fed:
            writer.add(record)
        writer.flush()
        spans.append([(k.partition, k.day, k.span) for k in table_keys(root)])
    assert spans[0] == spans[1]
    assert len(spans[0]) > 10
