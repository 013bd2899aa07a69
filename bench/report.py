"""REPORT.md: the suite's results as markdown tables and plots, with the machine they ran on.

Rendering is pure (suite record and results in, text out) so it is tested without a run,
and `python -m bench report` renders again from the JSON files already written.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

SUITE = "suite"
SEQUENCER = "sequencer-full"
RAMP = "edge-ramp"
HOPS = "edge-hops"
IDLE = "idle-full"
REBUILD = "rebuild-full"
BACKFILL = "backfill-full"
LAG = "projection-lag-full"
SEARCH = "search"
ARCHIVE_LAG = "archive-lag-full"


def number(value: Any, digits: int = 0) -> str:
    """1234.5 -> "1,235" (digits=0) or "1,234.5"; missing or NaN -> "-"."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "-" if value is None else str(value)
    if math.isnan(value):
        return "-"
    return f"{value:,.{digits}f}"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
    ]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _missing(name: str, suite: dict[str, Any]) -> str:
    part = next((p for p in suite.get("parts", []) if p["name"] == name), None)
    if part is None:
        return "Not run in this suite.\n"
    return f"Not measured: {part.get('error', part.get('status', 'no result'))}.\n"


def machine_section(suite: dict[str, Any]) -> str:
    m = suite.get("machine", {})
    rows = [
        ("CPU", f"{m.get('cpu_model')}, {m.get('cores')} cores ({m.get('machine')})"),
        ("memory", f"{m.get('memory_gib')} GiB"),
        ("kernel", m.get("kernel")),
        ("Python", m.get("python")),
        ("Java", m.get("java")),
        ("Kafka", f"{m.get('kafka')} (one KRaft node, 1 GiB heap, replication factor 1)"),
        ("librdkafka / confluent-kafka", f"{m.get('librdkafka')} / {m.get('confluent_kafka')}"),
        (
            "code",
            f"commit {m.get('git_commit')}"
            + (
                f" with {m['git_changes_uncommitted']} uncommitted file(s)"
                if m.get("git_changes_uncommitted")
                else ""
            ),
        ),
    ]
    text = "## Machine\n\n" + table(["", ""], rows) + "\n\n"
    text += (
        "Kafka, S3, every Parley process and every load generator share these cores; where a "
        "benchmark pins the process under test to one core it says so.\n\n"
    )
    return text


def busy_section(suite: dict[str, Any]) -> str:
    samples = [("before", suite.get("busy_before")), ("after", suite.get("busy_after"))]
    rows = [
        (
            when,
            s["at"],
            " / ".join(number(v, 2) for v in s["load_average_1_5_15"]),
            f"{number(100 * s['cpu_busy_share'], 0)}% over {number(s['sampled_seconds'])} s",
        )
        for when, s in samples
        if s
    ]
    text = "## Other work on the machine\n\n"
    text += table(["", "at", "load average 1 / 5 / 15 min", "cores busy, suite idle"], rows)
    text += "\n\n"
    during = [
        (
            p["name"],
            f"{number(100 * w['other_share_of_machine'])}%",
            number(w["other_cpu_seconds"]),
            "; ".join(f"`{argv[:60]}` {number(s)} s" for argv, s in w["other_busiest"]) or "-",
        )
        for p in suite.get("parts", [])
        if (w := p.get("other_work"))
    ]
    if during:
        text += (
            "During each part, the CPU time of processes that are not the suite's (told apart "
            "by working directory, sampled each second):\n\n"
        )
        text += table(
            ["part", "machine taken by other work", "their CPU seconds", "busiest"], during
        )
        text += "\n\n"
    if suite.get("other_work_running"):
        text += (
            "**Other work was running** on this machine before, during or after the suite "
            "(other engineers' tests): the figures below were measured with it and are lower "
            "than this machine gives when it is otherwise idle.\n\n"
        )
    else:
        text += (
            "The machine was otherwise idle before, during and after the suite (the load "
            "averages still show the suite itself).\n\n"
        )
    return text


