"""One record of a topic as the archive sees it, whoever consumed it (a follower, a test)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ArchiveRecord:
    """A record's place in its partition, its log timestamp and its bytes as on the broker.

    `timestamp_ms` is the record's timestamp in the log (Kafka's, milliseconds since the
    epoch): the same on every read, so the date an object goes under is the same on a replay.
    """

    partition: int
    offset: int
    timestamp_ms: int
    value: bytes
    key: bytes | None = None
