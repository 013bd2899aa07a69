"""kill -9 of the fan-out under load: every delivery still reaches its edge node's partition
(at least once, none lost, none to the wrong person), membership is right after the
restart, and the restart resumes from the positions stored with the memberships instead of
replaying the events topic from offset 0."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from kafkalog.records import position
from schemas import codec
from schemas import models as m
from schemas.partitioning import partition_for
from schemas.topics import Topics, session_key
from tests.integration.fanout_process import FanOutProcess
from tests.integration.log import (
    BOOTSTRAP,
    EventWriter,
    event_meta,
    fresh_topics,
    read_committed,
)
from tests.integration.processes import wait_until

CONVERSATIONS = 20
MESSAGES = 4000
CHANGE_AT = MESSAGES // 10
ONLINE = {"u0": 0, "u1": 0, "u2": 1, "u3": 1, "u4": 2}
"""Who is online on which edge node; u5 is a member and offline, u3 online and no member."""
FIRST_MEMBERS = ("u0", "u1", "u2", "u5")
Delivery = tuple[int, str, int, str]
"""(edge node, conversation, seq, recipient)"""


def go_online(topics: Topics) -> None:
    producer = Producer({"bootstrap.servers": BOOTSTRAP})
    expires = datetime.now(UTC) + timedelta(hours=1)
    for user, node in ONLINE.items():
        entry = m.UserOnNode(
            user_id=user, node=node, devices=1, active_devices=1, expires_at=expires
        )
        producer.produce(
            topics.sessions.name,
            key=session_key(user, node),
            value=codec.encode(entry),
            partition=partition_for(user, topics.sessions.partitions),
        )
    if producer.flush(30) != 0:
        raise AssertionError("session records not delivered")


class Script:
    """The events of the test, and who must hear of each: an independent model of routing
    (members before the event and after it, if online), not the fan-out's own code."""

    def __init__(self) -> None:
        self.cids = [f"c{i}" for i in range(CONVERSATIONS)]
        self.members: dict[str, set[str]] = {cid: set() for cid in self.cids}
        self.seq = dict.fromkeys(self.cids, 0)
        self.expected: set[Delivery] = set()

    def next(self, cid: str, event_type: type, **fields: object) -> object:
        self.seq[cid] += 1
        before = set(self.members[cid])
        event = event_type(meta=event_meta(cid, self.seq[cid]), **fields)
        if isinstance(event, m.ConversationCreated):
            self.members[cid] = {member.user_id for member in event.members}
        elif isinstance(event, m.MemberAdded):
            self.members[cid].add(event.user_id)
        elif isinstance(event, m.MemberRemoved):
            self.members[cid].discard(event.user_id)
        for user in before | self.members[cid]:
            if user in ONLINE:
                self.expected.add((ONLINE[user], cid, self.seq[cid], user))
        return event

    def created(self, cid: str) -> object:
        members = tuple(m.Member(user_id=u, role=m.Role.MEMBER) for u in FIRST_MEMBERS)
        return self.next(cid, m.ConversationCreated, kind=m.ConversationKind.GROUP, members=members)

    def change(self, i: int, cid: str) -> object:
        """Half the conversations add u4 (online on node 2), half remove u1."""
        if i < CONVERSATIONS // 2:
            return self.next(cid, m.MemberAdded, user_id="u4", role=m.Role.MEMBER)
        return self.next(cid, m.MemberRemoved, user_id="u1")


class Deliveries:
    """Every delivery record written so far to nodes 0 to 2, read as it comes."""

    def __init__(self, topics: Topics) -> None:
        self.consumer = Consumer(
            {
                "bootstrap.servers": BOOTSTRAP,
                "group.id": f"deliveries-{uuid.uuid4()}",
                "enable.auto.commit": False,
            }
        )
        nodes = sorted(set(ONLINE.values()))
        self.consumer.assign([TopicPartition(topics.deliveries.name, n, 0) for n in nodes])
        self.seen: set[Delivery] = set()
        self.records = 0

    def collect(self) -> set[Delivery]:
        for record in self.consumer.consume(num_messages=10_000, timeout=0.2):
            error = record.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    continue
                raise KafkaException(error)
            node, _ = position(record)
            delivery = codec.decode(record.value() or b"")
            assert isinstance(delivery, m.EventDelivery)
            self.records += 1
            for user in delivery.recipients:
                self.seen.add((node, delivery.conversation_id, delivery.seq, user))
        return self.seen

    def events(self) -> int:
        return len({(cid, seq) for _, cid, seq, _ in self.seen})

    def close(self) -> None:
        self.consumer.close()


