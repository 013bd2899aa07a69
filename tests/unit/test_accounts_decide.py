"""The account registry's pure rules: names, devices, profiles, idempotency, dense seqs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from schemas import models as m
from schemas.models import RejectionCode
from streams.accounts.decide import (
    Accepted,
    Decision,
    Duplicate,
    Limits,
    Rejected,
    Unchanged,
    decide,
    evolve,
)
from streams.accounts.state import AccountState, DeviceStatus
from streams.store import MemoryStore

NOW = datetime(2026, 11, 28, tzinfo=UTC)
PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
TOKEN_HASH = "ab" * 32


class Registry:
    """Drives decide/evolve as the registry does, over an in-memory store."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.store = MemoryStore()
        self.state = AccountState(self.store)
        self.limits = limits or Limits()
        self.counter = 0
        self.events: list[m.AccountEvent] = []

    def meta(
        self, user: str, device: str = "registration", key: str | None = None
    ) -> m.AccountCommandMeta:
        self.counter += 1
        return m.AccountCommandMeta(
            command_id=f"cmd-{self.counter}",
            user_id=user,
            device_id=device,
            client_msg_id=f"k{self.counter}" if key is None else key,
            issued_at=NOW,
        )

    def run(self, command: Any) -> Decision:
        decision = decide(self.state, command, NOW, self.limits)
        if isinstance(decision, Accepted):
            assert evolve(self.state, decision.event)
            self.events.append(decision.event)
        return decision

    def register(self, user: str = "alice", name: str = "Alice", **kw: Any) -> Decision:
        return self.run(
            m.RegisterAccount(
                meta=self.meta(user, **kw), display_name=name, password_hash=PASSWORD_HASH
            )
        )

    def add_device(self, user: str, device: str, token_hash: str = TOKEN_HASH, **kw: Any) -> Any:
        return self.run(
            m.AddDevice(
                meta=self.meta(user, device, **kw),
                device_name=f"{device}'s name",
                token_hash=token_hash,
            )
        )

    def revoke(self, user: str, target: str, device: str = "phone", **kw: Any) -> Decision:
        return self.run(m.RevokeDevice(meta=self.meta(user, device, **kw), target_device_id=target))

    def rename(self, user: str, name: str, device: str = "phone", **kw: Any) -> Decision:
        return self.run(m.ChangeProfile(meta=self.meta(user, device, **kw), display_name=name))


def seq_of(decision: Decision) -> int:
    assert isinstance(decision, Accepted), decision
    return decision.event.meta.seq


def rejected(decision: Decision, code: RejectionCode) -> str:
    assert isinstance(decision, Rejected), decision
    assert decision.code == code, decision
    return decision.reason


def test_registration_opens_the_account_at_seq_one() -> None:
    r = Registry()
    decision = r.register("alice", "Alice")
    assert isinstance(decision, Accepted)
    event = decision.event
    assert isinstance(event, m.AccountRegistered)
    assert (event.meta.seq, event.meta.event_id, event.meta.user_id) == (1, "alice/1", "alice")
    assert (event.display_name, event.password_hash) == ("Alice", PASSWORD_HASH)
    assert (event.meta.command_id, event.meta.occurred_at) == ("cmd-1", NOW)


def test_seqs_are_dense_per_account_and_independent_across_accounts() -> None:
    r = Registry()
    assert seq_of(r.register("alice")) == 1
    assert seq_of(r.register("bob")) == 1
    assert seq_of(r.add_device("alice", "phone")) == 2
    assert seq_of(r.add_device("alice", "laptop")) == 3
    assert seq_of(r.add_device("bob", "phone")) == 2
    assert seq_of(r.rename("alice", "Alice L.")) == 4
    assert seq_of(r.revoke("alice", "laptop")) == 5
    assert [e.meta.event_id for e in r.events if e.meta.user_id == "alice"] == [
        f"alice/{n}" for n in range(1, 6)
    ]


@pytest.mark.parametrize(
    "user", ["al", "a" * 33, "Alice", "al ice", "alice!", "élise", "", "al\x1fice"]
)
def test_user_name_must_be_3_to_32_of_lowercase_digits_and_marks(user: str) -> None:
    assert "3 to 32" in rejected(Registry().register(user), RejectionCode.INVALID)


@pytest.mark.parametrize("user", ["abc", "a" * 32, "a.b_c-9", "007"])
def test_user_names_within_the_rule_are_accepted(user: str) -> None:
    assert seq_of(Registry().register(user)) == 1


def test_a_taken_user_name_is_a_conflict_for_another_client() -> None:
    r = Registry()
    r.register("alice", device="registration", key="first")
    reason = rejected(
        r.register("alice", device="registration", key="other"), RejectionCode.CONFLICT
    )
    assert reason == "user name taken"
    assert rejected(r.register("alice", device="elsewhere", key="first"), RejectionCode.CONFLICT)


