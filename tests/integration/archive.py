"""Test-side access to the archive in the real S3 server: a store of its own per test, the
simulated events fed as a follower would, and the exactly-once check read back from S3."""

from __future__ import annotations

import io
import os
import uuid
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import cast

import pyarrow.parquet as pq
from confluent_kafka import Producer

from bench.chat_load import ChatLoad, ChatSimulation, LoadRecord
from infra.objectstore import ensure_bucket, unfinished_write
from infra.settings import PlatformSettings
from kafkalog.cold.layout import Family, ObjectKey, family_prefix
from kafkalog.cold.reader import ArchiveReader
from kafkalog.cold.record import ArchiveRecord
from objectstore.client import connect
from objectstore.store import ObjectStore
from projections.archive.cuts import CutLimits
from projections.archive.writer import ArchiveWriter
from schemas.topics import Topics
from tests.integration.log import BOOTSTRAP, read_committed
from tests.integration.processes import ParleyProcess

S3_ENDPOINT = os.environ.get("PARLEY_S3_ENDPOINT", "http://127.0.0.1:19100")
BUCKET = "parley-archive-tests"
PARTS = 5 * 1024 * 1024
"""S3's smallest multipart part, which s3proxy enforces too."""


def platform() -> PlatformSettings:
    return PlatformSettings(s3_endpoint=S3_ENDPOINT)


def s3_store(*, part_bytes: int = PARTS, retry_for_s: float = 120.0) -> ObjectStore:
    settings = platform()
    ensure_bucket(settings, BUCKET)
    client = connect(settings)
    return ObjectStore(client, BUCKET, part_bytes=part_bytes, retry_for_s=retry_for_s)


def fresh_root() -> str:
    return f"a{uuid.uuid4().hex[:10]}"


def simulated(
    events: int, *, partitions: int = 4, days: int = 2, seed: int = 7
) -> list[LoadRecord]:
    return list(
        ChatSimulation(ChatLoad(events=events, partitions=partitions, days=days, seed=seed))
    )


def as_archive(records: Iterable[LoadRecord], topic: str = "events") -> list[ArchiveRecord]:
    return [
        ArchiveRecord(r.partition, r.offset, r.timestamp_ms, r.value, r.key)
        for r in records
        if r.topic == topic
    ]


def new_writer(
    store: ObjectStore,
    root: str,
    spool: Path,
    *,
    limits: CutLimits | None = None,
    topic: str = "events",
) -> ArchiveWriter:
    return ArchiveWriter(
        store, topic, root=root, spool_dir=spool, limits=limits or CutLimits(), compact_bytes=None
    )


def feed_from(writer: ArchiveWriter, records: list[ArchiveRecord], partitions: range) -> None:
    """As a follower does after `open`: each partition from the position the archive gave."""
    positions = writer.open(partitions)
    for record in records:
        start = positions.get(record.partition)
        if start is None or record.offset >= start:
            writer.add(record)
    writer.flush()


def archived_objects(
    store: ObjectStore, root: str, family: Family, topic: str = "events"
) -> list[tuple[str, ObjectKey]]:
    """Every object of `family` with its parsed key. A file s3proxy left of a write it was
    stopped in (`<key>-<uuid>`: CI saw one in each family) is no object and is passed
    over, as the archive's own readers pass over it; any other name that is not an
    object key fails the test."""
    found: list[tuple[str, ObjectKey]] = []
    for listed in store.list_keys(family_prefix(root, family, topic)):
        key = ObjectKey.parse(listed.key)
        unfinished = unfinished_write(listed.key)
        if key is None and unfinished is not None and ObjectKey.parse(unfinished) is not None:
            continue
        assert key is not None, listed.key
        found.append((listed.key, key))
    return found


def archived_rows(
    store: ObjectStore, root: str, family: Family, topic: str = "events"
) -> list[tuple[int, int, bytes | None]]:
    """(partition, offset, raw value or None) of every row of every object of `family`,
    duplicates included: nothing is resolved or de-duplicated on the way."""
    rows: list[tuple[int, int, bytes | None]] = []
    for name, key in archived_objects(store, root, family, topic):
        table = pq.read_table(io.BytesIO(store.get(name)))
        offsets = cast(list[int], table.column("offset").to_pylist())
        values = cast(
            list[bytes | None],
            table.column("value").to_pylist() if family == Family.RAW else [None] * len(offsets),
        )
        for offset, value in zip(offsets, values, strict=True):
            assert key.span.start <= offset < key.span.end, (name, offset)
            rows.append((key.partition, offset, value))
    return rows


