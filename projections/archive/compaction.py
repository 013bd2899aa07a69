"""Merges a closed day's small objects of one partition into few large ones, exactly once.

Age cuts make small objects while traffic is low (one per minute per busy partition);
once a partition's records have moved to a later date, that day can no longer grow, and
its objects are merged in order into objects of up to `target_bytes` of raw Parquet. A
merged pair goes up (`raw`, then `table`) before the small ones are deleted, so at every
instant the objects in S3 hold every record: the chain prefers the merged object (fewest
objects), and small ones left by a crash are orphans the next start deletes (chain.py).
Between the merged object going up and the small ones going, a glob over the `table`
family sees both: docs/archive.md says how long and what analysts see.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from kafkalog.cold.chain import resolve
from kafkalog.cold.layout import Family, ObjectKey, Span
from objectstore.store import ObjectStore
from projections.archive.parquet import COMPRESSION, COMPRESSION_LEVEL, ROW_GROUP_ROWS

log = logging.getLogger("parley.archive")


@dataclass(frozen=True)
class Merged:
    """One object that replaced `replaced` small ones."""

    key: ObjectKey
    replaced: tuple[ObjectKey, ...]
    rows: int
    table_bytes: int
    raw_bytes: int


def day_prefix(root: str, family: Family, topic: str, day: date, partition: int) -> str:
    return f"{root}/{family}/{topic}/date={day.isoformat()}/partition={partition}/"


def compact_day(
    store: ObjectStore,
    root: str,
    topic: str,
    partition: int,
    day: date,
    *,
    target_bytes: int,
    spool_dir: Path,
    crash_point: Callable[[str], None] = lambda step: None,
) -> list[Merged]:
    """Merges the objects of (`topic`, `partition`, `day`). Call it only for a day the
    partition's writer has left behind, from that writer: nothing else writes there.
    `crash_point` names each step to a test that dies there."""
    sizes: dict[str, int] = {}
    listed: list[ObjectKey] = []
    for family in Family:
        for found in store.list_keys(day_prefix(root, family, topic, day, partition)):
            parsed = ObjectKey.parse(found.key)
            if parsed is not None:
                listed.append(parsed)
                sizes[found.key] = found.size
    chain = resolve(partition, listed)
    if chain.orphans:
        store.delete([o.key() for o in chain.orphans])
    merged = []
    for run in _runs(chain.objects, sizes, target_bytes):
        merged.append(_merge(store, run, spool_dir, crash_point))
    if merged:
        log.info(
            "%s/%d %s: merged %d objects into %d",
            topic,
            partition,
            day,
            sum(len(m.replaced) for m in merged),
            len(merged),
        )
    return merged


def _runs(
    objects: tuple[ObjectKey, ...], sizes: dict[str, int], target_bytes: int
) -> list[list[ObjectKey]]:
    """Consecutive objects grouped while their raw bytes stay within the target; only
    groups of two or more are worth a merge."""
    runs: list[list[ObjectKey]] = []
    current: list[ObjectKey] = []
    current_bytes = 0
    for obj in objects:
        size = sizes.get(obj.twin(Family.RAW).key(), 0)
        if current and current_bytes + size > target_bytes:
            runs.append(current)
            current, current_bytes = [], 0
        current.append(obj)
        current_bytes += size
    runs.append(current)
    return [r for r in runs if len(r) > 1]


def _merge(
    store: ObjectStore,
    run: list[ObjectKey],
    spool_dir: Path,
    crash_point: Callable[[str], None],
) -> Merged:
    first = run[0]
    key = ObjectKey(
        first.root,
        Family.TABLE,
        first.topic,
        first.day,
        first.partition,
        Span(first.span.start, run[-1].span.end),
    )
    spool_dir.mkdir(parents=True, exist_ok=True)
    uploaded: dict[Family, int] = {}
    rows = 0
    for family in (Family.RAW, Family.TABLE):
        tables = [pq.read_table(io.BytesIO(store.get(o.twin(family).key()))) for o in run]
        joined = pa.concat_tables(tables)
        rows = joined.num_rows
        path = spool_dir / f"compact-{first.topic}-{first.partition}.{family}.parquet"
        pq.write_table(
            joined,
            path,
            compression=COMPRESSION,
            compression_level=COMPRESSION_LEVEL,
            row_group_size=ROW_GROUP_ROWS[family],
        )
        uploaded[family] = store.upload(key.twin(family).key(), path)
        path.unlink()
        crash_point(f"uploaded {family}")
    for family in (Family.TABLE, Family.RAW):
        store.delete([o.twin(family).key() for o in run])
        crash_point(f"deleted {family}")
    return Merged(key, tuple(run), rows, uploaded[Family.TABLE], uploaded[Family.RAW])
