"""`python -m bench chaos` (one broker) and `python -m bench chaos-cluster` (three KRaft
brokers, topics at replication 3, min ISR 2): steady load across two edge nodes while each
process is killed in turn with kill -9 and restarted by the local supervisor
(infra/supervisor.py); per fault, what was lost or duplicated and how long until sends,
pushes and each view were back (bench/chaos_figures.py says exactly what each figure is).

Everything runs under the supervisor on a data directory and ports of its own
(PARLEY_DATA_DIR and the PARLEY_*_PORT variables, else .parley/<plan> and the ports
below), started fresh and stopped at the end. The clients are SDK devices in loader
processes (bench/chaos_load.py); a thread reads both views' stores as a RocksDB secondary
four times a second. After a kill the suite waits until the process is ready again and
messages flow as before (`inflict`), then `dwell_s` more (at most `fault_cap_s` in all),
and kills the next. Writes `<plan>.json` and `<plan>.png`.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, cast

from bench import plots, results
from bench.chaos_figures import Fault, Records, ViewSnapshot, World, figures, timeline
from bench.chaos_load import ChaosJob, Device, Order, drain, run_loader
from bench.edge import EdgeLoad, Population, populate
from bench.services import cheap_password_hashing
from infra import status, supervisor
from infra.platform import LocalPlatform
from infra.services import managed, stop_services
from infra.settings import REPO_ROOT, PlatformSettings
from projections.history.query import MAX_PAGE, HistoryReader
from projections.inbox.query import InboxReader
from projections.reader import ViewUnavailableError
from projections.search.query import SearchReader
from schemas import codec
from schemas import models as m


class LastSeqs(Protocol):
    """What the suite asks of a view's query side."""

    def last_seq(self, conversation_id: str) -> int: ...

    def close(self) -> None: ...


VIEWS: dict[str, Callable[[Path], LastSeqs]] = {
    "history": HistoryReader,
    "inbox": InboxReader,
    "search": SearchReader,
}
PROCESSORS = (
    "sequencer",
    "accounts",
    "fanout",
    "history",
    "inbox",
    "search",
    "archive",
    "expiry",
    "media-process",
    "media-sweep",
    "edge-1",
)
FLOWING_S = 5.0


@dataclass(frozen=True)
class ChaosPlan:
    name: str
    brokers: int
    faults: tuple[str, ...]
    rate_per_s: float = 100.0
    devices: int = 120
    """Two per person; half the people in groups of ten, the rest in pairs."""
    loaders: int = 2
    warmup_s: float = 20.0
    dwell_s: float = 10.0
    fault_cap_s: float = 150.0


SINGLE = ChaosPlan("chaos", 1, (*PROCESSORS, "kafka", "s3proxy"))
CLUSTER = ChaosPlan("chaos-cluster", 3, ("kafka-1", "kafka-2", "kafka-3"))
PLANS = {plan.name: plan for plan in (SINGLE, CLUSTER)}
DEFAULT_PORTS = {
    "PARLEY_KAFKA_PORT": 19392,
    "PARLEY_KAFKA_CONTROLLER_PORT": 19393,
    "PARLEY_S3_PORT": 19300,
    "PARLEY_EDGE_PORT": 18390,
    "PARLEY_METRICS_PORT": 19310,
}
"""Clear of `make run`, `make test` and the other benchmarks (a three-broker cluster takes
19392 to 19397)."""


def chaos_settings(plan: ChaosPlan) -> PlatformSettings:
    ports = {k: int(os.environ.get(k, v)) for k, v in DEFAULT_PORTS.items()}
    return PlatformSettings(
        data_dir=Path(os.environ.get("PARLEY_DATA_DIR", REPO_ROOT / ".parley" / plan.name)),
        kafka_port=ports["PARLEY_KAFKA_PORT"],
        kafka_controller_port=ports["PARLEY_KAFKA_CONTROLLER_PORT"],
        s3_port=ports["PARLEY_S3_PORT"],
        edge_port=ports["PARLEY_EDGE_PORT"],
        metrics_port=ports["PARLEY_METRICS_PORT"],
        kafka_brokers=plan.brokers,
        kafka_heap="512m" if plan.brokers > 1 else "768m",
        edge_nodes_local=2,
    )


class ViewWatch(threading.Thread):
    """Every view's last seq per conversation, read from its store four times a second;
    and the machine's load average, since other work on it shows in every figure."""

    def __init__(self, settings: PlatformSettings, conversations: list[str]) -> None:
        super().__init__(name="view-watch", daemon=True)
        self.paths = {
            view: settings.data_dir / "state" / f"{settings.topic_prefix}-{view}" for view in VIEWS
        }
        self.conversations = conversations
        self.snapshots: list[ViewSnapshot] = []
        self.load: list[float] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        readers: dict[str, LastSeqs] = {}
        try:
            while not self.stopping.wait(0.25):
                self.load.append(os.getloadavg()[0])
                for view, path in self.paths.items():
                    try:
                        reader = readers.get(view) or readers.setdefault(view, VIEWS[view](path))
                        seqs = {cid: reader.last_seq(cid) for cid in self.conversations}
                    except ViewUnavailableError:
                        continue
                    self.snapshots.append(ViewSnapshot(time.time(), view, seqs))
        finally:
            for reader in readers.values():
                reader.close()


