"""The chaos suite's figures from hand-made records: what counts as lost, as duplicated,
and when sends, pushes and a view count as back after a kill."""

from __future__ import annotations

from bench.chaos_figures import (
    Arrival,
    Fault,
    Records,
    Send,
    ViewSnapshot,
    World,
    figures,
)

WORLD = World(members={"c1": ["ann", "ben"]}, devices_of={"ann": [0, 1], "ben": [2, 3]})
KILL = 100.0


def sent(mid: str, started: float, done: float | None, seq: int | None, *errors: str) -> Send:
    outcome = "acked" if seq is not None else "failed"
    return Send(mid, "c1", 0, started, done, seq, errors, outcome)


def everywhere(
    mid: str, seq: int, at: float, devices: tuple[int, ...] = (0, 1, 2, 3)
) -> list[Arrival]:
    return [Arrival(d, "c1", seq, mid, at) for d in devices]


def one_fault(records: Records, ended: float = 200.0) -> dict[str, object]:
    result = figures(WORLD, records, [Fault("fanout", KILL, KILL + 0.5, KILL + 3.0)], ended)
    fault: dict[str, object] = result["faults"][0]
    return fault


def test_sends_and_pushes_are_back_at_the_first_after_the_kill() -> None:
    records = Records(
        sends=[
            sent("before", 99.0, 99.01, 1),
            sent("stuck", 100.5, 130.0, 2, "timeout", "timeout"),
            sent("later", 131.0, 131.02, 3),
        ],
        arrivals=[
            *everywhere("before", 1, 99.02),
            *everywhere("stuck", 2, 146.0, (0, 1, 2)),
            Arrival(3, "c1", 2, "stuck", 147.5),
            *everywhere("later", 3, 147.0),
        ],
    )
    fault = one_fault(records)
    assert fault["sends_back_s"] == 30.0
    assert fault["max_send_latency_s"] == 29.5
    assert fault["pushes_back_first_s"] == 46.0
    assert fault["pushes_back_all_s"] == 47.0
    assert fault["client_errors"] == {"timeout": 2}
    assert (fault["lost"], fault["sent"], fault["acked"]) == (0, 2, 2)
    assert (fault["restarted_after_s"], fault["ready_after_s"]) == (0.5, 3.0)


def test_a_device_that_never_got_a_logged_message_counts_as_a_loss() -> None:
    records = Records(
        sends=[sent("m1", 101.0, 101.1, 1)], arrivals=everywhere("m1", 1, 101.2, (0, 1, 2))
    )
    fault = one_fault(records)
    assert fault["lost"] == 1
    assert fault["lost_examples"] == [{"mid": "m1", "seq": 1, "devices": [3]}]
    assert fault["pushes_back_all_s"] is None
    assert fault["devices_never_pushed_to"] == 1


def test_an_unacknowledged_send_that_reached_the_log_is_owed_to_every_device() -> None:
    records = Records(
        sends=[sent("lost ack", 101.0, None, None, "disconnected")],
        arrivals=everywhere("lost ack", 1, 101.5, (0, 2)),
    )
    fault = one_fault(records)
    assert (fault["lost"], fault["sends_failed"]) == (2, 1)


def test_duplicates_are_counted_by_conversation_seq_and_by_client_msg_id() -> None:
    records = Records(
        sends=[sent("m1", 101.0, 101.1, 1), sent("m2", 102.0, 102.1, 3)],
        arrivals=[
            *everywhere("m1", 1, 101.2),
            Arrival(2, "c1", 1, "m1", 105.0),  # the same (conversation, seq) twice on device 2
            *everywhere("m2", 2, 102.2),  # m2 in the log at seq 2 and at seq 3
            *everywhere("m2", 3, 102.3),
        ],
    )
    fault = one_fault(records)
    assert fault["duplicated"] == {
        "deliveries_by_conversation_seq": 1,
        "messages_by_client_msg_id": 1,
    }


def test_a_view_is_back_when_it_last_lacked_an_acknowledged_message_for_a_second() -> None:
    records = Records(
        sends=[sent("m1", 101.0, 101.0, 1), sent("m2", 109.0, 109.0, 2)],
        snapshots=[
            ViewSnapshot(100.5, "history", {"c1": 0}),
            ViewSnapshot(101.5, "history", {"c1": 0}),  # 0.5 s behind: not stale
            ViewSnapshot(103.0, "history", {"c1": 0}),  # 2 s behind
            ViewSnapshot(108.0, "history", {"c1": 0}),  # 7 s behind
            ViewSnapshot(108.5, "history", {"c1": 1}),  # back
            ViewSnapshot(109.5, "history", {"c1": 1}),  # m2 0.5 s old: fine
            ViewSnapshot(101.0, "inbox", {"c1": 1}),
            ViewSnapshot(110.0, "inbox", {"c1": 2}),
        ],
    )
    fault = one_fault(records)
    assert fault["views_back_s"] == {"history": 8.5, "inbox": 0.0}
    assert fault["views_max_staleness_s"] == {"history": 7.0, "inbox": 0.0}


def test_each_fault_is_charged_for_what_was_sent_in_its_window() -> None:
    records = Records(
        sends=[sent("a", 101.0, 101.1, 1), sent("b", 151.0, 151.1, 2)],
        arrivals=[*everywhere("a", 1, 101.2, (0, 1)), *everywhere("b", 2, 151.2)],
    )
    result = figures(
        WORLD,
        records,
        [Fault("sequencer", 100.0, None, None), Fault("kafka", 150.0, None, None)],
        200.0,
    )
    assert [f["lost"] for f in result["faults"]] == [2, 0]
    assert [f["sent"] for f in result["faults"]] == [1, 1]
    assert result["total"]["lost"] == 2


def test_a_view_is_measured_from_when_the_log_got_the_message_not_from_the_ack() -> None:
    """A slow acknowledgement must not hide a view that trails the log."""
    records = Records(
        sends=[sent("m1", 101.0, 130.0, 1)],
        arrivals=[Arrival(0, "c1", 1, "m1", 102.0, written=101.5)],
        snapshots=[
            ViewSnapshot(104.0, "history", {"c1": 0}),
            ViewSnapshot(105.0, "history", {"c1": 1}),
        ],
    )
    fault = one_fault(records)
    assert fault["views_max_staleness_s"] == {"history": 2.5}
    assert fault["views_back_s"] == {"history": 5.0}


def test_a_message_a_device_never_got_but_history_holds_is_told_apart() -> None:
    """The SDK steps over what a sync snapshot leaves out: such a message is not yielded to
    the device, yet a client can still fetch it, unlike one the history view lacks."""
    records = Records(
        sends=[sent("m1", 101.0, 101.1, 1), sent("m2", 102.0, 102.1, 2)],
        arrivals=[*everywhere("m1", 1, 101.2, (0, 1, 2)), *everywhere("m2", 2, 102.2, (0, 1, 2))],
        in_history={("c1", 1)},
    )
    fault = one_fault(records)
    assert (fault["lost"], fault["lost_but_in_history"]) == (2, 1)
