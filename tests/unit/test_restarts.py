"""The supervisor's restart policy: exponential backoff, reset by a stable run, and a
crash loop given up on rather than hidden behind ever-longer pauses."""

from __future__ import annotations

import pytest

from infra.restarts import GiveUp, Restart, RestartPolicy, after_exit

POLICY = RestartPolicy(base_s=0.5, max_s=4.0, stable_s=30.0, give_up_after=6)


def test_a_crash_after_a_stable_run_restarts_at_once_and_forgets_earlier_crashes() -> None:
    assert after_exit(POLICY, uptime_s=31.0, fast_crashes=4) == Restart(0.5, 0)


def test_fast_crashes_in_a_row_double_the_delay_up_to_the_maximum() -> None:
    delays = []
    crashes = 0
    for _ in range(5):
        decision = after_exit(POLICY, uptime_s=2.0, fast_crashes=crashes)
        assert isinstance(decision, Restart)
        delays.append(decision.delay_s)
        crashes = decision.fast_crashes
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert crashes == 5


def test_the_crash_that_reaches_the_limit_is_given_up_on() -> None:
    assert after_exit(POLICY, uptime_s=2.0, fast_crashes=5) == GiveUp(6)


def test_a_stable_run_between_crash_loops_starts_the_count_again() -> None:
    decision = after_exit(POLICY, uptime_s=2.0, fast_crashes=0)
    assert decision == Restart(0.5, 1)
    assert after_exit(POLICY, uptime_s=30.0, fast_crashes=5) == Restart(0.5, 0)


@pytest.mark.parametrize(
    "kwargs", [{"base_s": 0.0}, {"base_s": 5.0, "max_s": 1.0}, {"give_up_after": 0}]
)
def test_policies_that_cannot_work_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RestartPolicy(**kwargs)  # type: ignore[arg-type]