def assert_exactly_once(store: ObjectStore, root: str, fed: list[ArchiveRecord]) -> None:
    """Every fed record is in exactly one object of each family, byte for byte in `raw`;
    nothing else is; and every (conversation, seq) appears once in the typed rows."""
    expected = {(r.partition, r.offset): r.value for r in fed}
    for family in Family:
        rows = archived_rows(store, root, family)
        counts = Counter((p, o) for p, o, _ in rows)
        duplicated = {k: n for k, n in counts.items() if n > 1}
        assert duplicated == {}, f"{family}: rows archived twice: {sorted(duplicated)[:10]}"
        assert set(counts) == set(expected), (
            f"{family}: missing {sorted(set(expected) - set(counts))[:10]}, "
            f"unexpected {sorted(set(counts) - set(expected))[:10]}"
        )
        if family == Family.RAW:
            assert all(value == expected[(p, o)] for p, o, value in rows)
    pairs = Counter(
        (cid, seq)
        for name, _ in archived_objects(store, root, Family.TABLE)
        for cid, seq in zip(
            *(
                pq.read_table(io.BytesIO(store.get(name)), columns=[c]).column(0).to_pylist()
                for c in ("conversation_id", "seq")
            ),
            strict=True,
        )
    )
    assert max(pairs.values()) == 1, "a (conversation, seq) archived twice"
    assert sum(pairs.values()) == len(fed)


def incomplete_uploads(store: ObjectStore, root: str) -> int:
    found = store.client.list_multipart_uploads(Bucket=store.bucket, Prefix=f"{root}/")
    return len(found.get("Uploads", []))


class ArchiveProcess(ParleyProcess):
    """`python -m projections.archive` for one test's topics, writing to the tests' bucket
    under the test's own prefix (archive/<topic prefix>)."""

    def __init__(
        self, topics: Topics, state_dir: Path, log_path: Path, env: dict[str, str] | None = None
    ) -> None:
        self.prefix = topics.events.name.rsplit(".", 1)[0]
        super().__init__(
            "projections.archive",
            self.prefix,
            state_dir,
            log_path,
            {
                "PARLEY_PARTITIONS": str(topics.events.partitions),
                "PARLEY_S3_BUCKET": BUCKET,
                **(env or {}),
            },
        )

    @property
    def root(self) -> str:
        return f"archive/{self.prefix}"


def produce_transactionally(
    topics: Topics, records: Iterable[LoadRecord], *, per_transaction: int = 500
) -> None:
    """The simulated records into the test's events and accounts topics, in transactions as
    the log writers write them (so commit markers sit between them), timestamped now."""
    producer = Producer(
        {"bootstrap.servers": BOOTSTRAP, "transactional.id": f"load-{uuid.uuid4()}"}
    )
    producer.init_transactions(30)
    names = {"events": topics.events.name, "accounts": topics.accounts.name}
    pending = 0
    producer.begin_transaction()
    for record in records:
        producer.produce(
            names[record.topic], key=record.key, value=record.value, partition=record.partition
        )
        pending += 1
        if pending >= per_transaction:
            producer.commit_transaction(30)
            producer.begin_transaction()
            pending = 0
    producer.commit_transaction(30)


def log_records(topic: str, expected: int) -> list[ArchiveRecord]:
    """What the log holds of `topic`, read back with a fresh read_committed consumer."""
    return [
        ArchiveRecord(r.partition, r.offset, 0, r.value, r.key)
        for r in read_committed(topic, expected=expected, deadline_s=120)
    ]


def archived_to(store: ObjectStore, root: str, topic: str, partitions: int) -> dict[int, int]:
    """Where the archive of each partition ends (0: nothing archived)."""
    reader = ArchiveReader(store, topic, root=root)
    return {p: chain.end or 0 for p, chain in reader.chains(list(range(partitions))).items()}
