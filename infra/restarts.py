"""When the local supervisor starts a process again after it died, and when it stops trying.

A process that ran for at least `stable_s` before dying had a stable run: it is restarted
after `base_s`, and its count of fast crashes starts again. One that died sooner crashed
fast: each fast crash in a row doubles the delay (up to `max_s`), and after `give_up_after`
of them in a row the supervisor gives up on it, loudly, rather than hide a crash loop
behind ever-longer pauses. Pure: the supervisor (infra/supervisor.py) owns the clock.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RestartPolicy:
    base_s: float = 0.5
    max_s: float = 30.0
    stable_s: float = 30.0
    give_up_after: int = 5

    def __post_init__(self) -> None:
        if not 0 < self.base_s <= self.max_s:
            raise ValueError("restart delays need 0 < base_s <= max_s")
        if self.give_up_after < 1:
            raise ValueError("give_up_after must be at least 1")


@dataclass(frozen=True)
class Restart:
    delay_s: float
    fast_crashes: int


@dataclass(frozen=True)
class GiveUp:
    fast_crashes: int


def after_exit(policy: RestartPolicy, uptime_s: float, fast_crashes: int) -> Restart | GiveUp:
    """What to do about a process that exited after `uptime_s`, having crashed fast
    `fast_crashes` times in a row before this run."""
    if uptime_s >= policy.stable_s:
        return Restart(policy.base_s, 0)
    crashes = fast_crashes + 1
    if crashes >= policy.give_up_after:
        return GiveUp(crashes)
    return Restart(min(policy.base_s * 2 ** (crashes - 1), policy.max_s), crashes)