def summary_section(results: dict[str, dict[str, Any] | None]) -> str:
    rows: list[tuple[str, str, str, str]] = []
    if edge := results.get(RAMP):
        knee = edge.get("knee_rate_per_s")
        rows.append(
            (
                "end to end, 1,000 devices on 2 edges",
                "knee: highest offered load with p99 <= 150 ms",
                f"{number(knee)} messages/s" if knee is not None else "below the first step",
                "",
            )
        )
        if step := _step_at(edge, knee):
            rows.append(
                (
                    "",
                    f"deliveries at the knee ({number(knee)}/s)",
                    f"{number(step['deliveries_per_s'])}/s, p50 {number(step['p50_ms'])} ms, "
                    f"p99 {number(step['p99_ms'])} ms",
                    "p99 <= 150 ms",
                )
            )
    if idle := results.get(IDLE):
        rows.append(
            (
                "idle connections, one edge process",
                "held / memory each",
                f"{number(idle['held_by_edge'])} / {number(idle['kib_per_connection'], 1)} KiB",
                "19,000 / <= 20 KiB",
            )
        )
    if seq := results.get(SEQUENCER):
        rows.append(
            (
                "sequencer, one core",
                "commands/s from a backlog",
                number(seq["throughput_commands_per_s"]),
                "10,000",
            )
        )
        rows.append(
            (
                "",
                f"added latency p99 at {number(seq['latency_rate_per_s'])}/s",
                f"{number(seq['p99_ms'])} ms",
                "<= 15 ms",
            )
        )
    if rebuild := results.get(REBUILD):
        rows.append(
            (
                "history projection rebuild, one core",
                "events/s from offset 0",
                number(rebuild["events_per_s_median"]),
                "",
            )
        )
    if fill := results.get(BACKFILL):
        rows.append(
            (
                "sync backfill",
                f"{number(fill['messages'])} missed messages in "
                f"{number(fill['conversations'])} conversations",
                f"{number(fill['seconds_median'], 2)} s, "
                f"{number(fill['bytes_in_per_event'])} B per event",
                "<= 1 s",
            )
        )
    if lag := results.get(LAG):
        for view in ("history", "inbox"):
            rows.append(
                (
                    f"projection lag, {view} view",
                    f"log-visible to view-visible at {number(lag['rate_per_s'])} messages/s",
                    f"p50 {number(lag[view]['p50_ms'], 1)} ms, "
                    f"p99 {number(lag[view]['p99_ms'], 1)} ms",
                    "p99 <= 50 ms",
                )
            )
    if found := results.get(SEARCH):
        rows += _search_rows(found)
    if archive := results.get(ARCHIVE_LAG):
        rows.append(
            (
                "archive lag",
                f"log-visible to in an S3 object at {number(archive['rate_per_s'])} messages/s",
                f"p50 {number(archive['lag_s']['p50_s'], 1)} s, "
                f"p99 {number(archive['lag_s']['p99_s'], 1)} s, "
                f"max {number(archive['lag_s']['max_s'], 1)} s",
                f"<= {number(archive['goal_s'])} s",
            )
        )
    return "## Summary\n\n" + table(["benchmark", "figure", "measured", "goal"], rows) + "\n\n"


