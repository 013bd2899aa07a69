"""A topic's whole history: the archive for what the log no longer holds, then the log.

Once the events topic has a finite retention, its oldest records exist only in the archive
(kafkalog/cold/). Whoever starts a partition from a position the log has already dropped
(a view rebuilt or started late, the sequencer or the fan-out with a lost store) reads the
archive from that position to the archive's end, then the log from there on: the archive's
objects hold the very records the broker held, under the same offsets, so one stream of
positions runs through both. When neither holds a position's records (no archive, or one
that starts later or ends earlier than the gap), nothing can make them up: `plan` raises
`HistoryLostError`, and the process stops rather than build state without them.

The log alone is read wherever it still holds the position: the archive trails the log by
about a minute and costs S3 reads, so it is consulted only when the log cannot answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from confluent_kafka import TIMESTAMP_CREATE_TIME, Consumer, KafkaException, Message, TopicPartition

from kafkalog.cold.chain import Chain
from kafkalog.cold.reader import ArchiveReader

WATERMARK_TIMEOUT_S = 10.0
ARCHIVE_BATCH = 1000


class HistoryLostError(RuntimeError):
    """Records a reader needs are in neither the log nor the archive."""


@dataclass(frozen=True)
class Resume:
    """Where one partition is read from: the archive over `[position, archived_to)` when
    the log no longer holds `position`, then the log from `log_from`."""

    partition: int
    position: int
    archived_to: int | None = None
    chain: Chain | None = None

    @property
    def log_from(self) -> int:
        return self.position if self.archived_to is None else self.archived_to


def log_starts(consumer: Consumer, topic: str, partitions: list[int]) -> dict[int, int]:
    """The first offset the log still holds, per partition (its low watermark)."""
    starts = {}
    for partition in partitions:
        low, _ = consumer.get_watermark_offsets(
            TopicPartition(topic, partition), timeout=WATERMARK_TIMEOUT_S, cached=False
        )
        if low < 0:
            raise KafkaException(f"no low watermark for {topic}[{partition}]")
        starts[partition] = low
    return starts


def plan(
    topic: str,
    positions: dict[int, int],
    log_start: dict[int, int],
    archive: ArchiveReader | None,
) -> dict[int, Resume]:
    """Per partition, how to read on from `positions` (0 for a reader with none)."""
    behind = sorted(p for p, at in positions.items() if at < log_start[p])
    chains = archive.chains(behind) if archive is not None and behind else {}
    resumes = {}
    for partition, at in positions.items():
        if partition not in behind:
            resumes[partition] = Resume(partition, at)
            continue
        gap = f"{topic}[{partition}]: the log starts at {log_start[partition]}, past {at}"
        chain = chains.get(partition)
        if chain is None:
            raise HistoryLostError(f"{gap}, and no archive is configured")
        if chain.start is None or chain.end is None:
            raise HistoryLostError(f"{gap}, and the archive holds nothing of it")
        if chain.start > at or chain.end < log_start[partition]:
            raise HistoryLostError(
                f"{gap}, and the archive holds only [{chain.start}, {chain.end}): the records "
                f"in between exist nowhere (docs/archive.md, 'Hot and cold')"
            )
        resumes[partition] = Resume(partition, at, chain.end, chain)
    return resumes


def archived(
    archive: ArchiveReader, topic: str, resume: Resume, batch: int = ARCHIVE_BATCH
) -> Iterator[list[Message]]:
    """The archived records of `resume`'s partition from its position to the archive's end,
    in batches, as the records a consumer of `topic` would have read (key, value, offset and
    log timestamp; the archive keeps no headers, which no reader of these topics needs)."""
    if resume.archived_to is None:
        return
    records: list[Message] = []
    for record in archive.records(resume.partition, resume.position, chain=resume.chain):
        records.append(
            Message(
                topic=topic,
                partition=record.partition,
                offset=record.offset,
                key=record.key,
                value=record.value,
                timestamp=(TIMESTAMP_CREATE_TIME, record.timestamp_ms),
            )
        )
        if len(records) >= batch:
            yield records
            records = []
    if records:
        yield records
