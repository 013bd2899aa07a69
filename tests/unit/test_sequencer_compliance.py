"""The sequencer's compliance and lifetime rules: erasure, redaction by an officer,
disappearing messages, retention and expiry (docs/compliance.md)."""

from __future__ import annotations

from datetime import timedelta

from schemas import models as m
from schemas.models import RejectionCode
from streams.sequencer.decide import Accepted, Unchanged, decide, evolve
from tests.unit.test_sequencer_decide import NOW, Conversation

DAY_MS = 86_400_000
OFFICER = "compliance:olga"


def test_only_compliance_erases_and_an_erased_person_acts_no_more() -> None:
    c = Conversation()
    c.group()
    c.expect_seq(m.SendMessage(meta=c.meta("bob"), body=m.PlainBody(text="mine")))
    erase = m.EraseSenderContent(meta=c.meta("alice"), user_id="bob", erasure_id="e1")
    c.expect_rejected(erase, RejectionCode.FORBIDDEN)
    seq = c.expect_seq(m.EraseSenderContent(meta=c.meta(OFFICER), user_id="bob", erasure_id="e1"))
    assert seq == 3
    again = m.EraseSenderContent(meta=c.meta(OFFICER), user_id="bob", erasure_id="e2")
    assert isinstance(c.run(again), Unchanged)
    c.expect_rejected(
        m.SendMessage(meta=c.meta("bob"), body=m.PlainBody(text="back")), RejectionCode.FORBIDDEN
    )
    c.expect_rejected(
        m.ReactToMessage(meta=c.meta("bob"), target_seq=2, emoji="👍", removed=False),
        RejectionCode.FORBIDDEN,
    )
    assert isinstance(c.send("carol"), Accepted)


def test_an_officer_redacts_a_message_in_a_conversation_they_are_not_in() -> None:
    c = Conversation()
    c.group()
    c.expect_seq(m.SendMessage(meta=c.meta("bob"), body=m.PlainBody(text="oops")))
    c.expect_rejected(
        m.RedactMessage(meta=c.meta("carol"), target_seq=2, reason="x"), RejectionCode.FORBIDDEN
    )
    assert c.expect_seq(m.RedactMessage(meta=c.meta(OFFICER), target_seq=2, reason="case 7")) == 3
    c.expect_rejected(
        m.EditMessage(meta=c.meta("bob"), target_seq=2, body=m.PlainBody(text="again")),
        RejectionCode.NO_SUCH_MESSAGE,
    )


def test_disappearing_messages_take_three_values_and_bind_new_sends() -> None:
    c = Conversation()
    c.group()
    for wrong in (1_000, 2 * DAY_MS):
        c.expect_rejected(
            m.SetDisappearingMessages(meta=c.meta("bob"), after_ms=wrong), RejectionCode.INVALID
        )
    c.expect_rejected(
        m.SetDisappearingMessages(meta=c.meta("zed"), after_ms=DAY_MS), RejectionCode.NOT_A_MEMBER
    )
    c.expect_seq(m.SetDisappearingMessages(meta=c.meta("bob"), after_ms=DAY_MS))
    assert isinstance(
        c.run(m.SetDisappearingMessages(meta=c.meta("carol"), after_ms=DAY_MS)), Unchanged
    )
    forever = m.SendMessage(meta=c.meta("alice"), body=m.PlainBody(text="x"))
    assert "send again" in c.expect_rejected(forever, RejectionCode.CONFLICT)
    longer = m.SendMessage(
        meta=c.meta("alice"), body=m.PlainBody(text="x"), expires_after_ms=7 * DAY_MS
    )
    c.expect_rejected(longer, RejectionCode.CONFLICT)
    c.expect_seq(
        m.SendMessage(meta=c.meta("alice"), body=m.PlainBody(text="x"), expires_after_ms=DAY_MS)
    )
    c.expect_seq(m.SetDisappearingMessages(meta=c.meta("carol"), after_ms=None))
    assert isinstance(c.send("alice"), Accepted)


def test_retention_is_set_by_compliance_and_the_shortest_limit_wins() -> None:
    c = Conversation()
    c.group()
    c.expect_rejected(m.SetRetention(meta=c.meta("alice"), keep_days=30), RejectionCode.FORBIDDEN)
    c.expect_rejected(m.SetRetention(meta=c.meta(OFFICER), keep_days=0), RejectionCode.INVALID)
    c.expect_seq(m.SetRetention(meta=c.meta(OFFICER), keep_days=30))
    c.expect_seq(m.SetDisappearingMessages(meta=c.meta("bob"), after_ms=90 * DAY_MS))
    too_long = m.SendMessage(
        meta=c.meta("bob"), body=m.PlainBody(text="x"), expires_after_ms=90 * DAY_MS
    )
    c.expect_rejected(too_long, RejectionCode.CONFLICT)
    c.expect_seq(
        m.SendMessage(meta=c.meta("bob"), body=m.PlainBody(text="x"), expires_after_ms=30 * DAY_MS)
    )


def test_expiry_takes_only_messages_whose_time_has_come() -> None:
    c = Conversation()
    c.group()
    short = c.expect_seq(
        m.SendMessage(meta=c.meta("bob"), body=m.PlainBody(text="a"), expires_after_ms=60_000)
    )
    long = c.expect_seq(
        m.SendMessage(meta=c.meta("bob"), body=m.PlainBody(text="b"), expires_after_ms=DAY_MS)
    )
    plain = c.expect_seq(m.SendMessage(meta=c.meta("bob"), body=m.PlainBody(text="c")))
    expire = m.ExpireMessages(meta=c.meta("compliance:expiry"), seqs=(short, long, plain, 99))
    assert isinstance(c.run(expire), Unchanged)  # nothing is due at NOW
    later = NOW + timedelta(minutes=2)
    decision = decide(c.state, expire, later)
    assert isinstance(decision, Accepted)
    assert isinstance(decision.event, m.MessagesExpired)
    assert decision.event.seqs == (short,)
    evolve(c.state, decision.event)
    again = m.ExpireMessages(meta=c.meta("compliance:expiry"), seqs=(short,))
    assert isinstance(decide(c.state, again, later), Unchanged)
    c.expect_rejected(m.ExpireMessages(meta=c.meta("alice"), seqs=(long,)), RejectionCode.FORBIDDEN)


def test_a_sealed_body_may_carry_its_tag_over_the_text_limit() -> None:
    c = Conversation()
    c.group()
    limit = c.limits.max_body_bytes
    sealed = m.SealedBody(key_id="p/bob", algorithm="a", nonce=b"n" * 12, ciphertext=b"x" * limit)
    c.expect_seq(
        m.SendMessage(
            meta=c.meta("bob"), body=sealed.model_copy(update={"ciphertext": b"x" * (limit + 16)})
        )
    )
    c.expect_rejected(
        m.SendMessage(
            meta=c.meta("bob"),
            body=sealed.model_copy(update={"ciphertext": b"x" * (limit + 17)}),
        ),
        RejectionCode.TOO_LARGE,
    )
