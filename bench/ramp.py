"""The load ramp's rules: named steps of offered load, when to stop, and where the knee is.

A step is one offered rate held for a fixed time. The ramp climbs the steps in order; a
step whose p99 is over the limit runs once more (one noisy second on a shared machine is
not a knee), and the ramp stops when the repeat is over too. The knee is the highest rate
within the limit before that. Pure, so it is tested without a cluster.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

P99_LIMIT_MS = 150.0
"""The brief's bound: p99 send-to-receive under 150 ms within a region."""

RAMP_RATES = (50, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2000)
"""Offered messages per second, lowest first."""


@dataclass(frozen=True)
class Step:
    name: str
    rate_per_s: int
    warmup_seconds: float
    seconds: float
    drain_seconds: float

    @property
    def bound_seconds(self) -> float:
        """The longest a step may take once its loaders are connected."""
        return self.warmup_seconds + self.seconds + self.drain_seconds + 60.0


def steps(
    rates: Sequence[int], *, warmup_seconds: float, seconds: float, drain_seconds: float
) -> list[Step]:
    if list(rates) != sorted(set(rates)) or not rates or rates[0] <= 0:
        raise ValueError(f"rates must be positive and strictly rising: {list(rates)}")
    return [Step(f"{rate}-per-s", rate, warmup_seconds, seconds, drain_seconds) for rate in rates]


def passed(result: dict[str, Any], limit_ms: float = P99_LIMIT_MS) -> bool:
    """Within the limit: p99 measured (some deliveries arrived) and at most `limit_ms`."""
    p99 = result.get("p99_ms")
    return isinstance(p99, int | float) and not math.isnan(p99) and p99 <= limit_ms


def knee(results: Sequence[dict[str, Any]], limit_ms: float = P99_LIMIT_MS) -> int | None:
    """The highest offered rate with p99 within the limit, counting only the steps before
    the first that failed (a lucky step after a failure is not a knee; a step that failed
    and passed on its repeat passed); None if the first step failed already."""
    best: int | None = None
    for n, result in enumerate(results):
        repeated = n + 1 < len(results) and results[n + 1]["rate_per_s"] == result["rate_per_s"]
        if not passed(result, limit_ms) and repeated:
            continue  # its repeat decides
        if not passed(result, limit_ms):
            break
        rate = int(result["rate_per_s"])
        best = rate if best is None else max(best, rate)
    return best


def should_stop(result: dict[str, Any], limit_ms: float = P99_LIMIT_MS) -> bool:
    return not passed(result, limit_ms)
