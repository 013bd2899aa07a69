"""The capacity model: measured per-core figures (bench/results/*.json) and stated
assumptions in, load, storage and node counts for the brief's scale out.

`python -m bench capacity` prints the tables and writes them into docs/capacity.md between
its markers, so the document always shows what the committed results give. The arithmetic
is pure and tested; every input is either measured (and named by its file) or an
assumption with its reason.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from bench import report, results
from bench.report import number, table

BEGIN = "<!-- capacity:begin (python -m bench capacity) -->"
END = "<!-- capacity:end -->"
DAY_S = 86_400


@dataclass(frozen=True)
class Measured:
    """Per-core figures from the suite's results (the source of each is in `SOURCES`)."""

    sequencer_commands_per_core: float
    knee_messages_per_s: float
    knee_deliveries_per_s: float
    knee_p99_ms: float
    machine_cores: int
    connections_per_edge_process: float
    kib_per_connection: float
    rebuild_events_per_core: float
    avro_bytes_per_event: float
    broker_bytes_per_event: float
    history_bytes_per_event: float
    backfill_wire_bytes_per_event: float
    backfill_seconds: float
    backfill_messages: float
    search_messages_per_core: float
    search_bytes_per_message: float
    cold_compression: float
    archive_events_per_core: float
    archive_lag_p99_s: float

    @classmethod
    def from_results(cls, out_dir: Path) -> Measured:
        def need(name: str) -> dict[str, Any]:
            found = results.load(out_dir, name)
            if found is None:
                raise FileNotFoundError(f"{out_dir / name}.json: run `python -m bench suite`")
            return found

        edge, idle = need(report.RAMP), need(report.IDLE)
        seq, rebuild, fill = need(report.SEQUENCER), need(report.REBUILD), need(report.BACKFILL)
        indexing = need(report.SEARCH)["indexing"]
        archive, archive_lag = need(ARCHIVE), need(report.ARCHIVE_LAG)
        knee = edge.get("knee_rate_per_s")
        step = next((s for s in edge["steps"] if s["rate_per_s"] == knee), None)
        return cls(
            sequencer_commands_per_core=seq["throughput_commands_per_s"],
            knee_messages_per_s=float(knee or 0),
            knee_deliveries_per_s=step["deliveries_per_s"] if step else 0.0,
            knee_p99_ms=step["p99_ms"] if step else math.nan,
            machine_cores=int(edge["machine"]["cores"]),
            connections_per_edge_process=idle["held_by_edge"],
            kib_per_connection=idle["kib_per_connection"],
            rebuild_events_per_core=rebuild["events_per_s_median"],
            avro_bytes_per_event=rebuild["event_bytes_avg"],
            broker_bytes_per_event=rebuild["broker_bytes_per_event"],
            history_bytes_per_event=rebuild["store_bytes_per_event"],
            backfill_wire_bytes_per_event=fill["bytes_in_per_event"],
            backfill_seconds=fill["seconds_median"],
            backfill_messages=fill["messages"],
            search_messages_per_core=indexing["messages_per_cpu_s"],
            search_bytes_per_message=indexing["index_bytes_per_message"],
            cold_compression=archive["avro_to_parquet_ratio"],
            archive_events_per_core=archive["events_per_cpu_s"],
            archive_lag_p99_s=archive_lag["lag_s"]["p99_s"],
        )


