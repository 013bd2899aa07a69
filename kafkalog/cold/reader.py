"""Reads the archive back in order: the records of one partition from a position on, as
they were on the broker, for a rebuild that replays the archive and then the log from
where the archive ends (`end`)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, cast

from kafkalog.cold.chain import Chain, resolve
from kafkalog.cold.layout import Family, ObjectKey, family_prefix
from kafkalog.cold.record import ArchiveRecord
from kafkalog.cold.settings import ArchiveLocation

if TYPE_CHECKING:
    from objectstore.store import ObjectStore

BATCH_ROWS = 8192


class ArchiveReader:
    def __init__(
        self,
        store: ObjectStore | Callable[[], ObjectStore],
        topic: str,
        *,
        root: str = "archive",
    ) -> None:
        """`topic` is the topic's role (`events`, `accounts`): its directory in the archive.
        `store` may be a function that makes it on first use (`at`)."""
        self._store = store
        self.topic = topic
        self.root = root

    @classmethod
    def at(cls, location: ArchiveLocation, topic: str) -> ArchiveReader:
        """The archive of `topic` (a role) where `location` says this deployment keeps it.
        Nothing of S3 (boto3) or Parquet (pyarrow) is loaded until it is first read: every
        process that follows the log holds one, and most never need it."""

        def connected() -> ObjectStore:
            from objectstore.client import connect
            from objectstore.store import ObjectStore

            return ObjectStore(connect(location), location.s3_bucket)

        return cls(connected, topic, root=location.archive_prefix)

    @property
    def store(self) -> ObjectStore:
        if callable(self._store):
            self._store = self._store()
        return self._store

    def chains(self, partitions: list[int]) -> dict[int, Chain]:
        """Each partition's chain, from one listing. Reading never deletes: orphans are the
        writer's to clean up, and the chain already leaves them out."""
        listed = [
            parsed
            for family in Family
            for found in self.store.list_keys(family_prefix(self.root, family, self.topic))
            if (parsed := ObjectKey.parse(found.key)) is not None
        ]
        return {p: resolve(p, listed) for p in partitions}

    def end(self, partition: int) -> int | None:
        """Where the log takes over after the archive (None: nothing archived)."""
        return self.chains([partition])[partition].end

    def records(
        self, partition: int, start: int = 0, *, chain: Chain | None = None
    ) -> Iterator[ArchiveRecord]:
        """The archived records of `partition` with offset >= `start`, in offset order.
        Objects are fetched one at a time, so memory holds one object's raw bytes."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        chain = chain or self.chains([partition])[partition]
        for obj in chain.objects:
            if obj.span.end <= start:
                continue
            data = self.store.get(obj.twin(Family.RAW).key())
            parquet = pq.ParquetFile(io.BytesIO(data))
            for batch in parquet.iter_batches(
                batch_size=BATCH_ROWS, columns=["offset", "log_time", "key", "value"]
            ):
                offsets = cast(list[int], batch.column(0).to_pylist())
                times = cast(list[int], batch.column(1).cast(pa.int64()).to_pylist())
                keys = cast(list[bytes | None], batch.column(2).to_pylist())
                values = cast(list[bytes], batch.column(3).to_pylist())
                for offset, ms, key, value in zip(offsets, times, keys, values, strict=True):
                    if offset >= start:
                        yield ArchiveRecord(partition, offset, ms, value, key)