def test_a_retried_registration_is_a_duplicate_of_seq_one() -> None:
    r = Registry()
    r.register("alice", device="registration", key="signup-1")
    r.add_device("alice", "phone")
    assert r.register("alice", "Another name", device="registration", key="signup-1") == (
        Duplicate(1)
    )
    assert len(r.events) == 2


@pytest.mark.parametrize("name", ["", " ", "\t\n", "x" * 65])
def test_display_name_is_1_to_64_characters(name: str) -> None:
    assert "display_name" in rejected(Registry().register("alice", name), RejectionCode.INVALID)


def test_a_64_character_display_name_is_accepted() -> None:
    assert seq_of(Registry().register("alice", "é" * 64)) == 1


@pytest.mark.parametrize("password_hash", ["hunter2", "", "$2b$12$bcrypt", "argon2id$v=19"])
def test_password_must_arrive_as_an_argon2_hash(password_hash: str) -> None:
    r = Registry()
    command = m.RegisterAccount(
        meta=r.meta("alice"), display_name="Alice", password_hash=password_hash
    )
    assert "argon2" in rejected(r.run(command), RejectionCode.INVALID)


def test_ids_must_be_present_and_bounded() -> None:
    r = Registry()
    assert "client_msg_id" in rejected(r.register("alice", key=""), RejectionCode.INVALID)
    assert "device_id" in rejected(r.register("alice", device=""), RejectionCode.INVALID)
    assert "device_id" in rejected(r.register("alice", device="d" * 129), RejectionCode.INVALID)


def test_adding_a_device_needs_an_account() -> None:
    r = Registry()
    assert rejected(r.add_device("ghost", "phone"), RejectionCode.INVALID) == "no such account"
    assert r.events == []


def test_a_device_id_is_added_once_and_never_again_after_revocation() -> None:
    r = Registry()
    r.register("alice")
    assert seq_of(r.add_device("alice", "phone")) == 2
    assert "already added" in rejected(r.add_device("alice", "phone"), RejectionCode.CONFLICT)
    assert seq_of(r.revoke("alice", "phone")) == 3
    assert "revoked" in rejected(r.add_device("alice", "phone"), RejectionCode.CONFLICT)


def test_the_same_device_id_may_join_different_accounts() -> None:
    r = Registry()
    r.register("alice")
    r.register("bob")
    assert seq_of(r.add_device("alice", "shared")) == 2
    assert seq_of(r.add_device("bob", "shared")) == 2


@pytest.mark.parametrize("token_hash", ["AB" * 32, "ab" * 31, "ab" * 33, "zz" * 32, "secret"])
def test_token_must_arrive_as_a_sha256_in_lowercase_hex(token_hash: str) -> None:
    r = Registry()
    r.register("alice")
    reason = rejected(r.add_device("alice", "phone", token_hash), RejectionCode.INVALID)
    assert "token_hash" in reason


def test_device_name_is_bounded() -> None:
    r = Registry()
    r.register("alice")
    for name in ("", "n" * 65):
        command = m.AddDevice(
            meta=r.meta("alice", "phone"), device_name=name, token_hash=TOKEN_HASH
        )
        assert "device_name" in rejected(r.run(command), RejectionCode.INVALID)


def test_at_most_100_active_devices_and_revoking_frees_a_place() -> None:
    r = Registry()
    r.register("alice")
    for i in range(100):
        seq_of(r.add_device("alice", f"d{i}"))
    assert "100 active" in rejected(r.add_device("alice", "d100"), RejectionCode.TOO_LARGE)
    seq_of(r.revoke("alice", "d0", device="d1"))
    assert seq_of(r.add_device("alice", "d100")) == 103


def test_the_device_limit_is_configurable() -> None:
    r = Registry(Limits(max_active_devices=1))
    r.register("alice")
    seq_of(r.add_device("alice", "phone"))
    rejected(r.add_device("alice", "laptop"), RejectionCode.TOO_LARGE)


def test_revoking_needs_an_existing_device_and_is_unchanged_when_done_already() -> None:
    r = Registry()
    r.register("alice")
    r.add_device("alice", "phone")
    r.add_device("alice", "laptop")
    assert rejected(r.revoke("alice", "tablet"), RejectionCode.INVALID) == "no such device"
    decision = r.revoke("alice", "laptop")
    assert isinstance(decision, Accepted)
    assert isinstance(decision.event, m.DeviceRevoked)
    assert decision.event.target_device_id == "laptop"
    assert r.state.device("alice", "laptop") == DeviceStatus.REVOKED
    assert r.revoke("alice", "laptop") == Unchanged()
    assert len(r.events) == 4


def test_revoking_on_an_unknown_account_is_refused() -> None:
    assert rejected(Registry().revoke("ghost", "phone"), RejectionCode.INVALID) == "no such account"