SOURCES = {
    "sequencer_commands_per_core": (
        "sequencer, commands/s per core",
        "sequencer-full.json: a backlog worked off by one pinned core",
    ),
    "knee_messages_per_s": (
        "end to end: knee, messages/s",
        "edge-ramp.json: highest offered load with p99 <= 150 ms",
    ),
    "knee_deliveries_per_s": (
        "end to end: pushes/s at the knee",
        "edge-ramp.json: pushes per second at the knee, whole system",
    ),
    "knee_p99_ms": ("end to end: p99 at the knee, ms", "edge-ramp.json"),
    "machine_cores": (
        "cores of the measuring machine",
        "they ran the whole system, Kafka and the load generators included",
    ),
    "connections_per_edge_process": (
        "idle connections per edge process",
        "idle-full.json: idle WebSockets one edge process held",
    ),
    "kib_per_connection": (
        "KiB per idle connection",
        "idle-full.json: edge RSS growth per connection",
    ),
    "rebuild_events_per_core": (
        "history view rebuild, events/s per core",
        "rebuild-full.json: replay from offset 0, one pinned core",
    ),
    "avro_bytes_per_event": (
        "bytes per event, Avro",
        "rebuild-full.json: single-object Avro; a MessageSent of 55 characters",
    ),
    "broker_bytes_per_event": (
        "bytes per event on broker disk",
        "rebuild-full.json: log segment bytes per event, one replica, no compression",
    ),
    "history_bytes_per_event": (
        "bytes per event in the history view",
        "rebuild-full.json: RocksDB files right after a rebuild",
    ),
    "backfill_wire_bytes_per_event": (
        "backfill bytes per event on the wire",
        "backfill-full.json: fetch_history JSON answers",
    ),
    "backfill_seconds": ("backfill, seconds", "backfill-full.json: median catch-up"),
    "backfill_messages": ("backfill, messages missed", "backfill-full.json"),
    "search_messages_per_core": (
        "search view, messages indexed per CPU second",
        "search.json: the view's batches on one pinned core, per CPU second of the process "
        "(its wall-clock rate there is lower while other work shares the core)",
    ),
    "search_bytes_per_message": (
        "bytes per message in the search index",
        "search.json: the tantivy index directory after indexing, per message",
    ),
    "cold_compression": (
        "cold compression ratio",
        "archive-full.json (`python -m bench archive`): Avro bytes / Parquet bytes of both "
        "archive families; the analysts' family alone compresses far better, the raw family "
        "(bodies, random ids) barely",
    ),
    "archive_events_per_core": (
        "archive writer, events per CPU-second",
        "archive-full.json: records through the writer, with its uploads, per CPU-second",
    ),
    "archive_lag_p99_s": (
        "archive lag p99, s",
        "archive-lag-full.json: log-visible to in an S3 object at 1,000 messages/s",
    ),
}
ARCHIVE = "archive-full"
"""`python -m bench archive` (10M events) is not part of the suite: its result is kept
under this name in bench/results/."""


@dataclass(frozen=True)
class Assumptions:
    """Not measured here; each with its reason in `REASONS`."""

    monthly_users: float = 100e6
    daily_users: float = 10e6
    concurrent_connections: float = 2e6
    messages_per_daily_user: float = 40
    events_per_message: float = 3
    peak_to_average: float = 3
    members_per_conversation: float = 3
    devices_online_per_member: float = 1.5
    replication_factor: int = 3
    hot_retention_days: float = 30
    cold_retention_days: float = 365
    utilisation: float = 0.6
    cores_per_node: int = 16
    broker_usable_disk_tb: float = 8
    broker_mb_per_s: float = 100
    consumer_groups_on_events: int = 4
    rebuild_parallelism: int = 64


