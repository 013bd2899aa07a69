"""The sequencer's pure rules: order, idempotency, membership, roles and limits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from schemas import models as m
from schemas.models import ConversationKind, DeleteScope, RejectionCode, Role
from streams.sequencer.decide import (
    Accepted,
    Decision,
    Duplicate,
    Rejected,
    Unchanged,
    decide,
    evolve,
)
from streams.sequencer.rules import DEFAULT_LIMITS, Limits
from streams.sequencer.state import SequencerState
from streams.store import MemoryStore

NOW = datetime(2026, 11, 28, tzinfo=UTC)


class Conversation:
    """Drives decide/evolve as the worker does, over an in-memory store."""

    def __init__(self, cid: str = "c1", limits: Limits = DEFAULT_LIMITS) -> None:
        self.cid = cid
        self.state = SequencerState(MemoryStore())
        self.limits = limits
        self.counter = 0

    def meta(self, user: str, device: str | None = None, key: str | None = None) -> m.CommandMeta:
        self.counter += 1
        return m.CommandMeta(
            command_id=f"cmd-{self.counter}",
            conversation_id=self.cid,
            actor=m.Actor(user_id=user, device_id=device or f"{user}-d1"),
            client_msg_id=f"k{self.counter}" if key is None else key,
            issued_at=NOW,
        )

    def run(self, command: Any) -> Decision:
        decision = decide(self.state, command, NOW, self.limits)
        if isinstance(decision, Accepted):
            evolve(self.state, decision.event)
        return decision

    def group(self, owner: str = "alice", *members: str) -> None:
        others = members or ("bob", "carol")
        self.expect_seq(
            m.CreateConversation(
                meta=self.meta(owner),
                kind=ConversationKind.GROUP,
                name="team",
                members=tuple(m.Member(user_id=u, role=Role.MEMBER) for u in others),
            )
        )

    def send(self, user: str, text: str = "hi", **kw: Any) -> Decision:
        return self.run(m.SendMessage(meta=self.meta(user, **kw), body=m.PlainBody(text=text)))

    def expect_seq(self, command: Any) -> int:
        decision = self.run(command)
        assert isinstance(decision, Accepted), decision
        return decision.event.meta.seq

    def expect_rejected(self, command: Any, code: RejectionCode) -> str:
        decision = self.run(command)
        assert isinstance(decision, Rejected), decision
        assert decision.code == code, decision
        return decision.reason


def test_sequences_are_dense_from_one() -> None:
    c = Conversation()
    c.group()
    seqs = [c.send("bob") for _ in range(5)]
    assert [d.event.meta.seq for d in seqs if isinstance(d, Accepted)] == [2, 3, 4, 5, 6]


def test_same_device_and_client_id_is_one_event() -> None:
    c = Conversation()
    c.group()
    first = c.send("bob", key="same")
    again = c.send("bob", key="same")
    assert isinstance(first, Accepted)
    assert again == Duplicate(first.event.meta.seq)
    other_device = c.send("bob", key="same", device="bob-laptop")
    assert isinstance(other_device, Accepted)


def test_stranger_cannot_send_and_missing_conversation_is_named() -> None:
    c = Conversation()
    c.group()
    c.expect_rejected(
        m.SendMessage(meta=c.meta("mallory"), body=m.PlainBody(text="x")),
        RejectionCode.NOT_A_MEMBER,
    )
    other = Conversation("nowhere")
    other.expect_rejected(
        m.SendMessage(meta=other.meta("bob"), body=m.PlainBody(text="x")),
        RejectionCode.NO_SUCH_CONVERSATION,
    )


def test_direct_conversation_created_twice_is_the_same_one() -> None:
    c = Conversation("dm")
    create = m.CreateConversation(
        meta=c.meta("alice"),
        kind=ConversationKind.DIRECT,
        members=(m.Member(user_id="bob", role=Role.MEMBER),),
    )
    assert c.expect_seq(create) == 1
    by_bob = m.CreateConversation(
        meta=c.meta("bob"),
        kind=ConversationKind.DIRECT,
        members=(m.Member(user_id="alice", role=Role.MEMBER),),
    )
    assert c.run(by_bob) == Duplicate(1)
    by_carol = m.CreateConversation(
        meta=c.meta("carol"),
        kind=ConversationKind.DIRECT,
        members=(m.Member(user_id="alice", role=Role.MEMBER),),
    )
    c.expect_rejected(by_carol, RejectionCode.CONFLICT)
    c.expect_rejected(m.AddMember(meta=c.meta("alice"), user_id="carol"), RejectionCode.FORBIDDEN)


def test_direct_needs_exactly_one_other_member() -> None:
    c = Conversation("dm")
    c.expect_rejected(
        m.CreateConversation(meta=c.meta("alice"), kind=ConversationKind.DIRECT, members=()),
        RejectionCode.INVALID,
    )


def test_roles_govern_membership() -> None:
    c = Conversation()
    c.group()
    c.expect_rejected(m.AddMember(meta=c.meta("bob"), user_id="dave"), RejectionCode.FORBIDDEN)
    c.expect_seq(m.ChangeMemberRole(meta=c.meta("alice"), user_id="bob", role=Role.ADMIN))
    c.expect_seq(m.AddMember(meta=c.meta("bob"), user_id="dave"))
    assert c.run(m.AddMember(meta=c.meta("bob"), user_id="dave")) == Unchanged()
    c.expect_rejected(m.RemoveMember(meta=c.meta("bob"), user_id="alice"), RejectionCode.FORBIDDEN)
    c.expect_seq(m.RemoveMember(meta=c.meta("carol"), user_id="carol"))
    c.expect_rejected(
        m.SendMessage(meta=c.meta("carol"), body=m.PlainBody(text="x")), RejectionCode.NOT_A_MEMBER
    )


def test_only_the_sender_edits_and_deleted_messages_stay_deleted() -> None:
    c = Conversation()
    c.group()
    seq = c.expect_seq(m.SendMessage(meta=c.meta("bob"), body=m.PlainBody(text="v1")))
    c.expect_rejected(
        m.EditMessage(meta=c.meta("carol"), target_seq=seq, body=m.PlainBody(text="x")),
        RejectionCode.FORBIDDEN,
    )
    c.expect_seq(m.EditMessage(meta=c.meta("bob"), target_seq=seq, body=m.PlainBody(text="v2")))
    c.expect_seq(
        m.DeleteMessage(meta=c.meta("alice"), target_seq=seq, scope=DeleteScope.FOR_EVERYONE)
    )
    c.expect_rejected(
        m.EditMessage(meta=c.meta("bob"), target_seq=seq, body=m.PlainBody(text="v3")),
        RejectionCode.NO_SUCH_MESSAGE,
    )


def test_reactions_toggle_and_repeat_is_unchanged() -> None:
    c = Conversation()
    c.group()
    seq = c.expect_seq(m.SendMessage(meta=c.meta("bob"), body=m.PlainBody(text="hi")))
    react = m.ReactToMessage(meta=c.meta("carol"), target_seq=seq, emoji="👍")
    assert isinstance(c.run(react).event, m.ReactionAdded)  # type: ignore[union-attr]
    assert c.run(m.ReactToMessage(meta=c.meta("carol"), target_seq=seq, emoji="👍")) == Unchanged()
    undo = m.ReactToMessage(meta=c.meta("carol"), target_seq=seq, emoji="👍", removed=True)
    assert isinstance(c.run(undo).event, m.ReactionRemoved)  # type: ignore[union-attr]


def test_an_emoji_is_up_to_32_characters_however_many_bytes() -> None:
    """Regression (issue 15): 17 x U+1F642 (68 bytes) was refused as over 64 bytes while
    docs/protocol.md and the `react` frame say 1 to 32 characters."""
    c = Conversation()
    c.group()
    seq = c.expect_seq(m.SendMessage(meta=c.meta("bob"), body=m.PlainBody(text="hi")))
    c.expect_seq(m.ReactToMessage(meta=c.meta("carol"), target_seq=seq, emoji="🙂" * 32))
    c.expect_rejected(
        m.ReactToMessage(meta=c.meta("carol"), target_seq=seq, emoji="🙂" * 33),
        RejectionCode.INVALID,
    )


def test_watermarks_only_advance_and_stay_within_the_log() -> None:
    c = Conversation()
    c.group()
    for _ in range(3):
        c.send("bob")
    c.expect_seq(m.MarkRead(meta=c.meta("carol"), up_to_seq=3))
    assert (
        c.run(m.MarkRead(meta=c.meta("carol", device="carol-laptop"), up_to_seq=2)) == Unchanged()
    )
    c.expect_rejected(m.MarkRead(meta=c.meta("carol"), up_to_seq=99), RejectionCode.INVALID)
    c.expect_seq(m.AcknowledgeDelivery(meta=c.meta("carol"), up_to_seq=4))
    c.expect_seq(m.AcknowledgeDelivery(meta=c.meta("carol", device="carol-laptop"), up_to_seq=4))


def test_limits_reject_with_reasons() -> None:
    c = Conversation(limits=Limits(max_body_bytes=10))
    c.group()
    reason = c.expect_rejected(
        m.SendMessage(meta=c.meta("bob"), body=m.PlainBody(text="x" * 11)), RejectionCode.TOO_LARGE
    )
    assert "11 bytes" in reason
    c.expect_rejected(
        m.SendMessage(meta=c.meta("bob"), body=m.PlainBody(text="  ")), RejectionCode.INVALID
    )
    c.expect_rejected(
        m.SendMessage(meta=c.meta("bob", key=""), body=m.PlainBody(text="x")), RejectionCode.INVALID
    )


def test_encrypted_bodies_are_sequenced_unread() -> None:
    c = Conversation()
    c.group()
    body = m.EncryptedBody(
        scheme=m.E2EEScheme.MEGOLM_V1, sender_key="k", session_id="s", ciphertext=b"\x01" * 100
    )
    decision = c.run(m.SendMessage(meta=c.meta("bob"), body=body))
    assert isinstance(decision, Accepted)
    assert decision.event.body == body  # type: ignore[union-attr]


def test_compliance_redacts_without_membership() -> None:
    c = Conversation()
    c.group()
    seq = c.expect_seq(m.SendMessage(meta=c.meta("bob"), body=m.PlainBody(text="secret")))
    c.expect_rejected(
        m.RedactMessage(meta=c.meta("carol"), target_seq=seq, reason="x"), RejectionCode.FORBIDDEN
    )
    c.expect_seq(m.RedactMessage(meta=c.meta("compliance:officer"), target_seq=seq, reason="court"))


def test_evolve_is_idempotent_and_refuses_gaps() -> None:
    c = Conversation()
    c.group()
    decision = c.send("bob")
    assert isinstance(decision, Accepted)
    assert evolve(c.state, decision.event) is False
    ahead = decision.event.model_copy(
        update={"meta": decision.event.meta.model_copy(update={"seq": 9})}
    )
    with pytest.raises(ValueError, match="gap"):
        evolve(c.state, ahead)


def test_rebuild_from_events_gives_the_same_decisions() -> None:
    """State folded from the log alone answers retries and next sends like the live state."""
    live = Conversation()
    events = []
    creation = live.run(
        m.CreateConversation(
            meta=live.meta("alice"),
            kind=ConversationKind.GROUP,
            name="team",
            members=(m.Member(user_id="bob", role=Role.MEMBER),),
        )
    )
    sends = [live.send("bob", key=f"m{i}") for i in range(4)]
    for decision in (creation, *sends):
        assert isinstance(decision, Accepted)
        events.append(decision.event)
    rebuilt = SequencerState(MemoryStore())
    for event in events:
        evolve(rebuilt, event)
    rebuilt_store, live_store = MemoryStore(), MemoryStore()
    rebuilt.store, live.state.store = rebuilt_store, live_store
    rebuilt.flush()
    live.state.flush()
    assert rebuilt_store.data == live_store.data
    retry = m.SendMessage(meta=live.meta("bob", key="m2"), body=m.PlainBody(text="hi"))
    assert decide(rebuilt, retry, NOW) == Duplicate(4)
    following = decide(
        rebuilt, m.SendMessage(meta=live.meta("bob"), body=m.PlainBody(text="x")), NOW
    )
    assert isinstance(following, Accepted)
    assert following.event.meta.seq == 6


def test_discarded_batch_leaves_committed_state() -> None:
    """An aborted transaction's decisions must not leak into the next batch."""
    c = Conversation()
    c.group()
    c.state.flush()
    assert isinstance(c.send("bob", key="lost"), Accepted)
    c.state.discard()
    conversation = c.state.conversation("c1")
    assert conversation is not None
    assert conversation.last_seq == 1
    retried = c.send("bob", key="lost")
    assert isinstance(retried, Accepted)
    assert retried.event.meta.seq == 2
