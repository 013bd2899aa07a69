"""Not a test: a side-by-side micro-benchmark of what telemetry costs per message.

    PYTHONPATH=. .venv/bin/python bench/tracing_overhead.py [off|on|unsampled]

Times the sequencer's real per-batch path (`TransactionalLoop._process`: decode, decide,
encode, produce, commit bookkeeping, metrics) and the edge's real per-delivery path
(`ConnectionHub.deliver` to three devices, through to the socket write) over fake Kafka
clients and sockets, and prints one JSON line of CPU nanoseconds per message (process
time, so that other load on a shared machine counts less; the median of several rounds).
Run it with PYTHONPATH pointing at another checkout (an export of the commit before
telemetry, say) to compare the same code paths with and without it; `on` times them with
tracing on (every message sampled, spans exported to nowhere), `unsampled` with tracing on
and every trace sampled out (ratio 0: headers carried, nothing recorded). PYTHONPATH is
needed for this checkout too: the script's own folder is first on sys.path, and an
editable install elsewhere would otherwise supply the packages (the output names the tree
it ran).
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import inspect
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import streams
from schemas import codec
from schemas import models as m
from schemas.partitioning import partition_for
from schemas.topics import declare_topics
from streams.sequencer.state import SequencerState
from streams.sequencer.worker import ConversationSequencer
from streams.transactional import BatchStats, LoopConfig, TransactionalLoop

PARTITIONS = 8
BATCH = 100
BATCHES = 40
ROUNDS = 9


class Record:
    def __init__(self, topic: str, partition: int, offset: int, key: str, value: bytes) -> None:
        self._args = (topic, partition, offset, key, value)

    def topic(self) -> str:
        return self._args[0]

    def partition(self) -> int:
        return self._args[1]

    def offset(self) -> int:
        return self._args[2]

    def key(self) -> bytes:
        return self._args[3].encode()

    def value(self) -> bytes:
        return self._args[4]

    def headers(self) -> None:
        return None

    def error(self) -> None:
        return None


class Producer:
    def __init__(self) -> None:
        self.offset = 0

    def produce(self, topic: str, **kwargs: Any) -> None:
        self.offset += 1
        if "on_delivery" in kwargs:
            kwargs["on_delivery"](None, Record(topic, kwargs["partition"], self.offset, "", b""))

    def begin_transaction(self) -> None: ...

    def send_offsets_to_transaction(self, *args: Any) -> None: ...

    def commit_transaction(self, *args: Any) -> None: ...

    def __len__(self) -> int:
        return 0


class Consumer:
    def consumer_group_metadata(self) -> None:
        return None


def tracing(mode: str) -> Any:
    if mode == "off":
        try:
            from telemetry.tracing import Tracing
        except ImportError:  # a checkout from before telemetry
            return None
        return Tracing.off()
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
    from opentelemetry.sdk.trace.sampling import ParentBasedTraceIdRatio

    from telemetry.tracing import Tracing

    class Nowhere(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider(sampler=ParentBasedTraceIdRatio(0.0 if mode == "unsampled" else 1.0))
    provider.add_span_processor(BatchSpanProcessor(Nowhere()))
    return Tracing(provider.get_tracer("bench"), provider)


def memory_store() -> Any:
    """streams/store.py's; in a checkout from before it, the sequencer's own."""
    try:
        module = importlib.import_module("streams.store")
    except ImportError:
        module = importlib.import_module("streams.sequencer.state")
    return module.MemoryStore()


def sequencer_loop(mode: str) -> tuple[TransactionalLoop, list[list[Record]]]:
    topics = declare_topics("bench", partitions=PARTITIONS)
    named = inspect.signature(ConversationSequencer).parameters
    handler = ConversationSequencer(
        bootstrap="unused",
        topics=topics,
        state=SequencerState(memory_store()),
        **cast(dict[str, Any], {"group_id": "g"} if "group_id" in named else {}),
    )
    loop = object.__new__(TransactionalLoop)
    loop.__dict__.update(
        config=LoopConfig("unused", topics.commands.name, "g", "t"),
        handler=handler,
        watchdog=None,
        producer=Producer(),
        consumer=Consumer(),
        stats=BatchStats("bench", interval_s=1e9),
    )
    if (traced := tracing(mode)) is not None:
        loop.__dict__["tracing"] = traced
    now = datetime.now(UTC)
    offsets = dict.fromkeys(range(PARTITIONS), 0)

    def record(command: Any) -> Record:
        key = command.meta.conversation_id
        partition = partition_for(key, PARTITIONS)
        offsets[partition] += 1
        return Record(
            topics.commands.name, partition, offsets[partition], key, codec.encode(command)
        )

    def meta(cid: str, n: int) -> m.CommandMeta:
        return m.CommandMeta(
            command_id=f"c-{cid}-{n}",
            conversation_id=cid,
            actor=m.Actor(user_id="ann", device_id="d-ann"),
            client_msg_id=f"k-{cid}-{n}",
            issued_at=now,
        )

    cids = [f"g-{i}" for i in range(50)]
    creations = [
        record(
            m.CreateConversation(
                meta=meta(cid, 0),
                kind=m.ConversationKind.GROUP,
                name=None,
                members=(m.Member(user_id="ben", role=m.Role.MEMBER),),
            )
        )
        for cid in cids
    ]
    loop._process(cast(list[Any], creations))
    sends = [
        record(
            m.SendMessage(
                meta=meta(cids[i % len(cids)], i + 1),
                body=m.PlainBody(text="a sixty-character message, about what people send"),
                reply_to_seq=None,
            )
        )
        for i in range(BATCH * BATCHES * ROUNDS)
    ]
    return loop, [sends[i : i + BATCH] for i in range(0, len(sends), BATCH)]


def time_sequencer(mode: str) -> list[float]:
    loop, batches = sequencer_loop(mode)
    rounds = []
    for r in range(ROUNDS):
        mine = batches[r * BATCHES : (r + 1) * BATCHES]
        gc.collect()
        began = time.process_time_ns()
        for batch in mine:
            loop._process(batch)  # type: ignore[arg-type]
        rounds.append((time.process_time_ns() - began) / (BATCH * BATCHES))
    return rounds


async def time_deliveries(mode: str) -> list[float]:
    from edge.connection import ConnectionState, DeviceConnection
    from edge.hub import ConnectionHub
    from edge.metrics import EdgeMetrics

    class Socket:
        async def send_str(self, text: str) -> None: ...

    metrics = EdgeMetrics(0)
    traced = tracing(mode)
    topics = declare_topics("bench")
    hub = ConnectionHub(
        0,
        sessions=topics.sessions,
        deliveries=topics.deliveries,
        producer=Producer(),  # type: ignore[arg-type]
        metrics=metrics,
        **({} if traced is None else {"tracing": traced}),
    )
    for user in ("ann", "ben", "cy"):
        kwargs: dict[str, Any] = {"queue_size": 1000}
        if traced is not None:
            kwargs["metrics"] = metrics
        connection = DeviceConnection(Socket(), **kwargs)  # type: ignore[arg-type]
        connection.user_id, connection.device_id = user, f"d-{user}"
        connection.state = ConnectionState.OPEN
        hub.add(connection)
    headers = None
    if mode != "off":
        with traced.serving("ws send"):
            from telemetry.tracing import inject

            headers = inject()
    deliveries = []
    for seq in range(1, BATCH * BATCHES + 1):
        event = m.MessageSent(
            meta=m.EventMeta(
                event_id=f"e{seq}",
                conversation_id="g-1",
                seq=seq,
                actor=m.Actor(user_id="ann", device_id="d-ann"),
                client_msg_id=f"k{seq}",
                command_id=f"c{seq}",
                occurred_at=datetime.now(UTC),
            ),
            body=m.PlainBody(text="a sixty-character message, about what people send"),
        )
        deliveries.append(
            m.EventDelivery(
                conversation_id="g-1",
                seq=seq,
                event=codec.encode(event),
                recipients=("ann", "ben", "cy"),
            )
        )
    rounds = []
    for _ in range(ROUNDS):
        gc.collect()
        began = time.process_time_ns()
        for i in range(0, len(deliveries), BATCH):
            for delivery in deliveries[i : i + BATCH]:
                if headers is None:
                    hub.deliver(delivery)
                else:
                    hub.deliver(delivery, headers)
            await asyncio.sleep(0)  # the writers send what was queued
            await asyncio.sleep(0)
        rounds.append((time.process_time_ns() - began) / len(deliveries))
    return rounds


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "off"
    import edge

    trees = {Path(p.__file__ or "").resolve().parents[1] for p in (streams, edge)}
    if len(trees) != 1:
        sys.exit(f"streams and edge come from different trees: {sorted(map(str, trees))}")
    sequencer = time_sequencer(mode)
    deliveries = asyncio.run(time_deliveries(mode))
    print(
        json.dumps(
            {
                "tree": str(Path(streams.__file__).resolve().parents[1]),
                "tracing": mode,
                "sequencer_ns_per_command": round(statistics.median(sequencer)),
                "sequencer_rounds_ns": [round(x) for x in sequencer],
                "edge_ns_per_delivery_to_3_devices": round(statistics.median(deliveries)),
                "edge_rounds_ns": [round(x) for x in deliveries],
            }
        )
    )


if __name__ == "__main__":
    main()