def _search_rows(found: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    indexing, queries = found["indexing"], found["queries"]
    rows = [
        (
            "search view, one pinned core",
            f"messages indexed per second (per CPU second), {number(indexing['messages'])}",
            f"{number(indexing['messages_per_s'])} ({number(indexing['messages_per_cpu_s'])})",
            number(found["goals"]["messages_per_s_per_core"]),
        ),
        (
            "",
            "query p99: " + " / ".join(queries),
            " / ".join(number(q["p99_ms"], 1) for q in queries.values()) + " ms",
            f"<= {number(found['goals']['query_p99_ms'])} ms",
        ),
    ]
    if lag := found.get("lag"):
        rows.append(
            (
                "",
                f"index lag, log-visible to searchable at {number(lag['rate_per_s'])}/s",
                f"p50 {number(lag['p50_ms'], 1)} ms, p99 {number(lag['p99_ms'], 1)} ms",
                f"p99 <= {number(found['goals']['lag_p99_ms'])} ms",
            )
        )
    return rows


def _step_at(edge: dict[str, Any], rate: int | None) -> dict[str, Any] | None:
    return next((s for s in edge.get("steps", []) if s["rate_per_s"] == rate), None)


def ramp_section(edge: dict[str, Any] | None, suite: dict[str, Any]) -> str:
    text = f"## End-to-end latency against offered load (`{RAMP}.json`)\n\n"
    if edge is None:
        return text + _missing(RAMP, suite)
    text += (
        f"{number(edge['devices'])} devices (two per person) on {edge.get('edge_nodes', 2)} "
        f"edge nodes, {number(edge['conversations'])} conversations (half the people in "
        "groups of ten, half in 1:1). Each step sends at a fixed rate for its warm-up and "
        "measured seconds, then waits for stragglers; latency is from the send call to the "
        "push on every member device (the sender's other device included). The ramp stops "
        f"after the first step with p99 over {number(edge.get('p99_limit_ms'))} ms.\n\n"
    )
    rows = [
        (
            number(s["rate_per_s"]),
            number(s["achieved_rate_per_s"]),
            f"{number(s['warmup_seconds'])} + {number(s['seconds'])} s",
            number(s["deliveries_per_s"]),
            " / ".join(number(s[k]) for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")),
            f"{number(s['lost'])} / {number(s['duplicated'])}",
            ", ".join(f"{k}: {v}" for k, v in s.get("errors", {}).items()) or "-",
        )
        for s in edge["steps"]
    ]
    text += table(
        [
            "offered (msg/s)",
            "sent (msg/s)",
            "warm-up + measured",
            "deliveries/s",
            "p50 / p95 / p99 / max (ms)",
            "lost / duplicated",
            "errors",
        ],
        rows,
    )
    knee = edge.get("knee_rate_per_s")
    text += "\n\n" + (
        f"**Knee: {number(knee)} messages/s** (the highest step with p99 <= "
        f"{number(edge.get('p99_limit_ms'))} ms).\n\n"
        if knee is not None
        else "**No knee:** the first step was already over the limit.\n\n"
    )
    return text + f"![latency against load]({RAMP}.png)\n\n"


def hops_section(run: dict[str, Any] | None, suite: dict[str, Any]) -> str:
    text = f"## Where the time goes: a budget per hop (`{HOPS}.json`)\n\n"
    if run is None:
        return text + _missing(HOPS, suite)
    steps = [s for s in run["steps"] if "hops" in s]
    text += (
        "The end-to-end load at each rate, every measured message stamped at each hop by "
        "the records themselves (bench/hops.py says which stamp is which). p50 / p99 of each "
        "hop in ms; hops under 1 ms read as 0 or 1 (record timestamps are milliseconds).\n\n"
    )
    header = ["hop", *(f"{number(s['rate_per_s'])}/s p50 / p99" for s in steps)]
    names = list(steps[0]["hops"]["hops"]) if steps else []
    rows = [
        (
            name,
            *(
                f"{number(s['hops']['hops'][name]['p50_ms'], 1)} / "
                f"{number(s['hops']['hops'][name]['p99_ms'], 1)}"
                for s in steps
            ),
        )
        for name in names
    ]
    rows.append(
        (
            "**send -> receive**",
            *(
                f"{number(s['hops']['send_to_receive']['p50_ms'], 1)} / "
                f"{number(s['hops']['send_to_receive']['p99_ms'], 1)}"
                for s in steps
            ),
        )
    )
    rows.append(
        (
            "platform CPU per message",
            *(f"{number(s.get('platform_cpu_us_per_message'))} us" for s in steps),
        )
    )
    text += table(header, rows) + "\n\n"
    roles = sorted({r for s in steps for r in s.get("cpu_us_per_message", {})})
    text += "CPU per message sent, by process (us; the load generator shares the cores):\n\n"
    text += table(
        ["process", *(f"{number(s['rate_per_s'])}/s" for s in steps)],
        [(r, *(number(s["cpu_us_per_message"].get(r)) for s in steps)) for r in roles],
    )
    rest = run.get("at_rest", {})
    text += (
        f"\n\nAt rest (every device connected, nobody sending) the platform took "
        f"{number(100 * rest.get('platform_share_of_core', float('nan')), 1)}% of a core.\n\n"
    )
    return text + f"![latency budget per hop]({HOPS}-budget.png)\n\n"


def idle_section(idle: dict[str, Any] | None, suite: dict[str, Any]) -> str:
    text = f"## Idle connections on one edge process (`{IDLE}.json`)\n\n"
    if idle is None:
        return text + _missing(IDLE, suite)
    rows = [
        (
            "connections opened / held by the edge",
            f"{number(idle['opened'])} / "
            f"{number(idle['held_by_edge'])} of {number(idle['target'])}",
        ),
        ("failed to open", number(idle["failures"])),
        ("seconds to open them", number(idle["seconds_to_open"], 1)),
        ("seconds until the edge held them all", number(idle.get("seconds_until_held"), 1)),
        (
            "edge RSS before / after",
            f"{number(idle['edge_rss_before_mib'], 1)} / "
            f"{number(idle['edge_rss_after_mib'], 1)} MiB",
        ),
        ("memory per connection", f"{number(idle['kib_per_connection'], 1)} KiB"),
    ]
    return text + table(["", ""], rows) + "\n\n"


def sequencer_section(seq: dict[str, Any] | None, suite: dict[str, Any]) -> str:
    text = f"## Sequencer (`{SEQUENCER}.json`)\n\n"
    if seq is None:
        return text + _missing(SEQUENCER, suite)
    pinned = "pinned to one core" if seq.get("pinned_to_one_core") else "not pinned"
    rows = [
        (
            "throughput from a backlog",
            f"{number(seq['throughput_commands_per_s'])} commands/s "
            f"({number(seq['backlog_commands'])} commands, {pinned})",
        ),
        (
            f"added latency at {number(seq['latency_rate_per_s'])}/s, p50 / p95 / p99 / max",
            " / ".join(number(seq[k]) for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")) + " ms",
        ),
        (
            "of the p50: command -> event produced, produced -> visible",
            f"{number(seq.get('command_to_event_produced_p50_ms'), 1)} ms, "
            f"{number(seq.get('event_produced_to_visible_p50_ms'), 1)} ms",
        ),
        (
            "lost / duplicated",
            f"{number(seq['lost'])} / {number(seq['duplicated'])} of {number(seq['sent'])}",
        ),
        ("sequencer RSS", f"{number(seq['sequencer_rss_mib'])} MiB"),
    ]
    return text + table(["", ""], rows) + f"\n\n![sequencer latency]({SEQUENCER}.png)\n\n"


def rebuild_section(rebuild: dict[str, Any] | None, suite: dict[str, Any]) -> str:
    text = f"## History projection rebuild (`{REBUILD}.json`)\n\n"
    if rebuild is None:
        return text + _missing(REBUILD, suite)
    text += (
        f"{number(rebuild['events'])} events ({number(rebuild['conversations'])} conversations, "
        f"{number(rebuild['event_bytes_avg'])} B of Avro each on average, "
        f"{number(rebuild.get('broker_bytes_per_event'))} B each in the broker's log segments) "
        "replayed from offset 0 by `python -m projections.history rebuild`, timed from "
        "partition assignment to ready.\n\n"
    )
    rows = [
        (
            n + 1,
            number(r["seconds"], 2),
            number(r["events_per_s"]),
            number(r["seconds_from_process_start"], 2),
            f"{number(r['store_bytes'] / 1024 / 1024, 1)} MiB",
            "yes" if r.get("pinned_to_one_core") else "no",
        )
        for n, r in enumerate(rebuild["runs"])
    ]
    text += table(
        ["run", "seconds", "events/s", "seconds from process start", "store", "one core"], rows
    )
    return text + (
        f"\n\nMedian: **{number(rebuild['events_per_s_median'])} events/s**; the store holds "
        f"{number(rebuild['store_bytes_per_event'])} B per event right after the rebuild "
        "(RocksDB files including its write-ahead log).\n\n"
    )


def backfill_section(fill: dict[str, Any] | None, suite: dict[str, Any]) -> str:
    text = f"## Sync backfill (`{BACKFILL}.json`)\n\n"
    if fill is None:
        return text + _missing(BACKFILL, suite)
    text += (
        f"A device missed {number(fill['messages'])} messages in "
        f"{number(fill['conversations'])} conversations and catches up over its WebSocket "
        f"with `{fill['method']}` (`sync`: up to {fill.get('sync_limit', '-')} events per "
        f"answer, one request at a time; `fetch_history`: pages of up to "
        f"{fill['page_limit']} events, {fill['parallel_requests']} requests in flight), "
        "after a cursor per conversation.\n\n"
    )
    rows = [
        (
            n + 1,
            number(r["seconds"], 2),
            number(r["events"]),
            number(r["requests"]),
            f"{number(r['bytes_in'] / 1024, 0)} KiB",
            number(r["bytes_in_per_event"]),
            f"{number(r['bytes_out'] / 1024, 0)} KiB",
            "yes" if r["complete"] else f"no ({r['conversations_with_gaps']} with gaps)",
        )
        for n, r in enumerate(fill["runs"])
    ]
    text += table(
        ["run", "seconds", "events", "requests", "in", "B/event", "out", "complete"], rows
    )
    text += (
        f"\n\nMedian: **{number(fill['seconds_median'], 2)} s**, "
        f"{number(fill['events_per_s_median'])} events/s.\n\n"
    )
    for method, other in fill.get("compared", {}).items():
        text += (
            f"The same catch-up by `{method}`, in the same run: median "
            f"{number(other['seconds_median'], 2)} s, {number(other['requests'])} requests, "
            f"{number(other['bytes_in_per_event'])} B per event.\n\n"
        )
    return text


def lag_section(lag: dict[str, Any] | None, suite: dict[str, Any]) -> str:
    text = f"## Projection lag (`{LAG}.json`)\n\n"
    if lag is None:
        return text + _missing(LAG, suite)
    text += (
        f"The sequencer and both views on fresh topics; {number(lag['rate_per_s'])} messages/s "
        f"for {number(lag['seconds'])} s over {number(lag['conversations'])} conversations. "
        "Lag is from the moment a `read_committed` consumer sees an event in the log to the "
        "moment the view's RocksDB secondary (as the edge reads it) shows it, for "
        f"{number(lag['events_measured'])} events.\n\n"
    )
    rows = [
        (
            view,
            number(lag[view]["p50_ms"], 1),
            number(lag[view]["p95_ms"], 1),
            number(lag[view]["p99_ms"], 1),
            number(lag[view]["max_ms"], 1),
            number(lag[view].get("since_produced", {}).get("p99_ms"), 1),
            number(lag[view]["never_visible"]),
            f"{number(lag.get(f'{view}_rss_mib'), 1)} MiB",
        )
        for view in ("history", "inbox")
    ]
    header = ["view", "p50 ms", "p95 ms", "p99 ms", "max ms", "p99 ms since produced"]
    return (
        text
        + table([*header, "never visible", "RSS"], rows)
        + "\n\n*Since produced* measures from the record's timestamp, stamped by the "
        "sequencer before its transaction commits: an upper bound that includes the commit. "
        "A view can show an event before the benchmark's own reader does; such events count "
        "as 0 ms.\n\n"
    )


def search_section(found: dict[str, Any] | None, suite: dict[str, Any]) -> str:
    text = f"## Search (`{SEARCH}.json`)\n\n"
    if found is None:
        return text + _missing(SEARCH, suite)
    load, indexing = found["load"], found["indexing"]
    text += (
        f"{number(load['messages'])} messages in {number(load['conversations'])} conversations "
        "from real word frequency lists of ten languages, indexed by the view's own batches "
        f"({number(load['batch'])} events a commit) on one pinned core; the searcher is in "
        f"{number(load['member_of'])} conversations, and each query runs end to end (ACL "
        "checks against the history view and snippets included).\n\n"
    )
    rows = [
        ("messages/s, wall clock", number(indexing["messages_per_s"])),
        (
            "messages per CPU second (all the process's threads)",
            number(indexing["messages_per_cpu_s"]),
        ),
        ("index bytes per message", number(indexing["index_bytes_per_message"], 1)),
        (
            "decoding, the follower's cost before `add`",
            f"{number(found['follower_decode_us_per_event'], 1)} µs/event",
        ),
    ]
    text += table(["indexing", ""], rows) + "\n\n"
    queries = [
        (
            kind,
            f"`{q['example']}`",
            number(q["p50_ms"], 1),
            number(q["p99_ms"], 1),
            number(q["median_estimated_total"]),
        )
        for kind, q in found["queries"].items()
    ]
    text += table(["query", "example", "p50 ms", "p99 ms", "median estimated total"], queries)
    if lag := found.get("lag"):
        text += (
            f"\n\n**Index lag** at {number(lag['rate_per_s'])} messages/s for "
            f"{number(lag['seconds'])} s over {number(lag['conversations'])} conversations (the "
            "sequencer and the search view on fresh topics; from a `read_committed` consumer "
            "seeing the event to a `SearchReader` finding it applied), "
            f"{number(lag['events_measured'])} events: p50 {number(lag['p50_ms'], 1)} ms, "
            f"p95 {number(lag['p95_ms'], 1)} ms, p99 {number(lag['p99_ms'], 1)} ms, max "
            f"{number(lag['max_ms'], 1)} ms; never visible: {number(lag['never_visible'])}; "
            f"search view RSS {number(lag.get('search_rss_mib'), 1)} MiB."
        )
    return text + f"\n\n![search query latency]({SEARCH}.png)\n\n"


def archive_lag_section(lag: dict[str, Any] | None, suite: dict[str, Any]) -> str:
    text = f"## Archive lag (`{ARCHIVE_LAG}.json`)\n\n"
    if lag is None:
        return text + _missing(ARCHIVE_LAG, suite)
    text += (
        f"The sequencer and the archive process (default settings: an object closes after "
        f"60 s open) on fresh topics of {number(lag['partitions'])} partitions; "
        f"{number(lag['rate_per_s'])} messages/s for {number(lag['seconds'])} s. Lag is from "
        "the moment a `read_committed` consumer sees an event in the log to the first listing "
        f"of S3 (every {lag['list_interval_s']} s) that shows an object holding it, for "
        f"{number(lag['events_measured'])} events in {number(lag['objects'])} objects.\n\n"
    )
    row = (
        *(number(lag["lag_s"][k], 1) for k in ("p50_s", "p95_s", "p99_s", "max_s")),
        number(lag["never_archived"]),
        number(lag["archive_cpu_s_per_load_s"], 3),
        f"{number(lag['archive_rss_mib'], 1)} MiB",
    )
    header = ["p50 s", "p95 s", "p99 s", "max s", "never archived", "archive CPU s/s", "RSS"]
    return text + table(header, [row]) + "\n\n"


def commands_section(suite: dict[str, Any]) -> str:
    rows = [
        (
            p["name"],
            f"`{p['command']}`",
            number(p.get("seconds"), 0),
            number(p.get("budget_s"), 0),
            p.get("status", "-"),
        )
        for p in suite.get("parts", [])
    ]
    text = "## Commands\n\n"
    text += (
        f"The whole suite: `{suite.get('command')}` ({number(suite.get('seconds'))} s, started "
        f"{suite.get('started')}). Each part alone, on a platform of its own:\n\n"
    )
    text += table(["part", "command", "seconds", "budget (s)", "status"], rows) + "\n\n"
    return text


def render(suite: dict[str, Any], results: dict[str, dict[str, Any] | None]) -> str:
    return "".join(
        [
            "# Parley benchmark report\n\n",
            "Written by `python -m bench suite` from the JSON files beside it; the reading of "
            "these figures is in [README.md](README.md), the capacity model built on them in "
            "[docs/capacity.md](../../docs/capacity.md).\n\n",
            summary_section(results),
            machine_section(suite),
            busy_section(suite),
            ramp_section(results.get(RAMP), suite),
            hops_section(results.get(HOPS), suite),
            idle_section(results.get(IDLE), suite),
            sequencer_section(results.get(SEQUENCER), suite),
            rebuild_section(results.get(REBUILD), suite),
            backfill_section(results.get(BACKFILL), suite),
            lag_section(results.get(LAG), suite),
            search_section(results.get(SEARCH), suite),
            archive_lag_section(results.get(ARCHIVE_LAG), suite),
            commands_section(suite),
        ]
    )