REASONS = {
    "monthly_users": ("monthly users", "the brief (sizes nothing below: daily users do)"),
    "daily_users": ("daily users", "the brief"),
    "concurrent_connections": ("concurrent connections", "the brief, per region"),
    "messages_per_daily_user": (
        "messages per daily user per day",
        "typical for a messenger: a few conversations a day",
    ),
    "events_per_message": (
        "events per message",
        "the MessageSent plus about one delivered and one read watermark (receipts "
        "coalesce, so busy chats have fewer)",
    ),
    "peak_to_average": ("peak to average", "evening peak"),
    "members_per_conversation": (
        "members per conversation",
        "average; 1:1 dominates, groups of 10 to 100 pull it up",
    ),
    "devices_online_per_member": ("devices online per member", "a phone, sometimes a laptop"),
    "replication_factor": (
        "replication factor",
        "with min.insync.replicas 2 a broker may fail without losing an acknowledged event "
        "or stopping writes",
    ),
    "hot_retention_days": (
        "hot retention, days",
        "the events topic's retention.ms (schemas/topics.py); older events are read from the "
        "archive. The accounts topic is kept whole: every edge node folds it from the start",
    ),
    "cold_retention_days": (
        "cold retention, days",
        "events kept as Parquet on object storage (then the retention policy deletes them)",
    ),
    "utilisation": (
        "utilisation target",
        "throughput-bound processes run at 60% of the rate measured at saturation; the "
        "knee is latency-bound already and is used as it is",
    ),
    "cores_per_node": ("cores per node", "a common cloud size"),
    "broker_usable_disk_tb": (
        "usable disk per broker, TB",
        "12 TB per broker, filled to at most two thirds",
    ),
    "broker_mb_per_s": (
        "traffic per broker, MB/s",
        "in, replication and out together; well within NVMe and 25 Gbit/s (not measured here)",
    ),
    "consumer_groups_on_events": (
        "consumer groups on events",
        "fan-out, history view, archiver, search indexer",
    ),
    "rebuild_parallelism": (
        "rebuild parallelism",
        "partitions of the events topic, one rebuilding process each",
    ),
}


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    how: str