def test_profile_changes_need_an_account_a_valid_name_and_a_difference() -> None:
    r = Registry()
    assert rejected(r.rename("alice", "A"), RejectionCode.INVALID) == "no such account"
    r.register("alice", "Alice")
    assert r.rename("alice", "Alice") == Unchanged()
    rejected(r.rename("alice", ""), RejectionCode.INVALID)
    rejected(r.rename("alice", "y" * 65), RejectionCode.INVALID)
    decision = r.rename("alice", "Alice Liddell")
    assert isinstance(decision, Accepted)
    assert isinstance(decision.event, m.ProfileChanged)
    assert decision.event.display_name == "Alice Liddell"
    assert r.rename("alice", "Alice Liddell") == Unchanged()


def test_a_retry_answers_the_original_seq_and_writes_nothing() -> None:
    r = Registry()
    r.register("alice")
    assert seq_of(r.add_device("alice", "phone", key="login-1")) == 2
    r.rename("alice", "Al")
    assert r.add_device("alice", "phone", key="login-1") == Duplicate(2)
    assert r.rename("alice", "Something else", key="k3") == Duplicate(3)
    assert len(r.events) == 3


def test_the_idempotency_key_is_per_account_and_device() -> None:
    r = Registry()
    r.register("alice", device="registration", key="same")
    assert seq_of(r.register("bob", device="registration", key="same")) == 1
    assert seq_of(r.add_device("alice", "phone", key="same")) == 2


def test_a_rejected_command_is_not_remembered_so_its_retry_is_decided_again() -> None:
    r = Registry()
    rejected(r.add_device("alice", "phone", key="early"), RejectionCode.INVALID)
    r.register("alice")
    assert seq_of(r.add_device("alice", "phone", key="early")) == 2


def test_rebuilding_from_the_events_gives_the_live_state() -> None:
    live = Registry()
    live.register("alice", "Alice")
    live.register("bob", "Bob")
    for device in ("phone", "laptop", "tablet"):
        live.add_device("alice", device)
    live.add_device("bob", "phone")
    live.revoke("alice", "tablet")
    live.revoke("alice", "tablet")
    live.rename("alice", "Alice L.")
    live.rename("bob", "Bob")
    live.add_device("alice", "phone", key="k3")
    live.state.flush()

    store = MemoryStore()
    rebuilt = AccountState(store)
    assert all(evolve(rebuilt, event) for event in live.events)
    rebuilt.flush()
    assert store.data == live.store.data
    assert not any(evolve(rebuilt, event) for event in live.events)
    account = rebuilt.account("alice")
    assert account is not None
    assert (account.last_seq, account.display_name, account.active_devices) == (6, "Alice L.", 2)


def test_the_state_keeps_no_secret() -> None:
    r = Registry()
    r.register("alice")
    r.add_device("alice", "phone")
    r.state.flush()
    stored = b"".join(k + v for k, v in r.store.data.items())
    assert PASSWORD_HASH.encode() not in stored
    assert TOKEN_HASH.encode() not in stored


def test_pending_state_is_dropped_on_discard_and_kept_on_flush() -> None:
    r = Registry()
    r.register("alice")
    r.state.discard()
    assert r.state.account("alice") is None
    assert r.store.data == {}
    r.register("alice", key="again")
    r.state.flush({3: 17})
    assert r.state.account("alice") is not None
    assert r.state.applied_offset(3) == 17
    assert r.state.applied_offset(0) == 0


def test_evolve_refuses_a_gap_a_headless_log_and_a_second_registration() -> None:
    source = Registry()
    source.register("alice")
    source.add_device("alice", "phone")
    source.add_device("alice", "laptop")
    registered, phone, laptop = source.events
    state = AccountState(MemoryStore())
    headless = phone.model_copy(update={"meta": registered.meta})
    with pytest.raises(ValueError, match="no registration"):
        evolve(state, headless)
    with pytest.raises(ValueError, match="gap"):
        evolve(state, phone)
    evolve(state, registered)
    with pytest.raises(ValueError, match="gap"):
        evolve(state, laptop)
    second = registered.model_copy(update={"meta": phone.meta})
    with pytest.raises(ValueError, match="registered again"):
        evolve(state, second)


def test_an_erased_account_takes_no_command_and_a_second_erasure_is_a_conflict() -> None:
    r = Registry()
    r.register("alice")
    r.add_device("alice", "phone")

    def erase(erasure_id: str) -> Decision:
        return r.run(
            m.EraseAccount(
                meta=r.meta("alice", "compliance", key=erasure_id),
                erasure_id=erasure_id,
                officer="compliance:op1",
                case_ref="C-1",
            )
        )

    first = erase("erasure-1")
    assert isinstance(first, Accepted) and isinstance(first.event, m.AccountErased)
    assert erase("erasure-1") == Duplicate(seq_of(first)), "a repeat of the same erasure"
    assert "already erased" in rejected(erase("erasure-2"), RejectionCode.CONFLICT)
    assert "was erased" in rejected(r.rename("alice", "Al"), RejectionCode.FORBIDDEN)