def test_kill_9_under_load_loses_no_delivery_and_resumes_from_the_stored_position(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics = fresh_topics(partitions=4)
    go_online(topics)
    script = Script()
    writer = EventWriter(topics)
    for cid in script.cids:
        writer.write(script.created(cid))
    writer.flush()
    first = FanOutProcess(topics, tmp_path / "state", tmp_path / "first.log")
    restarted = FanOutProcess(topics, tmp_path / "state", tmp_path / "second.log")
    deliveries = Deliveries(topics)

    def stream() -> None:
        for i in range(MESSAGES):
            cid = script.cids[i % CONVERSATIONS]
            writer.write(script.next(cid, m.MessageSent, body=m.PlainBody(text=f"m{i}")))
            if i == CHANGE_AT:
                for n, changed in enumerate(script.cids):
                    writer.write(script.change(n, changed))
            if i % 100 == 0:  # about 4 s in all, so that the kill lands while events flow
                writer.flush()
                time.sleep(0.1)
        writer.flush()

    streaming = threading.Thread(target=stream)
    first.start()
    streaming.start()
    try:
        wait_until(
            lambda: bool(deliveries.collect()) and deliveries.events() > MESSAGES // 2,
            90,
            "half the events delivered",
        )
        still_streaming = streaming.is_alive()
        first.kill()
        stored = first.stored_positions()
        restarted.start()
        streaming.join()
        wait_until(
            lambda: script.expected <= deliveries.collect(), 120, "every delivery after restart"
        )
    finally:
        first.kill()
        restarted.stop()
        streaming.join()
        deliveries.close()

    assert still_streaming, "the kill happened while events were still being written"
    assert script.expected <= deliveries.seen, "no delivery is lost"
    wrong = deliveries.seen - script.expected
    assert wrong == set(), "nobody outside the audience, no removed member, no offline node"
    assert deliveries.records > 0

    changes = [
        r
        for r in read_committed(topics.events.name, expected=0)
        if isinstance(codec.decode(r.value), m.MemberAdded | m.MemberRemoved)
    ]
    assert len(changes) == CONVERSATIONS
    for change in changes:
        assert change.offset < stored[change.partition], (
            "the membership changes were in the store at the kill, so the restarted fan-out "
            "routed by them without reading them again"
        )
    resumed = [r["resumed_from"] for r in restarted.log_records() if "resumed_from" in r]
    assert resumed, "the restarted fan-out logged where it resumed"
    assert {int(p): o for p, o in resumed[0].items()} == stored, (
        "it resumed every partition from the stored position, not from offset 0"
    )
    for process in (first, restarted):
        assert "Traceback" not in process.log()


def test_an_undecodable_event_is_parked_by_the_fan_out_and_the_next_is_delivered(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """Regression: the fan-out skipped an undecodable event while running (parking it
    nowhere) and crashed on the same record when it replayed memberships at assignment."""
    topics = fresh_topics(partitions=1)
    go_online(topics)
    script = Script()
    writer = EventWriter(topics)
    created = script.created("c0")
    writer.write(created, raw=b"not avro")
    writer.write(created)
    writer.flush()
    fanout = FanOutProcess(topics, tmp_path / "state", tmp_path / "fanout.log")
    deliveries = Deliveries(topics)
    fanout.start()
    try:
        wait_until(lambda: script.expected <= deliveries.collect(), 60, "the event behind it")
        parked = read_committed(topics.dead_letters.name, expected=1)
    finally:
        fanout.stop()
        deliveries.close()
    assert [r.value for r in parked] == [b"not avro"]
    assert parked[0].headers["source-offset"] == b"0"
    assert parked[0].headers["consumer"] == f"{fanout.prefix}-parley-fanout".encode()
    assert "Traceback" not in fanout.log()