def model(m: Measured, a: Assumptions) -> list[Figure]:
    """The load, storage and node figures, in the order the document shows them."""
    messages_day = a.daily_users * a.messages_per_daily_user
    messages_peak = messages_day / DAY_S * a.peak_to_average
    events_day = messages_day * a.events_per_message
    events_peak = events_day / DAY_S * a.peak_to_average
    deliveries_peak = messages_peak * a.members_per_conversation * a.devices_online_per_member
    broker_day = events_day * m.broker_bytes_per_event * a.replication_factor
    hot = broker_day * a.hot_retention_days
    cold_day = events_day * m.avro_bytes_per_event / m.cold_compression
    cold = cold_day * a.cold_retention_days
    history_replica = events_day * m.history_bytes_per_event * a.hot_retention_days
    sequencer_cores = events_peak / (m.sequencer_commands_per_core * a.utilisation)
    deliveries_per_core = m.knee_deliveries_per_s / m.machine_cores
    delivery_cores = deliveries_peak / deliveries_per_core if deliveries_per_core else math.inf
    edge_processes = math.ceil(a.concurrent_connections / m.connections_per_edge_process)
    edge_ram_gib = a.concurrent_connections * m.kib_per_connection / 1024**2
    edge_nodes = math.ceil(max(edge_processes, delivery_cores) / a.cores_per_node)
    view_cores = events_peak / (m.rebuild_events_per_core * a.utilisation)
    search_cores = messages_peak / (m.search_messages_per_core * a.utilisation)
    search_replica = messages_day * m.search_bytes_per_message * a.hot_retention_days
    archive_cores = events_peak / (m.archive_events_per_core * a.utilisation)
    processor_nodes = math.ceil(
        (sequencer_cores + view_cores + search_cores + archive_cores) / a.cores_per_node
    )
    ingress_mb = events_peak * m.broker_bytes_per_event / 1e6
    broker_traffic = ingress_mb * (a.replication_factor + a.consumer_groups_on_events)
    brokers = max(
        a.replication_factor,
        math.ceil(hot / 1e12 / a.broker_usable_disk_tb),
        math.ceil(broker_traffic / a.broker_mb_per_s),
    )
    rebuild_hours = (
        events_day * a.hot_retention_days / (m.rebuild_events_per_core * a.rebuild_parallelism)
    ) / 3600
    return [
        Figure("messages per day", messages_day, "", "daily users x messages per daily user"),
        Figure("messages per second, peak", messages_peak, "/s", "per day / 86,400 x peak"),
        Figure("events per day", events_day, "", "messages x events per message"),
        Figure("events per second, peak", events_peak, "/s", "= commands the sequencer takes"),
        Figure(
            "pushes of messages per second, peak",
            deliveries_peak,
            "/s",
            "messages/s x members x devices online (receipt pushes not counted)",
        ),
        Figure(
            "broker disk per day",
            broker_day / 1e9,
            "GB",
            "events x broker bytes per event x replication factor",
        ),
        Figure("hot log on the brokers", hot / 1e12, "TB", "per day x hot retention days"),
        Figure("cold Parquet per day", cold_day / 1e9, "GB", "events x Avro bytes / compression"),
        Figure("cold Parquet kept", cold / 1e12, "TB", "per day x cold retention days"),
        Figure(
            "hot share of stored bytes",
            100 * hot / (hot + cold),
            "%",
            "hot log (all replicas) / (hot log + cold Parquet)",
        ),
        Figure(
            "history view, one replica",
            history_replica / 1e12,
            "TB",
            "events x view bytes per event x hot retention days",
        ),
        Figure(
            "search index, one replica",
            search_replica / 1e12,
            "TB",
            "messages x index bytes per message x hot retention days",
        ),
        Figure(
            "sequencer cores",
            sequencer_cores,
            "",
            "events/s peak / (commands per core x utilisation)",
        ),
        Figure(
            "delivery cores (edge and fan-out)",
            delivery_cores,
            "",
            "pushes/s peak / (deliveries/s at the knee / cores it ran on)",
        ),
        Figure("edge processes for the connections", edge_processes, "", "2M / held per process"),
        Figure("edge memory for the connections", edge_ram_gib, "GiB", "2M x KiB per connection"),
        Figure(
            "edge nodes",
            edge_nodes,
            "",
            "max(edge processes, delivery cores) / cores per node",
        ),
        Figure(
            "projection cores per view",
            view_cores,
            "",
            "events/s peak / (rebuild events/s per core x utilisation)",
        ),
        Figure(
            "search indexing cores",
            search_cores,
            "",
            "messages/s peak / (messages indexed/s per core x utilisation)",
        ),
        Figure(
            "archive writer cores",
            archive_cores,
            "",
            "events/s peak / (archive events per CPU-second x utilisation)",
        ),
        Figure(
            "processor nodes",
            processor_nodes,
            "",
            "(sequencer cores + one view's cores + search indexing cores + archive cores) "
            "/ cores per node",
        ),
        Figure(
            "broker traffic, peak",
            broker_traffic,
            "MB/s",
            "ingress x (replication factor + consumer groups)",
        ),
        Figure(
            "brokers",
            brokers,
            "",
            "max(replication factor, hot log / usable disk, traffic / per-broker MB/s)",
        ),
        Figure(
            "history view rebuild, whole hot log",
            rebuild_hours,
            "h",
            "hot events / (rebuild events/s per core x partitions in parallel)",
        ),
    ]


def _plain(value: float) -> str:
    if isinstance(value, int) or value >= 100:
        return number(value)
    return number(value, 1)


def render(m: Measured, a: Assumptions) -> str:
    measured_rows = [
        (SOURCES[f.name][0], _plain(getattr(m, f.name)), SOURCES[f.name][1])
        for f in fields(Measured)
    ]
    assumed_rows = [
        (REASONS[f.name][0], _plain(getattr(a, f.name)), REASONS[f.name][1])
        for f in fields(Assumptions)
    ]
    figures = [(f.name, f"{_plain(f.value)} {f.unit}".strip(), f.how) for f in model(m, a)]
    return "\n\n".join(
        [
            BEGIN,
            "#### Measured (bench/results/)",
            table(["input", "value", "from"], measured_rows),
            "#### Assumed",
            table(["assumption", "value", "why"], assumed_rows),
            "#### What follows",
            table(["figure", "value", "how"], figures),
            END,
        ]
    )


def write_into(document: Path, generated: str) -> None:
    """Replaces the text between the markers (they must be there once)."""
    text = document.read_text()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
    if len(pattern.findall(text)) != 1:
        raise ValueError(f"{document} needs the capacity markers exactly once")
    document.write_text(pattern.sub(lambda _: generated, text))
