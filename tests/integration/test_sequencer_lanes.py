"""A sequencer of several lanes (streams/lanes.py): each lane a static member of the group
with its own share of the partitions, and kill -9 of the process mid-stream still loses
nothing, duplicates nothing, reuses no seq."""

from __future__ import annotations

from pathlib import Path

from confluent_kafka.admin import AdminClient

from tests.integration.log import (
    BOOTSTRAP,
    CommandProducer,
    create_conversation,
    decoded,
    fresh_topics,
    read_committed,
)
from tests.integration.processes import wait_until
from tests.integration.sequencer_process import SequencerProcess
from tests.integration.test_sequencer_crash import (
    StreamAcrossAKill,
    assert_each_once,
    kill_mid_stream,
)

PARTITIONS = 8
LANES = 3
CONVERSATIONS = 24
N = 3000


def lane_assignment(group: str) -> dict[str, set[int]]:
    """The group's members (by instance id) and the partitions each holds now."""
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    description = admin.describe_consumer_groups([group])[group].result(timeout=10)
    return {
        member.group_instance_id or member.member_id: {
            tp.partition for tp in member.assignment.topic_partitions
        }
        for member in description.members
    }


def shared_out(group: str) -> bool:
    """Every lane holds partitions, none of them held twice, all of them held."""
    try:
        held = lane_assignment(group)
    except Exception:
        return False
    partitions = [p for owned in held.values() for p in owned]
    return (
        len(held) == LANES
        and all(held.values())
        and sorted(partitions) == list(range(PARTITIONS))
    )


def test_lanes_share_the_partitions_and_survive_kill_9(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics = fresh_topics(partitions=PARTITIONS)
    state_dir = tmp_path / "state"
    lanes = {"PARLEY_SEQUENCER_LANES": str(LANES)}
    sequencer = SequencerProcess(
        topics, state_dir, log_path=tmp_path / "first.log", extra_env=lanes
    )
    group = sequencer.env["PARLEY_SEQUENCER_GROUP"]
    sequencer.start()
    out = CommandProducer(topics)
    cids = [f"c{i}" for i in range(CONVERSATIONS)]
    for cid in cids:
        out.send(create_conversation(cid, "u0", "u1"))
    out.flush()
    wait_until(lambda: shared_out(group), 120, f"{LANES} lanes holding every partition once")
    members = set(lane_assignment(group))
    stem = f"{group}-0"
    assert members == {stem, f"{stem}-lane1", f"{stem}-lane2"}

    stream = StreamAcrossAKill(out, cids, N)
    stream.start()
    try:
        written_at_kill = kill_mid_stream(sequencer, stream, topics.events.name, PARTITIONS)
        stream.join()
        restarted = SequencerProcess(
            topics, state_dir, log_path=tmp_path / "second.log", extra_env=lanes
        )
        restarted.start()
        try:
            events = decoded(
                read_committed(topics.events.name, expected=N + CONVERSATIONS, deadline_s=120)
            )
            wait_until(lambda: shared_out(group), 60, "the restarted lanes holding every partition")
        finally:
            restarted.stop()
    finally:
        sequencer.kill()
        stream.killed.set()
        stream.join()

    assert_each_once(events, written_at_kill, N, CONVERSATIONS)
    assert "Traceback" not in restarted.log()
