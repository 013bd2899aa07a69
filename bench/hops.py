"""Where a message's time goes: a latency budget per hop, from stamps the records carry.

For every measured message of a step, the stamps, all wall-clock milliseconds of this
host's one clock:

| stamp | where it comes from |
| --- | --- |
| client sent | the loader, in the message's text |
| edge took the frame | the command's `meta.issued_at` (the edge, once the frame is parsed) |
| command produced | the command record's timestamp (CreateTime: the edge's produce call) |
| sequencer decided | the event's `meta.occurred_at` (the sequencer, as it decides) |
| event produced | the event record's timestamp (the sequencer's produce call) |
| event visible | an observer here reading the events topic read_committed |
| delivery produced | the delivery record's timestamp (the fan-out's produce call) |
| delivery visible | an observer here reading the deliveries topic |
| client received | the loader, when the push came off its socket |

The observers only note (partition, offset) and the time as records arrive; the records
themselves are read back after the step. A hop is the difference of two neighbouring
stamps; the last ("delivery visible -> client received") is the edge node's share (its
follower's fetch, decoding, the push built and written) plus the loader's read. Record
timestamps have millisecond resolution, so hops under a millisecond read as 0 or 1.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import OFFSET_END, Consumer, Message, TopicPartition

from bench.stats import latency_summary
from kafkalog.batches import next_batch
from kafkalog.presets import FOLLOWER, private_reader
from kafkalog.records import position
from kafkalog.replay import replay
from schemas import codec
from schemas import models as m
from schemas.topics import Topics

HOPS = (
    "client -> edge",
    "edge -> command produced",
    "command produced -> sequencer decided",
    "sequencer decided -> event produced",
    "event produced -> event visible",
    "event visible -> delivery produced",
    "delivery produced -> delivery visible",
    "delivery visible -> client received",
)
"""In the order a message takes them; each is the difference of two stamps above."""


def _ms(record: Message) -> int:
    return int(record.timestamp()[1])


class Observer:
    """Notes when each record of the events (read_committed) and deliveries topics
    becomes visible, on a thread of its own, from the topics' ends at `start`."""

    def __init__(self, bootstrap: str, topics: Topics) -> None:
        self.seen: dict[tuple[str, int, int], float] = {}
        self.stopping = threading.Event()
        self.consumers = [
            self._reader(bootstrap, topics.events.name, topics.events.partitions, True),
            self._reader(bootstrap, topics.deliveries.name, topics.deliveries.partitions, False),
        ]
        self.threads = [
            threading.Thread(target=self._follow, args=(c,), daemon=True) for c in self.consumers
        ]

    @staticmethod
    def _reader(bootstrap: str, topic: str, partitions: int, committed: bool) -> Consumer:
        consumer = Consumer(
            private_reader(bootstrap, FOLLOWER, committed_only=committed, name="bench-hops")
        )
        consumer.assign([TopicPartition(topic, p, OFFSET_END) for p in range(partitions)])
        return consumer

    def start(self) -> Observer:
        for thread in self.threads:
            thread.start()
        return self

    def stop(self) -> dict[tuple[str, int, int], float]:
        self.stopping.set()
        for thread in self.threads:
            thread.join(5)
        for consumer in self.consumers:
            consumer.close()
        return self.seen

    def _follow(self, consumer: Consumer) -> None:
        while not self.stopping.is_set():
            # what is fetched, at once: consume(n, timeout) would wait for n or the timeout
            records = next_batch(consumer, 1000, idle_s=0.1)
            now_ms = time.time() * 1000
            for record in records:
                if record.error() is None:
                    partition, offset = position(record)
                    self.seen[(record.topic() or "", partition, offset)] = now_ms


@dataclass
class Stamps:
    """What the records say about one message, by its id."""

    commands: dict[str, tuple[float, float]] = field(default_factory=dict)
    """message id -> (issued_at, command record timestamp)"""
    events: dict[str, tuple[str, int, float, float, tuple[int, int]]] = field(default_factory=dict)
    """message id -> (conversation, seq, occurred_at, event record timestamp, position)"""
    deliveries: dict[tuple[str, int, int], tuple[float, int]] = field(default_factory=dict)
    """(conversation, seq, edge node) -> (delivery record timestamp, offset)"""


def _text(record: m.SendMessage | m.MessageSent) -> str | None:
    body = record.body
    return body.text if isinstance(body, m.PlainBody) else None


