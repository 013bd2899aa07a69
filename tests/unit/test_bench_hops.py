"""The latency budget's join (bench/hops.py) and the process roles of the CPU figures
(bench/processes.py), without a cluster."""

from __future__ import annotations

from bench import hops, processes
from bench.contention import TICKS_PER_S
from bench.processes import Snapshot
from schemas.topics import declare_topics

TOPICS = declare_topics("t", partitions=2)


def stamps_of_one_message() -> tuple[hops.Stamps, dict[tuple[str, int, int], float]]:
    stamps = hops.Stamps()
    stamps.commands["s0.m.0.1"] = (1002.0, 1003.0)
    stamps.events["s0.m.0.1"] = ("c1", 7, 1010.0, 1011.0, (1, 40))
    stamps.deliveries[("c1", 7, 0)] = (1030.0, 5)
    stamps.deliveries[("c1", 7, 1)] = (1031.0, 9)
    seen = {
        (TOPICS.events.name, 1, 40): 1020.0,
        (TOPICS.deliveries.name, 0, 5): 1032.0,
        (TOPICS.deliveries.name, 1, 9): 1034.0,
    }
    return stamps, seen


def test_each_hop_is_the_difference_of_neighbouring_stamps() -> None:
    stamps, seen = stamps_of_one_message()
    found = hops.budget(
        [("s0.m.0.1", 3, 40.0)],
        sent_ms={"s0.m.0.1": 1000.0},
        node_of={3: 1},
        stamps=stamps,
        seen=seen,
        topics=TOPICS,
    )
    p50 = {hop: summary["p50_ms"] for hop, summary in found["hops"].items()}
    assert p50 == {
        "client -> edge": 2.0,
        "edge -> command produced": 1.0,
        "command produced -> sequencer decided": 7.0,
        "sequencer decided -> event produced": 1.0,
        "event produced -> event visible": 9.0,
        "event visible -> delivery produced": 11.0,
        "delivery produced -> delivery visible": 3.0,
        "delivery visible -> client received": 6.0,
    }
    assert sum(p50.values()) == 40.0
    assert found["send_to_receive"]["p50_ms"] == 40.0


def test_a_hop_counts_once_where_it_happens_and_gaps_are_counted() -> None:
    """Per message: the hops up to the event; per edge node: the delivery record's; per
    device: the last. A delivery whose record the observer never saw is left out."""
    stamps, seen = stamps_of_one_message()
    found = hops.budget(
        [("s0.m.0.1", 1, 35.0), ("s0.m.0.1", 2, 36.0), ("s0.m.0.1", 3, 40.0), ("x", 1, 5.0)],
        sent_ms={"s0.m.0.1": 1000.0},
        node_of={1: 0, 2: 0, 3: 1},
        stamps=stamps,
        seen={k: v for k, v in seen.items() if k != (TOPICS.deliveries.name, 1, 9)},
        topics=TOPICS,
    )
    counts = {hop: summary["n"] for hop, summary in found["hops"].items()}
    assert counts["client -> edge"] == 1
    assert counts["delivery produced -> delivery visible"] == 1
    assert counts["delivery visible -> client received"] == 2
    assert found["deliveries_with_every_stamp"] == 2
    assert found["deliveries_missing_a_stamp"] == 2


def test_processes_are_told_apart_by_command_line_and_edge_node() -> None:
    assert processes.role_of("java -Xmx1g -cp x kafka.Kafka server.properties") == "broker"
    assert processes.role_of("python -m streams.sequencer") == "sequencer"
    assert processes.role_of("python -m projections.search") == "search"
    assert processes.role_of("python -m streams.media sweep") == "media"
    edge_env = b"PATH=/bin\0PARLEY_EDGE_NODE=1\0"
    assert processes.role_of("python -m edge", edge_env) == "edge-1"
    spawned = "python -c from multiprocessing.spawn import spawn_main; spawn_main(fd=7)"
    assert processes.role_of(spawned) == "load generator"
    assert processes.role_of("python -m pytest") is None


def test_cpu_is_summed_by_role_and_the_platform_excludes_the_load() -> None:
    first = Snapshot({1: 100, 2: 50}, {1: "broker", 2: "edge-0"})
    last = Snapshot(
        {1: 300, 2: 150, 3: 40, 4: 10},
        {1: "broker", 2: "edge-0", 3: "edge-1", 4: "load generator"},
    )
    by_role = processes.cpu_seconds(first, last)
    ticks = TICKS_PER_S
    assert by_role == {
        "broker": round(200 / ticks, 2),
        "edge-0": round(100 / ticks, 2),
        "edge-1": round(40 / ticks, 2),
        "load generator": round(10 / ticks, 2),
    }
    assert processes.platform_seconds(by_role) == round(340 / ticks, 2)
