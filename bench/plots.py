"""The benchmark plots (matplotlib, PNG): latency distributions and the load ramp."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, NullFormatter

from bench.chaos_figures import Timeline

PLAIN = FuncFormatter(lambda value, _: f"{value:g}")
"""Log axes labelled 50, 100, 200 rather than 5 x 10^1."""


def _cdf(ax: Axes, latencies: list[float], label: str) -> None:
    values = sorted(latencies)
    if values:
        ax.plot(values, [i / len(values) for i in range(len(values))], label=label)


def latency_cdf(path: Path, title: str, latencies: list[float]) -> None:
    latency_cdfs(path, title, {"all": latencies}, of="messages", legend=False)


def ramp(
    path: Path,
    steps: list[dict[str, Any]],
    latencies: list[list[float]],
    limit_ms: float,
    knee: int | None,
) -> None:
    """Left: p50, p95 and p99 against offered load, the limit and the knee. Right: the
    latency distribution of each step."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    rates = [s["rate_per_s"] for s in steps]
    for key, style in (("p50_ms", "o-"), ("p95_ms", "s-"), ("p99_ms", "^-")):
        left.plot(rates, [s[key] for s in steps], style, label=key.removesuffix("_ms"))
    left.axhline(limit_ms, color="red", linestyle="--", label=f"limit {limit_ms:.0f} ms")
    if knee is not None:
        left.axvline(knee, color="grey", linestyle=":", label=f"knee {knee}/s")
    left.set_yscale("log")
    left.yaxis.set_major_formatter(PLAIN)
    left.yaxis.set_minor_formatter(PLAIN)
    left.set_xlabel("offered load (messages/s)")
    left.set_ylabel("send -> receive latency (ms, log scale)")
    left.set_title("end-to-end latency against offered load")
    left.grid(True, which="both", alpha=0.3)
    left.legend()
    for step, values in zip(steps, latencies, strict=True):
        _cdf(right, values, f"{step['rate_per_s']}/s")
    right.axvline(limit_ms, color="red", linestyle="--")
    right.set_xscale("log")
    right.xaxis.set_major_formatter(PLAIN)
    right.xaxis.set_minor_formatter(NullFormatter())
    right.set_xlabel("latency (ms, log scale)")
    right.set_ylabel("fraction of deliveries")
    right.set_title("distribution per step")
    right.grid(True, which="both", alpha=0.3)
    right.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def media(path: Path, result: dict[str, Any], latencies: list[float]) -> None:
    """Left: 100 MiB upload time, boto3 direct against the pre-signed path (its parts and its
    complete). Middle: photos per second on one core, by size. Right: complete -> thumbnail."""
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(15, 4.5))
    upload = result["upload"]
    direct = sorted(upload["direct_s"])[len(upload["direct_s"]) // 2]
    rounds = upload["presigned"]
    transfer = sorted(r["transfer_s"] for r in rounds)[len(rounds) // 2]
    complete = sorted(r["complete_s"] for r in rounds)[len(rounds) // 2]
    parts = sorted(upload["direct_parts_s"])[len(upload["direct_parts_s"]) // 2]
    left.bar(["boto3\nupload_fileobj"], [direct], color="grey")
    left.bar(["boto3\nupload_part"], [parts], color="darkgrey")
    left.bar(["pre-signed\nPUTs"], [transfer], label="parts PUT to S3")
    left.bar(["pre-signed\nPUTs"], [complete], bottom=[transfer], label="complete (SHA-256, type)")
    left.set_ylabel("seconds for 100 MiB (median of rounds)")
    left.set_title(f"upload: time ratio {upload['ratio_presigned_to_direct_time']:.2f}")
    left.legend()
    sizes = result["photos_per_core"]
    middle.bar(
        [f"{p['width']}x{p['height']}" for p in sizes], [p["photos_per_s_per_core"] for p in sizes]
    )
    middle.set_ylabel("photos per CPU second, one pinned core")
    middle.set_title("image job: original, 2 sizes, BlurHash")
    _cdf(right, latencies, "photos")
    summary = result["complete_to_thumbnail"]
    right.set_xscale("log")
    right.xaxis.set_major_formatter(PLAIN)
    right.xaxis.set_minor_formatter(NullFormatter())
    right.set_xlabel("complete -> MediaProcessed readable (ms, log scale)")
    right.set_ylabel("fraction of photos")
    right.set_title(f"p50 {summary['p50_ms']:.0f} ms, p99 {summary['p99_ms']:.0f} ms")
    right.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def archive(path: Path, result: dict[str, Any]) -> None:
    """The saved queries' median times against the 2 s goal, with the writer's figures."""
    queries = result["queries"]
    fig, ax = plt.subplots(figsize=(9, 4))
    names = [q["query"] for q in queries]
    ax.barh(names, [q["median_s"] for q in queries], color="tab:blue", label="median")
    ax.errorbar(
        [q["median_s"] for q in queries],
        names,
        xerr=[
            [q["median_s"] - q["min_s"] for q in queries],
            [q["max_s"] - q["median_s"] for q in queries],
        ],
        fmt="none",
        ecolor="black",
        capsize=3,
    )
    goal = result["goals"]["query_s"]
    ax.axvline(goal, color="red", linestyle="--", label=f"goal {goal:g} s")
    ax.set_xlabel("seconds (median, min to max)")
    ax.set_title(
        f"saved queries on chdb over {result['events']:,} archived events; writer "
        f"{result['events_per_cpu_s']:,}/s per CPU-second, Avro/Parquet(table) "
        f"{result['avro_to_table_ratio']}",
        fontsize="small",
    )
    ax.legend()
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def chaos_timeline(path: Path, title: str, timeline: Timeline) -> None:
    """Top: acknowledgements and deliveries per second; middle: each send's time to its
    acknowledgement; bottom: how far behind each view was. A line at every kill."""
    fig, (rates, latency, views) = plt.subplots(3, 1, figsize=(13, 9), sharex=True)
    for label, points in (
        ("sends acknowledged", timeline.acked_per_s),
        ("messages yielded to devices", timeline.arrived_per_s),
    ):
        rates.plot([t for t, _ in points], [n for _, n in points], label=label, linewidth=0.8)
    rates.set_yscale("symlog")
    rates.yaxis.set_major_formatter(PLAIN)
    rates.set_ylabel("per second")
    rates.legend(loc="lower left", fontsize="small")
    latency.scatter(
        [t for t, _ in timeline.send_latency], [s for _, s in timeline.send_latency], s=2
    )
    latency.set_yscale("log")
    latency.yaxis.set_major_formatter(PLAIN)
    latency.set_ylabel("send to ack (s, log)")
    for view, behind in sorted(timeline.staleness.items()):
        views.plot([t for t, _ in behind], [s for _, s in behind], label=view, linewidth=0.8)
    views.set_ylabel("view behind by (s)")
    views.set_xlabel("seconds since the load began")
    views.legend(loc="upper left", fontsize="small")
    for ax in (rates, latency, views):
        ax.grid(True, alpha=0.3)
        for at, _ in timeline.faults:
            ax.axvline(at, color="red", linestyle=":", linewidth=0.8)
    for at, process in timeline.faults:
        rates.text(
            at,
            0.98,
            f" {process}",
            transform=rates.get_xaxis_transform(),
            rotation=90,
            fontsize=8,
            color="red",
            va="top",
        )
    rates.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def latency_cdfs(
    path: Path,
    title: str,
    latencies: dict[str, list[float]],
    *,
    of: str = "queries",
    legend: bool = True,
) -> None:
    """One latency distribution per label (the kinds of one benchmark), on a log axis."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, values in latencies.items():
        _cdf(ax, values, label)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(PLAIN)
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("latency (ms, log scale)")
    ax.set_ylabel(f"fraction of {of}")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    if legend:
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def hops(path: Path, steps: list[dict[str, Any]]) -> None:
    """The latency budget per hop: for each rate, the hops' p50 (left) and p99 (right)
    stacked in the order a message takes them. Percentiles of hops do not add up to the
    percentile of the whole; the stacks show where the time goes, the whole is its own bar."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    labels = [f"{s['rate_per_s']}/s" for s in steps]
    names = list(steps[0]["hops"]["hops"])
    colours = plt.get_cmap("tab10")
    for ax, key in zip(axes, ("p50_ms", "p99_ms"), strict=True):
        bottom = [0.0] * len(steps)
        for n, name in enumerate(names):
            values = [max(s["hops"]["hops"][name].get(key) or 0.0, 0.0) for s in steps]
            ax.bar(labels, values, bottom=bottom, label=name, color=colours(n), width=0.5)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        whole = [s["hops"]["send_to_receive"].get(key) or 0.0 for s in steps]
        ax.plot(labels, whole, "k_", markersize=40, mew=2, label="send -> receive, measured")
        ax.set_ylabel(f"{key.removesuffix('_ms')} of each hop (ms), stacked")
        ax.set_xlabel("offered load (messages/s)")
        ax.set_title(f"hop {key.removesuffix('_ms')}s, stacked")
        ax.grid(True, axis="y", alpha=0.3)
    axes[1].legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