def read_stamps(bootstrap: str, topics: Topics, measured: set[str]) -> Stamps:
    """Every record of the run's topics, read back: the stamps of the `measured` ids."""
    stamps = Stamps()

    def command(record: Message) -> None:
        value = codec.decode(record.value() or b"")
        if isinstance(value, m.SendMessage) and (text := _text(value)):
            mid = text.partition("|")[0]
            if mid in measured:
                issued = value.meta.issued_at.timestamp() * 1000
                stamps.commands[mid] = (issued, _ms(record))

    def event(record: Message) -> None:
        value = codec.decode(record.value() or b"")
        if isinstance(value, m.MessageSent) and (text := _text(value)):
            mid = text.partition("|")[0]
            if mid in measured:
                meta = value.meta
                occurred = meta.occurred_at.timestamp() * 1000
                at = position(record)
                stamps.events[mid] = (meta.conversation_id, meta.seq, occurred, _ms(record), at)

    def delivery(record: Message) -> None:
        value = codec.decode(record.value() or b"")
        if isinstance(value, m.EventDelivery):
            partition, offset = position(record)
            key = (value.conversation_id, value.seq, partition)
            stamps.deliveries.setdefault(key, (_ms(record), offset))

    for spec, apply in (
        (topics.commands, command),
        (topics.events, event),
        (topics.deliveries, delivery),
    ):
        replay(bootstrap, spec.name, dict.fromkeys(range(spec.partitions), 0), apply)
    return stamps


def budget(
    arrivals: Iterable[tuple[str, int, float]],
    *,
    sent_ms: dict[str, float],
    node_of: dict[int, int],
    stamps: Stamps,
    seen: dict[tuple[str, int, int], float],
    topics: Topics,
) -> dict[str, Any]:
    """p50/p99 of every hop over the measured deliveries whose stamps were all found.
    `arrivals`: (message id, device, send-to-receive ms) as the loaders report them;
    `sent_ms`: each id's send time; `node_of`: each device's edge node."""
    hops: dict[str, list[float]] = {hop: [] for hop in HOPS}
    totals: list[float] = []
    complete = missing = 0
    messages_done: set[str] = set()
    deliveries_done: set[tuple[str, int]] = set()
    for mid, device, latency in arrivals:
        sent = sent_ms.get(mid)
        command = stamps.commands.get(mid)
        event = stamps.events.get(mid)
        if sent is None or command is None or event is None:
            missing += 1
            continue
        cid, seq, occurred, produced, (partition, offset) = event
        visible = seen.get((topics.events.name, partition, offset))
        node = node_of[device]
        delivery = stamps.deliveries.get((cid, seq, node))
        delivered = (
            seen.get((topics.deliveries.name, node, delivery[1])) if delivery is not None else None
        )
        if visible is None or delivery is None or delivered is None:
            missing += 1
            continue
        complete += 1
        # each hop counted once where it happens: per message, per delivery record (one
        # per edge node), per device
        if mid not in messages_done:
            messages_done.add(mid)
            issued, command_ts = command
            for hop, value in zip(
                HOPS[:5],
                (
                    issued - sent,
                    command_ts - issued,
                    occurred - command_ts,
                    produced - occurred,
                    visible - produced,
                ),
                strict=True,
            ):
                hops[hop].append(value)
        if (mid, node) not in deliveries_done:
            deliveries_done.add((mid, node))
            hops[HOPS[5]].append(delivery[0] - visible)
            hops[HOPS[6]].append(delivered - delivery[0])
        hops[HOPS[7]].append(sent + latency - delivered)
        totals.append(latency)
    return {
        "deliveries_with_every_stamp": complete,
        "deliveries_missing_a_stamp": missing,
        "hops": {hop: latency_summary(values) | {"n": len(values)} for hop, values in hops.items()},
        "send_to_receive": latency_summary(totals),
    }


@dataclass(frozen=True)
class HopProbe:
    """The hop budget of each step of an end-to-end run (bench/edge.py)."""

    bootstrap: str
    topics: Topics
    node_of: dict[int, int]
    """Each device's edge node."""

    def observe(self) -> Observer:
        return Observer(self.bootstrap, self.topics).start()

    def measure(self, observer: Observer, parts: list[dict[str, Any]]) -> dict[str, Any]:
        """The budget of a step from its loaders' reports, once it has drained."""
        seen = observer.stop()
        sent = {mid: ms for part in parts for mid, _, ms in part["sent"]}
        arrivals = [tuple(a) for part in parts for a in part["arrivals"]]
        stamps = read_stamps(self.bootstrap, self.topics, set(sent))
        return budget(
            arrivals,
            sent_ms=sent,
            node_of=self.node_of,
            stamps=stamps,
            seen=seen,
            topics=self.topics,
        )
