"""Reading a topic from given offsets to its end, outside any group: how a log writer brings
its state up to its own log when it is given a partition.

Where the log no longer holds a start offset (its retention has passed it), the records up
to the log's start come from the archive (`kafkalog.history`); with no archive that holds
them, the replay raises `HistoryLostError` rather than start the state without them.
"""

from __future__ import annotations

from collections.abc import Callable

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from kafkalog.cold.reader import ArchiveReader
from kafkalog.history import archived, log_starts, plan
from kafkalog.presets import REPLAY, private_reader
from kafkalog.records import position

REPLAY_BATCH = 1000
REPLAY_POLL_S = 0.05


def replay(
    bootstrap: str,
    topic: str,
    start_offsets: dict[int, int],
    apply: Callable[[Message], None],
    *,
    archive: ArchiveReader | None = None,
) -> dict[int, int]:
    """Feed every committed record from `start_offsets` to the end of each partition to
    `apply` (from `archive` first, where the log has dropped them); returns the next offset
    per partition. An error on a record raises: the caller's state must not skip anything
    of its own log."""
    if not start_offsets:
        return {}
    reader = Consumer(private_reader(bootstrap, REPLAY, name="replay"))
    try:
        resumes = plan(
            topic, start_offsets, log_starts(reader, topic, sorted(start_offsets)), archive
        )
        positions = {}
        for partition, resume in resumes.items():
            if archive is not None:
                for batch in archived(archive, topic, resume, REPLAY_BATCH):
                    for record in batch:
                        apply(record)
            positions[partition] = resume.log_from
        reader.assign([TopicPartition(topic, p, o) for p, o in positions.items()])
        pending = set(positions)
        while pending:
            for record in reader.consume(num_messages=REPLAY_BATCH, timeout=REPLAY_POLL_S):
                error = record.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        raise KafkaException(error)
                    pending.discard(position(record)[0])
                    continue
                apply(record)
                partition, offset = position(record)
                positions[partition] = offset + 1
    finally:
        reader.close()
    return positions
