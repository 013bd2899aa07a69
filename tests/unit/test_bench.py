"""The benchmark suite's pure parts: the ramp's knee, step tags, catch-up bookkeeping, log
parsing, machine facts and the report, without a cluster."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest

from bench import (
    backfill,
    capacity,
    contention,
    edge,
    machine,
    ramp,
    rebuild,
    report,
    results,
    suite,
)
from bench.backfill import CatchUp


def step(rate: int, p99: float) -> dict[str, Any]:
    return {"rate_per_s": rate, "p99_ms": p99}


class TestRamp:
    def test_knee_is_the_highest_rate_before_the_first_failure(self) -> None:
        results = [step(50, 80), step(100, 120), step(200, 149.9), step(300, 400)]
        assert ramp.knee(results) == 200

    def test_a_step_exactly_at_the_limit_passes(self) -> None:
        assert ramp.knee([step(100, 150.0)]) == 100

    def test_a_lucky_step_after_a_failure_is_not_the_knee(self) -> None:
        assert ramp.knee([step(100, 90), step(200, 300), step(300, 140)]) == 100

    def test_a_step_that_passes_on_its_repeat_passed(self) -> None:
        results = [step(50, 80), step(100, 250), step(100, 120), step(150, 300), step(150, 200)]
        assert ramp.knee(results) == 100

    def test_a_step_that_fails_twice_ends_the_knee(self) -> None:
        assert ramp.knee([step(50, 80), step(100, 250), step(100, 251)]) == 50

    def test_no_knee_when_the_first_step_fails(self) -> None:
        assert ramp.knee([step(50, 151)]) is None
        assert ramp.knee([]) is None

    def test_a_step_without_deliveries_fails(self) -> None:
        assert ramp.should_stop(step(100, math.nan))
        assert ramp.should_stop({"rate_per_s": 100})
        assert not ramp.should_stop(step(100, 10))

    def test_the_limit_is_a_parameter(self) -> None:
        assert ramp.knee([step(100, 20), step(200, 40)], limit_ms=30) == 100

    def test_steps_are_named_by_rate_and_must_rise(self) -> None:
        made = ramp.steps([100, 250], warmup_seconds=3, seconds=10, drain_seconds=4)
        assert [s.name for s in made] == ["100-per-s", "250-per-s"]
        assert made[0].bound_seconds > 17
        for wrong in ([250, 100], [100, 100], [], [0, 10]):
            with pytest.raises(ValueError):
                ramp.steps(wrong, warmup_seconds=1, seconds=1, drain_seconds=1)

    def test_the_named_ramp_climbs_the_named_rates(self) -> None:
        assert [s.rate_per_s for s in edge.RAMP.steps] == list(ramp.RAMP_RATES)
        assert edge.RAMP.stop_above_ms == ramp.P99_LIMIT_MS == 150.0


class TestEdgeSteps:
    def test_measured_messages_carry_their_step(self) -> None:
        assert edge.measured_tag(edge.message_id("s3", False, 1, 42)) == "s3"

    def test_warm_up_and_foreign_texts_are_not_measured(self) -> None:
        assert edge.measured_tag(edge.message_id("s3", True, 1, 42)) is None
        assert edge.measured_tag("hello there") is None
        assert edge.measured_tag("a.b.c") is None

    def test_summary_counts_lost_and_duplicated_deliveries(self) -> None:
        population = edge.Population(conversations={"c1": ["u1", "u2"], "c2": ["u1", "u3"]})
        parts = [
            {
                "sent": [("s0.m.0.0", "c1", 1000.0)],
                "arrivals": [("s0.m.0.0", 0, 10.0), ("s0.m.0.0", 1, 20.0), ("s0.m.0.0", 1, 30.0)],
                "total_sent": 10,
                "send_seconds": 2.0,
                "errors": {"too_busy": 1},
            },
            {
                "sent": [("s0.m.1.0", "c2", 1000.0)],
                "arrivals": [("s0.m.1.0", 2, 40.0)],
                "total_sent": 10,
                "send_seconds": 2.5,
                "errors": {"too_busy": 2},
            },
        ]
        one = ramp.Step("100-per-s", 100, 1.0, 4.0, 1.0)
        summary = edge.summarise(one, population, parts)
        assert summary["expected_deliveries"] == 8  # two members, two devices each, twice
        assert summary["received"] == 3
        assert summary["lost"] == 5
        assert summary["duplicated"] == 1
        assert summary["achieved_rate_per_s"] == 8.0
        assert summary["errors"] == {"too_busy": 3}
        assert summary["p99_ms"] == 40.0


class TestCatchUp:
    def test_fetch_history_pages_advance_the_cursor_until_the_last_seq(self) -> None:
        catch_up = CatchUp({"c": 1})
        assert not catch_up.take("c", [2, 3, 4], last_seq=6)
        assert catch_up.cursors["c"] == 4
        assert catch_up.take("c", [5, 6], last_seq=6)
        assert catch_up.events() == 5
        assert catch_up.gaps({"c": 1}) == []

    def test_an_empty_page_ends_a_conversation(self) -> None:
        catch_up = CatchUp({"c": 3})
        assert catch_up.take("c", [], last_seq=None)
        assert catch_up.cursors["c"] == 3

    def test_repeats_at_or_below_the_cursor_are_dropped(self) -> None:
        catch_up = CatchUp({"c": 2})
        catch_up.take("c", [1, 2, 3], last_seq=3)
        assert catch_up.seqs["c"] == [3]

    def test_a_missing_seq_is_a_gap(self) -> None:
        catch_up = CatchUp({"c": 0, "d": 0})
        catch_up.take("c", [1, 3], last_seq=3)
        catch_up.take("d", [1], last_seq=1)
        assert catch_up.gaps({"c": 0, "d": 0}) == ["c"]

    def test_sync_answers_advance_every_conversation_and_say_if_there_is_more(self) -> None:
        catch_up = CatchUp({"a": 0, "b": 5})
        answer = {
            "conversations": [
                {"conversation_id": "a", "events": [{"seq": 1}, {"seq": 2}], "last_seq": 4},
                {"conversation_id": "b", "events": [], "last_seq": 9, "snapshot": {"n": 1}},
            ],
            "more": True,
        }
        assert backfill.take_sync_answer(catch_up, answer)
        assert catch_up.cursors == {"a": 2, "b": 9}
        last = {"conversations": [{"conversation_id": "a", "events": [{"seq": 3}, {"seq": 4}]}]}
        assert not backfill.take_sync_answer(catch_up, {**last, "more": False})
        assert catch_up.cursors["a"] == 4

    def test_both_ways_of_catching_up_are_selectable(self) -> None:
        assert set(backfill.BACKFILLS) == {"fetch_history", "sync"}


class TestRebuildLog:
    @staticmethod
    def line(ts: str, message: str) -> str:
        return json.dumps({"ts": ts, "level": "INFO", "logger": "parley.views", "message": message})

    def test_milestones_are_read_from_the_views_json_log(self) -> None:
        log = "\n".join(
            [
                self.line("2026-11-28T10:00:00.000+00:00", "following parley.events from {}"),
                self.line("2026-11-28T10:00:01.250+00:00", "assigned {0: -2, 1: -2}"),
                self.line("2026-11-28T10:00:02.000+00:00", "assigned {2: -2}"),
                "%4|1795859568.225|GETPID|rdkafka#producer-1| a librdkafka line, not JSON",
                self.line("2026-11-28T10:00:05.750+00:00", "ready: caught up to {0: 5}"),
            ]
        )
        found = rebuild.log_times(log)
        assert found["ready"] - found["assigned"] == pytest.approx(4.5)
        expected = datetime(2026, 11, 28, 10, 0, 1, 250_000, tzinfo=UTC).timestamp()
        assert found["assigned"] == pytest.approx(expected)

    def test_a_log_before_ready_has_no_ready_time(self) -> None:
        found = rebuild.log_times(self.line("2026-11-28T10:00:01.250+00:00", "assigned {0: 0}"))
        assert "ready" not in found


def test_json_gets_null_where_a_percentile_of_nothing_is_nan() -> None:
    value = {"p99_ms": math.nan, "steps": [{"p50_ms": math.nan, "sent": 3}], "ok": 1.5}
    assert results.finite(value) == {
        "p99_ms": None,
        "steps": [{"p50_ms": None, "sent": 3}],
        "ok": 1.5,
    }


class TestContention:
    def test_cpu_ticks_are_counted_after_the_command_name(self) -> None:
        stat = "42 (my (odd) cmd) S 1 2 3 4 5 6 7 8 9 10 150 50 0 0 20 0"
        assert contention.cpu_ticks(stat) == 200

    def test_ours_and_theirs_are_told_apart_by_working_directory(self) -> None:
        tick = contention.TICKS_PER_S
        first = {1: 0, 2: 10 * tick}
        last = {
            1: (5 * tick, "/work/wt-bench", "kafka"),
            2: (12 * tick, "/work/main", "pytest"),
            3: (4 * tick, "/work/wt-bench/bench", "loader"),
            4: (3 * tick, "/work/wt-benchmark", "someone else"),
        }
        mine, theirs, top = contention.split(first, last, "/work/wt-bench")
        assert mine == 9
        assert theirs == 5
        assert top == [("someone else", 3.0), ("pytest", 2.0)]


class TestMachine:
    def test_cpu_model_is_the_first_model_name(self) -> None:
        info = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nprocessor\t: 1\nmodel name\t: X\n"
        assert machine.cpu_model(info) == "AMD EPYC 7B13"
        assert machine.cpu_model("processor: 0\n") == "unknown"

    def test_memory_and_kafka_version(self) -> None:
        assert machine.memory_gib("MemTotal:       24641536 kB\n") == 23.5
        assert machine.kafka_version(machine.KAFKA_POM.read_text()) != "unknown"

    def test_busy_share_and_other_work(self) -> None:
        assert machine.busy_share(100, 1000, 150, 1100) == 0.5
        assert machine.other_work_running([{"cpu_busy_share": 0.02}, {"cpu_busy_share": 0.4}])
        assert not machine.other_work_running([{"cpu_busy_share": 0.02}])


class TestSuite:
    def test_the_planned_budgets_fit_the_total(self) -> None:
        assert suite.planned_within(suite.PARTS, suite.TOTAL_BUDGET_S)

    def test_every_part_has_a_command_of_its_own(self) -> None:
        names = [p.command.split()[-1] for p in suite.PARTS]
        assert len(set(names)) == len(names)


def busy(share: float) -> dict[str, Any]:
    return {
        "at": "2026-11-28T10:00:00+0000",
        "load_average_1_5_15": [1.0, 0.5, 0.25],
        "cpu_busy_share": share,
        "sampled_seconds": 5.0,
    }


SUITE: dict[str, Any] = {
    "command": "python -m bench suite",
    "started": "2026-11-28T10:00:00+0000",
    "seconds": 600.0,
    "machine": {"cores": 2, "cpu_model": "AMD EPYC", "memory_gib": 23.5, "kafka": "4.1.1"},
    "busy_before": busy(0.5),
    "busy_after": busy(0.01),
    "other_work_running": True,
    "parts": [
        {
            "name": report.RAMP,
            "command": "python -m bench edge",
            "budget_s": 360,
            "seconds": 200,
            "status": "ok",
            "other_work": {
                "seconds": 200,
                "suite_cpu_seconds": 300,
                "other_cpu_seconds": 40,
                "other_share_of_machine": 0.1,
                "other_busiest": [["python -m pytest tests/e2e", 30.0]],
            },
        },
        {
            "name": report.IDLE,
            "command": "python -m bench idle",
            "budget_s": 150,
            "seconds": 150,
            "status": "failed",
            "error": "BudgetExceededError: idle-full ran past its budget",
        },
    ],
}

EDGE: dict[str, Any] = {
    "devices": 1000,
    "conversations": 150,
    "edge_nodes": 2,
    "p99_limit_ms": 150.0,
    "knee_rate_per_s": 200,
    "steps": [
        {
            "rate_per_s": r,
            "achieved_rate_per_s": r,
            "warmup_seconds": 3,
            "seconds": 10,
            "deliveries_per_s": r * 12,
            "p50_ms": p / 2,
            "p95_ms": p * 0.9,
            "p99_ms": p,
            "max_ms": p * 2,
            "lost": 0,
            "duplicated": 0,
            "errors": {},
        }
        for r, p in ((100, 90.0), (200, 140.0), (300, 1200.0))
    ],
}


class TestReport:
    def test_numbers_are_grouped_and_missing_ones_are_dashes(self) -> None:
        assert report.number(12345.678) == "12,346"
        assert report.number(1.5, 1) == "1.5"
        assert report.number(math.nan) == "-"
        assert report.number(None) == "-"

    def test_a_table_is_markdown(self) -> None:
        assert report.table(["a", "b"], [(1, 2)]) == "| a | b |\n| --- | --- |\n| 1 | 2 |"

    def test_the_report_shows_the_ramp_the_knee_and_the_plot(self) -> None:
        text = report.render(SUITE, {report.RAMP: EDGE})
        assert "**Knee: 200 messages/s**" in text
        assert "| 300 | 300 | 3 + 10 s | 3,600 | 600 / 1,080 / 1,200 / 2,400 | 0 / 0 | - |" in text
        assert f"![latency against load]({report.RAMP}.png)" in text
        assert "AMD EPYC, 2 cores" in text

    def test_the_report_says_when_other_work_was_running(self) -> None:
        assert "**Other work was running**" in report.render(SUITE, {})
        quiet = {**SUITE, "other_work_running": False}
        assert "Other work was running" not in report.render(quiet, {})

    def test_a_part_that_failed_or_did_not_run_says_so(self) -> None:
        text = report.render(SUITE, {report.RAMP: EDGE, report.IDLE: None})
        assert "Not measured: BudgetExceededError: idle-full ran past its budget." in text
        assert "## Sequencer" in text and "Not run in this suite." in text

    def test_other_work_during_a_part_is_shown(self) -> None:
        text = report.render(SUITE, {})
        assert "| edge-ramp | 10% | 40 | `python -m pytest tests/e2e` 30 s |" in text

    def test_the_report_shows_search_indexing_queries_and_lag(self) -> None:
        query = {"example": "budget", "p50_ms": 4.0, "p99_ms": 40.5, "median_estimated_total": 9}
        found = {
            "load": {"messages": 50_000, "conversations": 1_000, "batch": 5_000, "member_of": 100},
            "indexing": {
                "messages": 50_000,
                "messages_per_s": 18_000,
                "messages_per_cpu_s": 21_000,
                "index_bytes_per_message": 160.4,
            },
            "follower_decode_us_per_event": 30.0,
            "queries": {"common word": query, "CJK": query | {"p99_ms": 61.0}},
            "goals": {"messages_per_s_per_core": 20_000, "query_p99_ms": 50, "lag_p99_ms": 1000},
            "lag": {
                "rate_per_s": 1000,
                "seconds": 10,
                "conversations": 100,
                "events_measured": 10_000,
                "p50_ms": 90.0,
                "p95_ms": 200.0,
                "p99_ms": 310.0,
                "max_ms": 400.0,
                "never_visible": 0,
            },
        }
        text = report.render(SUITE, {report.SEARCH: found})
        assert "| search view, one pinned core | messages indexed per second" in text
        assert "| 18,000 (21,000) | 20,000 |" in text
        assert "| query p99: common word / CJK | 40.5 / 61.0 ms | <= 50 ms |" in text
        assert "p50 90.0 ms, p99 310.0 ms | p99 <= 1,000 ms |" in text
        assert f"![search query latency]({report.SEARCH}.png)" in text

    def test_the_commands_are_listed(self) -> None:
        text = report.render(SUITE, {})
        assert "`python -m bench suite`" in text
        assert "| edge-ramp | `python -m bench edge` | 200 | 360 | ok |" in text


MEASURED = capacity.Measured(
    sequencer_commands_per_core=5000,
    knee_messages_per_s=200,
    knee_deliveries_per_s=2400,
    knee_p99_ms=140,
    machine_cores=2,
    connections_per_edge_process=20_000,
    kib_per_connection=20,
    rebuild_events_per_core=10_000,
    avro_bytes_per_event=250,
    broker_bytes_per_event=250,
    history_bytes_per_event=100,
    backfill_wire_bytes_per_event=500,
    backfill_seconds=1,
    backfill_messages=10_000,
    search_messages_per_core=5_000,
    search_bytes_per_message=160,
    cold_compression=1.5,
    archive_events_per_core=30_000,
    archive_lag_p99_s=65,
)


class TestCapacity:
    def figures(self, **changed: Any) -> dict[str, float]:
        assumptions = capacity.Assumptions(**changed)
        return {f.name: f.value for f in capacity.model(MEASURED, assumptions)}

    def test_load_follows_from_users(self) -> None:
        got = self.figures()
        assert got["messages per day"] == 400e6
        assert got["messages per second, peak"] == pytest.approx(13_888.9, rel=1e-4)
        assert got["events per second, peak"] == pytest.approx(41_666.7, rel=1e-4)
        assert got["pushes of messages per second, peak"] == pytest.approx(62_500, rel=1e-4)

    def test_storage_follows_from_measured_bytes(self) -> None:
        got = self.figures()
        assert got["broker disk per day"] == pytest.approx(1.2e9 * 250 * 3 / 1e9)
        assert got["hot log on the brokers"] == pytest.approx(1.2e9 * 250 * 3 * 30 / 1e12)
        assert got["cold Parquet kept"] == pytest.approx(1.2e9 * 250 / 1.5 * 365 / 1e12)

    def test_nodes_follow_from_per_core_figures(self) -> None:
        got = self.figures()
        assert got["edge processes for the connections"] == 100
        assert got["delivery cores (edge and fan-out)"] == pytest.approx(62_500 / 1200)
        assert got["edge nodes"] == math.ceil(100 / 16)
        assert got["sequencer cores"] == pytest.approx(41_666.7 / 3000, rel=1e-4)
        assert got["archive writer cores"] == pytest.approx(41_666.7 / 18_000, rel=1e-4)
        assert got["brokers"] == math.ceil(27.0 / 8)

    def test_search_follows_from_its_per_core_and_per_message_figures(self) -> None:
        got = self.figures()
        assert got["search indexing cores"] == pytest.approx(13_888.9 / 3000, rel=1e-4)
        assert got["search index, one replica"] == pytest.approx(400e6 * 160 * 30 / 1e12)
        views = 41_666.7 / 3000 + 41_666.7 / 6000 + 13_888.9 / 3000
        assert got["processor nodes"] == math.ceil(views / 16)

    def test_less_replication_needs_less_disk(self) -> None:
        assert self.figures(replication_factor=2)["hot log on the brokers"] == pytest.approx(
            self.figures()["hot log on the brokers"] * 2 / 3
        )

    def test_every_input_has_its_source_and_every_assumption_its_reason(self) -> None:
        text = capacity.render(MEASURED, capacity.Assumptions())
        assert text.startswith(capacity.BEGIN) and text.endswith(capacity.END)
        assert "| replication factor | 3 |" in text

    def test_the_tables_replace_what_is_between_the_markers(self, tmp_path: Any) -> None:
        doc = tmp_path / "capacity.md"
        doc.write_text(f"intro\n{capacity.BEGIN}\nold\n{capacity.END}\noutro\n")
        capacity.write_into(doc, f"{capacity.BEGIN}\nnew\n{capacity.END}")
        assert doc.read_text() == f"intro\n{capacity.BEGIN}\nnew\n{capacity.END}\noutro\n"
        doc.write_text("no markers")
        with pytest.raises(ValueError):
            capacity.write_into(doc, "x")
