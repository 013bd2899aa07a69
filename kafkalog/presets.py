"""Every librdkafka configuration Parley uses, as named presets: the one place to tune them.

A client is configured for its role, never with a dict written at its call site: a
`ConsumerPreset` says how long a fetch may wait and how fast a group notices a member
gone, a `ProducerPreset` how long a record may linger and how a transaction retries. The
values are those the benchmarks were measured with (bench/results/README.md); a change
here is a performance change, to be measured the same way. tests/unit/test_kafkalog.py
pins every value, so that none changes by accident.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

Config = dict[str, Any]

RECONNECT: Config = {"reconnect.backoff.max.ms": 1_000}
"""Every client: how long it may wait between attempts to reach a broker that is down.
librdkafka doubles the wait up to 10 s by default, so a client could look again up to
10 s after the broker answered (issue 15: every processor rejoined 8 to 10 s after a
restarted broker was up); 1 s bounds that, for a few connection attempts a second per
client while a broker is down."""


@dataclass(frozen=True)
class ConsumerPreset:
    """How a consumer of one role reads. None leaves librdkafka's default."""

    name: str
    fetch_wait_max_ms: int | None
    """How long the broker may hold a fetch that finds nothing new: how often an idle
    consumer asks again. It is answered at once when a record arrives, so it sets no floor
    under latency (WAIT_FOR_RECORDS_MS)."""
    session_timeout_ms: int | None = None
    """How long a silent group member keeps its partitions (a static member: until it
    comes back with the same instance id, if within this time)."""
    heartbeat_interval_ms: int | None = None
    partition_eof: bool = False
    """Report reaching a partition's end: how a reader knows it has caught up."""

    def settings(self) -> Config:
        found: Config = {}
        if self.fetch_wait_max_ms is not None:
            found["fetch.wait.max.ms"] = self.fetch_wait_max_ms
        if self.session_timeout_ms is not None:
            found["session.timeout.ms"] = self.session_timeout_ms
        if self.heartbeat_interval_ms is not None:
            found["heartbeat.interval.ms"] = self.heartbeat_interval_ms
        if self.partition_eof:
            found["enable.partition.eof"] = True
        return found


WAIT_FOR_RECORDS_MS = 500
"""How long the broker holds a fetch that found nothing new. A held fetch is answered as
soon as a record arrives (read_committed too: as soon as a commit makes one visible), so
this is no floor under latency; it is how often an idle consumer asks again. At 5 ms,
each of the platform's 14 consumers asked 200 times a second, and the platform took 28%
of a core doing nothing (issue 12; measured in docs/performance.md)."""

PROCESSOR = ConsumerPreset(
    "processor",
    fetch_wait_max_ms=WAIT_FOR_RECORDS_MS,
    session_timeout_ms=10_000,
    heartbeat_interval_ms=1_000,
)
"""The sequencer, the account registry and the fan-out: on the message path; a restarted
static member takes its partitions back at once, a dead one loses them after 10 s."""
VIEW = ConsumerPreset(
    "view",
    fetch_wait_max_ms=WAIT_FOR_RECORDS_MS,
    session_timeout_ms=10_000,
    heartbeat_interval_ms=1_000,
    partition_eof=True,
)
"""A view: it needs the partitions' ends to say when it has caught up."""
FOLLOWER = ConsumerPreset("follower", fetch_wait_max_ms=WAIT_FOR_RECORDS_MS, partition_eof=True)
"""An edge node's followers: outcomes and deliveries are on the message path; the end of
each partition tells the node it has caught up (accounts before it serves)."""
SESSION_FEED = ConsumerPreset("session feed", fetch_wait_max_ms=WAIT_FOR_RECORDS_MS)
"""The fan-out's reader of the session directory: polled between batches of events."""
REPLAY = ConsumerPreset("replay", fetch_wait_max_ms=None, partition_eof=True)
"""A catch-up read of a range that is already written: fetches are full, so librdkafka's
default wait costs nothing; the end of each partition ends the read."""


@dataclass(frozen=True)
class ProducerPreset:
    name: str
    linger_ms: int | None
    """How long a record waits for others to share its request; None: librdkafka's."""
    transactional: bool = False

    def settings(self) -> Config:
        found: Config = {"enable.idempotence": True}
        if self.transactional:
            found |= {
                "acks": "all",
                "transaction.timeout.ms": 60_000,
                # CONCURRENT_TRANSACTIONS is answered right after a commit; the default
                # 100 ms backoff made every transaction 45 ms longer (bench/results/README.md).
                "retry.backoff.ms": 2,
                "retry.backoff.max.ms": 20,
            }
        if self.linger_ms is not None:
            found["linger.ms"] = self.linger_ms
        return found


TRANSACTIONAL = ProducerPreset("transactional", linger_ms=0, transactional=True)
"""A log writer: each batch is one transaction, sent as soon as it is decided."""
IMMEDIATE = ProducerPreset("immediate", linger_ms=0)
"""Records someone waits for: the fan-out's deliveries, the edge's commands."""
LINGERING = ProducerPreset("lingering", linger_ms=5)
"""An edge node's session records and typing signals: nobody waits on one record, and
5 ms lets a burst of them share requests."""
PARKING = ProducerPreset("parking", linger_ms=None)
"""A view's dead letters: rare, and flushed with the batch that skipped them."""


def group_consumer(
    bootstrap: str,
    preset: ConsumerPreset,
    *,
    group_id: str,
    instance_id: str,
    debug: str = "",
) -> Config:
    """A member of a consumer group that reads committed records only and never lets
    librdkafka commit on its own. `instance_id` makes it a static member, so a restart
    takes its partitions back without a rebalance."""
    return {
        "bootstrap.servers": bootstrap,
        "group.id": group_id,
        "group.instance.id": instance_id,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        **RECONNECT,
        **preset.settings(),
        **({"debug": debug} if debug else {}),
    }


def private_reader(
    bootstrap: str, preset: ConsumerPreset, *, committed_only: bool = True, name: str = "reader"
) -> Config:
    """A consumer that is assigned partitions by hand and commits nothing: a group of its
    own, so it never shares out or stores a position."""
    return {
        "bootstrap.servers": bootstrap,
        "group.id": f"{name}-{uuid.uuid4()}",
        "enable.auto.commit": False,
        "isolation.level": "read_committed" if committed_only else "read_uncommitted",
        **RECONNECT,
        **preset.settings(),
    }


def producer(
    bootstrap: str, preset: ProducerPreset, *, transactional_id: str = "", debug: str = ""
) -> Config:
    if preset.transactional and not transactional_id:
        raise ValueError(f"the {preset.name} preset needs a transactional id")
    return {
        "bootstrap.servers": bootstrap,
        **({"transactional.id": transactional_id} if transactional_id else {}),
        **RECONNECT,
        **preset.settings(),
        **({"debug": debug} if debug else {}),
    }