class Loaders:
    """The loader processes and their two queues."""

    def __init__(self, jobs: list[ChaosJob]) -> None:
        spawn = multiprocessing.get_context("spawn")
        self.results = spawn.Queue()
        self.orders = [spawn.Queue() for _ in jobs]
        self.processes = [
            spawn.Process(target=run_loader, args=(job, orders, self.results))
            for job, orders in zip(jobs, self.orders, strict=True)
        ]
        self.progress: dict[int, dict[str, float]] = {}
        self.pending: list[dict[str, Any]] = []
        for process in self.processes:
            process.start()

    def order(self, order: Order, only: int | None = None) -> None:
        for index, orders in enumerate(self.orders):
            if only is None or index == only:
                orders.put(order)

    def poll(self) -> None:
        for report in drain(self.results):
            if "progress" in report:
                self.progress[report["loader"]] = report["progress"]
            else:
                self.pending.append(report)

    def answers(self, key: str, count: int, timeout_s: float) -> list[dict[str, Any]]:
        """The next `count` reports carrying `key`."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.poll()
            found = [r for r in self.pending if key in r]
            if len(found) >= count:
                self.pending = [r for r in self.pending if key not in r]
                return found
            dead = [p.exitcode for p in self.processes if p.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(f"a chaos loader exited (exit codes {dead})")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {key!r} from the loaders within {timeout_s:.0f} s")
            time.sleep(0.1)

    def through(self, moment: float) -> bool:
        """A message sent after `moment` has been acknowledged and pushed (any loader)."""
        self.poll()
        return any(p["last_acked_start"] > moment for p in self.progress.values()) and any(
            p["last_arrival_sent"] > moment for p in self.progress.values()
        )

    def close(self) -> None:
        for process in self.processes:
            process.join(30)
            if process.is_alive():
                process.terminate()


def fresh_platform(settings: PlatformSettings) -> None:
    """Whatever an earlier run left on this data directory stopped, the directory removed."""
    supervisor.shut_down(settings)
    stop_services(settings)
    LocalPlatform(settings).stop()
    shutil.rmtree(settings.data_dir, ignore_errors=True)


def wait_healthy(settings: PlatformSettings, timeout_s: float) -> status.SupervisorStatus:
    deadline = time.monotonic() + timeout_s
    run_dir = settings.data_dir / "run"
    while True:
        current = status.read(run_dir)
        if current is not None and status.healthy(current, supervisor_alive=True):
            return current
        if time.monotonic() > deadline:
            table = status.table(current, True) if current else "no status"
            raise TimeoutError(f"the platform was not ready within {timeout_s:.0f} s:\n{table}")
        time.sleep(0.5)


def inflict(settings: PlatformSettings, loaders: Loaders, process: str, plan: ChaosPlan) -> Fault:
    """kill -9 `process`; back once it is ready again and messages flow as before (one sent
    in the last `FLOWING_S` acknowledged and pushed: any backlog drained), plus the dwell."""
    run_dir = settings.data_dir / "run"
    before = status.read(run_dir)
    child = before.child(process) if before else None
    if child is None:
        raise RuntimeError(f"the supervisor runs no {process}")
    print(f"[chaos] kill -9 {process} (pid {child.pid})", flush=True)
    at = time.time()
    managed(settings, process).kill()
    restarted_at = ready_at = recovered_at = None
    while time.time() - at < plan.fault_cap_s:
        time.sleep(0.25)
        current = status.read(run_dir)
        now_child = current.child(process) if current else None
        if now_child is None:
            continue
        if restarted_at is None and now_child.restarts > child.restarts and now_child.started_at:
            restarted_at = now_child.started_at
        if restarted_at is not None and ready_at is None and status.ready(now_child):
            ready_at = time.time()
        flowing = loaders.through(max(at, time.time() - FLOWING_S))
        if recovered_at is None and ready_at is not None and flowing:
            recovered_at = time.time()
            print(f"[chaos] {process}: back after {recovered_at - at:.1f} s", flush=True)
        if recovered_at is not None and time.time() - recovered_at >= plan.dwell_s:
            break
    else:
        print(f"[chaos] {process}: not back within {plan.fault_cap_s:.0f} s", flush=True)
    return Fault(process, at, restarted_at, ready_at)


def history_holds(settings: PlatformSettings, conversations: list[str]) -> set[tuple[str, int]]:
    """Every (conversation, seq) the history view holds: what a client can still fetch."""
    path = settings.data_dir / "state" / f"{settings.topic_prefix}-history"
    held: set[tuple[str, int]] = set()
    with HistoryReader(path) as reader:
        for cid in conversations:
            after = 0
            while page := reader.page(cid, after=after, limit=MAX_PAGE):
                seqs = [cast(m.Event, codec.decode(raw)).meta.seq for raw in page]
                held.update((cid, seq) for seq in seqs)
                after = seqs[-1]
    return held


def populated(urls: list[str], load: EdgeLoad, attempts: int = 3) -> Population:
    """The people, their devices and conversations; tried again (with new people) when the
    platform was still too slow to answer, as a freshly started cluster can be."""
    for _ in range(attempts - 1):
        try:
            return asyncio.run(populate(urls, load))
        except RuntimeError as e:
            print(f"[chaos] setting up the people failed ({e}); again", flush=True)
    return asyncio.run(populate(urls, load))


def loader_jobs(
    plan: ChaosPlan, urls: list[str], population: Population, out_dir: Path
) -> list[ChaosJob]:
    """Every other device to each loader, so each loader holds devices on both edges."""
    devices: list[Device] = [
        (i, node, token, population.device_user[i])
        for i, (node, token) in enumerate(population.tokens)
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        ChaosJob(
            i,
            urls,
            devices[i :: plan.loaders],
            population.conversations,
            plan.rate_per_s / plan.loaders,
            str(out_dir / f"{plan.name}-loader{i}.log"),
        )
        for i in range(plan.loaders)
    ]


def wind_down(loaders: Loaders, plan: ChaosPlan) -> tuple[list[int], list[dict[str, Any]]]:
    """Stop sending and wait for the sends in flight; one more message in every
    conversation, until every device holds it; then every loader's records. Returns the
    devices still behind, and the reports."""
    loaders.order(Order("stop"))
    loaders.answers("stopped", plan.loaders, 120)
    loaders.order(Order("sweep"), only=0)
    (swept,) = loaders.answers("sweep", 1, 120)
    loaders.order(Order("await", swept["sweep"]))
    behind = [d for r in loaders.answers("behind", plan.loaders, 180) for d in r["behind"]]
    loaders.order(Order("report"))
    return behind, loaders.answers("records", plan.loaders, 120)


def run(plan: ChaosPlan, out_dir: Path) -> dict[str, Any]:
    settings = chaos_settings(plan)
    faults_wanted = [
        f for f in plan.faults if settings.runs_local_kafka or not f.startswith("kafka")
    ]
    print(f"[chaos] {plan.name}: a fresh platform under {settings.data_dir}", flush=True)
    fresh_platform(settings)
    cheap_password_hashing()
    supervisor.launch(settings)
    loaders: Loaders | None = None
    watch: ViewWatch | None = None
    try:
        wait_healthy(settings, 180)
        urls = [f"http://127.0.0.1:{settings.edge_port + n}" for n in range(2)]
        load = EdgeLoad(plan.name, steps=(), devices=plan.devices)
        population = populated(urls, load)
        jobs = loader_jobs(plan, urls, population, out_dir)
        loaders = Loaders(jobs)
        loaders.answers("connected", plan.loaders, 120)
        watch = ViewWatch(settings, list(population.conversations))
        watch.start()
        began = time.time()
        loaders.order(Order("load"))
        print(
            f"[chaos] {plan.rate_per_s:.0f} messages/s; warm-up {plan.warmup_s:.0f} s", flush=True
        )
        time.sleep(plan.warmup_s)
        faults = [inflict(settings, loaders, name, plan) for name in faults_wanted]
        ended = time.time()
        behind, reports = wind_down(loaders, plan)
        in_history = history_holds(settings, list(population.conversations))
    finally:
        if watch is not None:
            watch.stopping.set()
            watch.join(10)
        if loaders is not None:
            loaders.close()
        supervisor.shut_down(settings)
    records = Records(snapshots=watch.snapshots if watch else [], in_history=in_history)
    for report in reports:
        records.sends += report["records"]["sends"]
        records.arrivals += report["records"]["arrivals"]
        records.reconnects += report["records"]["reconnects"]
    world = World(population.conversations, population.user_devices)
    figured = figures(world, records, faults, ended)
    result = {
        "benchmark": plan.name,
        "plan": asdict(plan),
        "brokers": plan.brokers,
        "edge_nodes": 2,
        "devices": plan.devices,
        "conversations": len(population.conversations),
        "started_at": began,
        "load_average_1m": {
            "cpus": os.cpu_count(),
            "median": sorted(watch.load)[len(watch.load) // 2] if watch and watch.load else None,
            "max": max(watch.load) if watch and watch.load else None,
        },
        "devices_behind_after_sweep": behind,
        "skipped_sends": sum(r["records"]["skipped"] for r in reports),
        "stream_failures": [f for r in reports for f in r["records"]["stream_failures"]],
        **figured,
    }
    results.write(result, out_dir, plan.name)
    plots.chaos_timeline(
        out_dir / f"{plan.name}.png",
        f"{plan.name}: kill -9 of each process at {plan.rate_per_s:.0f} messages/s",
        timeline(world, records, faults, began),
    )
    return result
