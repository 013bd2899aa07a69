"""Dense, ordered, de-duplicated sequences under retries, concurrency and many partitions."""

from __future__ import annotations

import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

from schemas import models as m
from tests.integration.log import (
    CommandProducer,
    command_meta,
    create_conversation,
    decoded,
    fresh_topics,
    read_committed,
)
from tests.integration.sequencer_process import SequencerProcess

CONVERSATIONS = 24
SENDERS = ("ann", "ben", "cat")
PER_SENDER = 15


def create_group(cid: str) -> m.CreateConversation:
    return create_conversation(cid, "owner", *SENDERS)


def assert_dense(events: list[Any]) -> dict[str, list[int]]:
    by_conversation: dict[str, list[int]] = defaultdict(list)
    for e in events:
        by_conversation[e.meta.conversation_id].append(e.meta.seq)
    for cid, seqs in by_conversation.items():
        assert seqs == list(range(1, len(seqs) + 1)), f"{cid}: {seqs}"
    return by_conversation


def test_concurrent_senders_with_retries_across_partitions(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics = fresh_topics(partitions=4)
    sequencer = SequencerProcess(topics, tmp_path)
    sequencer.start()
    try:
        setup = CommandProducer(topics)
        cids = [f"conv-{i}" for i in range(CONVERSATIONS)]
        for cid in cids:
            setup.send(create_group(cid))
        setup.flush()

        def sender(user: str) -> None:
            out = CommandProducer(topics)
            for n in range(PER_SENDER):
                for cid in cids:
                    command = m.SendMessage(
                        meta=command_meta(cid, user, client_msg_id=f"{user}-{n}"),
                        body=m.PlainBody(text=f"{user} {n}"),
                    )
                    out.send(command)
                    if n % 3 == 0:  # a client retry: same device, same client id, new command id
                        retry = command.model_copy(
                            update={"meta": command_meta(cid, user, client_msg_id=f"{user}-{n}")}
                        )
                        out.send(retry)
            out.flush()

        threads = [threading.Thread(target=sender, args=(u,)) for u in SENDERS]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        unique = CONVERSATIONS * (1 + len(SENDERS) * PER_SENDER)
        retries = CONVERSATIONS * len(SENDERS) * len(range(0, PER_SENDER, 3))
        events = decoded(read_committed(topics.events.name, expected=unique))
        outcomes = decoded(read_committed(topics.outcomes.name, expected=unique + retries))
    finally:
        sequencer.stop()

    assert len(events) == unique
    by_conversation = assert_dense(events)
    assert {len(s) for s in by_conversation.values()} == {1 + len(SENDERS) * PER_SENDER}
    partitions = {r.partition for r in read_committed(topics.events.name, expected=unique)}
    assert partitions == {0, 1, 2, 3}
    keys = [(e.meta.conversation_id, e.meta.actor.device_id, e.meta.client_msg_id) for e in events]
    assert len(set(keys)) == len(keys)
    seq_of = {k: e.meta.seq for k, e in zip(keys, events, strict=True)}
    duplicates = [o for o in outcomes if isinstance(o, m.CommandAccepted) and o.duplicate]
    assert len(duplicates) == retries
    for d in duplicates:
        assert d.seq == seq_of[(d.conversation_id, d.actor.device_id, d.client_msg_id)]
    per_sender_order: dict[tuple[str, str], list[int]] = defaultdict(list)
    for e in events:
        sent = e
        assert isinstance(sent, m.MessageSent | m.ConversationCreated)
        if isinstance(sent, m.MessageSent):
            n = int(sent.meta.client_msg_id.split("-")[1])
            per_sender_order[(sent.meta.conversation_id, sent.meta.actor.user_id)].append(n)
    for order in per_sender_order.values():
        assert order == sorted(order), "one producer's sends keep their order in a conversation"
