"""The account registry against the real broker: rules, answers, dead letters, kill -9."""

from __future__ import annotations

import shutil
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from schemas import codec
from schemas import models as m
from schemas.partitioning import partition_for
from tests.integration.accounts_process import (
    AccountsProcess,
    account_commands,
    account_meta,
    add_device,
    register,
)
from tests.integration.log import (
    LogRecord,
    command_meta,
    decoded,
    fresh_topics,
    read_committed,
)
from tests.integration.test_sequencer_crash import kill_once_written

PARTITIONS = 4


def by_account(events: list[Any]) -> dict[str, list[int]]:
    seqs: dict[str, list[int]] = {}
    for event in events:
        seqs.setdefault(event.meta.user_id, []).append(event.meta.seq)
    return seqs


@dataclass
class Exchange:
    outcomes: list[Any]
    events: list[Any]
    dead: list[LogRecord]

    def answer(self, command: Any) -> Any:
        found = [o for o in self.outcomes if o.command_id == command.meta.command_id]
        assert len(found) == 1, found
        return found[0]

    def accepted(self, command: Any) -> tuple[int | None, bool]:
        outcome = self.answer(command)
        assert isinstance(outcome, m.AccountCommandAccepted), outcome
        assert outcome.user_id == command.meta.user_id
        return outcome.seq, outcome.duplicate

    def refused(self, command: Any) -> tuple[m.RejectionCode, str]:
        outcome = self.answer(command)
        assert isinstance(outcome, m.CommandRejected), outcome
        meta = command.meta
        assert outcome.actor == m.Actor(user_id=meta.user_id, device_id=meta.device_id)
        assert outcome.client_msg_id == meta.client_msg_id
        return outcome.code, outcome.reason


def exchange(
    tmp_path: Path, sends: list[tuple[str, Any]], *, events: int, dead: int = 0
) -> Exchange:
    """Run the registry, send each (key, command or raw bytes) as the edge would, and read
    back everything it wrote once each record has its answer."""
    topics = fresh_topics(partitions=PARTITIONS)
    registry = AccountsProcess(topics, tmp_path)
    registry.start()
    try:
        out = account_commands(topics)
        for key, command in sends:
            if isinstance(command, bytes):
                out.send_raw(key, command)
            else:
                out.send(command, conversation_id=key)
        out.flush()
        result = Exchange(
            decoded(read_committed(topics.outcomes.name, expected=len(sends))),
            decoded(read_committed(topics.accounts.name, expected=events)),
            read_committed(topics.dead_letters.name, expected=dead),
        )
        assert registry.alive()
    finally:
        registry.stop()
    assert len(result.outcomes) == len(sends)
    assert (len(result.events), len(result.dead)) == (events, dead)
    assert {d.headers["source-topic"].decode() for d in result.dead} <= {
        topics.account_commands.name
    }
    assert "Traceback" not in registry.log()
    return result


def test_accounts_and_devices_follow_the_rules(kafka_bootstrap: str, tmp_path: Path) -> None:
    signup = register("alice", key="signup-1")
    phone = add_device("alice", "phone")
    laptop = add_device("alice", "laptop")
    revoke = m.RevokeDevice(meta=account_meta("alice", "phone"), target_device_id="laptop")
    revoke_again = m.RevokeDevice(meta=account_meta("alice", "phone"), target_device_id="laptop")
    taken = register("alice", key="mallory-signup")
    retry = register("alice", key="signup-1")
    rename = m.ChangeProfile(meta=account_meta("alice", "phone"), display_name="Alice L.")
    readd = add_device("alice", "laptop")
    bob = register("bob")
    commands: list[Any] = [signup, phone, laptop, revoke, revoke_again, taken, retry, rename]
    commands += [readd, bob]
    result = exchange(tmp_path, [(c.meta.user_id, c) for c in commands], events=6)

    assert [result.accepted(c) for c in (signup, phone, laptop, revoke, rename, bob)] == [
        (1, False),
        (2, False),
        (3, False),
        (4, False),
        (5, False),
        (1, False),
    ]
    assert result.accepted(revoke_again) == (None, False)
    assert result.accepted(retry) == (1, True)
    assert result.refused(taken) == (m.RejectionCode.CONFLICT, "user name taken")
    assert result.refused(readd)[0] == m.RejectionCode.CONFLICT

    alice = [e for e in result.events if e.meta.user_id == "alice"]
    assert [type(e) for e in alice] == [
        m.AccountRegistered,
        m.DeviceAdded,
        m.DeviceAdded,
        m.DeviceRevoked,
        m.ProfileChanged,
    ]
    assert [e.meta.event_id for e in alice] == [f"alice/{n}" for n in range(1, 6)]
    assert [e.meta.device_id for e in alice[1:3]] == ["phone", "laptop"]
    assert alice[1].token_hash == phone.token_hash
    assert alice[0].password_hash == signup.password_hash
    assert by_account(result.events) == {"alice": [1, 2, 3, 4, 5], "bob": [1]}


def test_bad_records_are_dead_lettered_or_refused_and_the_registry_keeps_serving(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    elsewhere = next(
        u
        for u in ("bob", "carol", "dave", "erin", "frank")
        if partition_for(u, PARTITIONS) != partition_for("alice", PARTITIONS)
    )
    misrouted = register(elsewhere)
    conversation_command = m.AddMember(meta=command_meta("c1", "alice"), user_id="mallory")
    unknown_schema = codec.MAGIC + bytes.fromhex("00112233445566ff") + b"\x02\x04"
    signup = register("alice")
    result = exchange(
        tmp_path,
        [
            ("alice", b"\x00 definitely not avro"),
            ("alice", unknown_schema),
            ("alice", conversation_command),
            ("alice", misrouted),
            ("alice", signup),
        ],
        events=1,
        dead=3,
    )

    refusals = [o for o in result.outcomes if isinstance(o, m.CommandRejected)]
    assert [(r.code, r.command_id) for r in refusals[:3]] == [
        (m.RejectionCode.MALFORMED, None),
        (m.RejectionCode.UNKNOWN_SCHEMA, None),
        (m.RejectionCode.INVALID, None),
    ]
    assert "is not a command" in refusals[2].reason
    code, reason = result.refused(misrouted)
    assert code == m.RejectionCode.INVALID
    assert "wrong partition for its account" in reason
    assert result.accepted(signup) == (1, False)
    assert all(d.headers["reason"] and d.headers["source-offset"] for d in result.dead)


ACCOUNTS = 10
N = 2000


def stream_of_commands() -> tuple[list[Any], dict[str, str]]:
    """Profile changes and logins across the accounts, with every 20th an edge's retry of an
    earlier command (new command id, same idempotency key); returns the commands and, per
    retry, the command id of its original."""
    users = [f"user{i}" for i in range(ACCOUNTS)]
    commands: list[Any] = []
    retry_of: dict[str, str] = {}
    for i in range(N):
        user = users[i % ACCOUNTS]
        if i % 20 == 19:
            original = commands[-7]
            meta = original.meta.model_copy(update={"command_id": f"retry-{i}"})
            commands.append(original.model_copy(update={"meta": meta}))
            retry_of[f"retry-{i}"] = original.meta.command_id
        elif i % 4 == 3:
            commands.append(add_device(user, f"{user}-device-{i}", key=f"m{i}"))
        else:
            commands.append(
                m.ChangeProfile(
                    meta=account_meta(user, f"{user}-device", f"m{i}"), display_name=f"name {i}"
                )
            )
    return commands, retry_of


@pytest.mark.parametrize("state_after_crash", ["kept", "wiped"])
def test_kill_9_mid_stream_then_restart(
    kafka_bootstrap: str, tmp_path: Path, state_after_crash: str
) -> None:
    """Small batches keep the registry mid-transaction most of the time, so the kill lands
    inside one; after restart no event is lost, none is written twice, every seq is dense
    and every command, retries included, is answered once, the retries with the first seq."""
    topics = fresh_topics(partitions=PARTITIONS)
    state_dir = tmp_path / "state"
    small_batches = {"PARLEY_MAX_BATCH": "5"}
    registry = AccountsProcess(
        topics, state_dir, log_path=tmp_path / "first.log", extra_env=small_batches
    )
    registry.start()
    out = account_commands(topics)
    signups = [register(f"user{i}") for i in range(ACCOUNTS)]
    for command in signups:
        out.send(command, conversation_id=command.meta.user_id)
    out.flush()
    commands, retry_of = stream_of_commands()
    expected_events = ACCOUNTS + N - len(retry_of)

    def stream() -> None:
        for command in commands:
            out.send(command, conversation_id=command.meta.user_id)
        out.flush()

    producer_thread = threading.Thread(target=stream)
    producer_thread.start()
    try:
        killed_at = kill_once_written(
            registry, topics.accounts.name, PARTITIONS, expected_events // 4
        )
        if state_after_crash == "wiped":
            shutil.rmtree(state_dir)
        producer_thread.join()
        restarted = AccountsProcess(topics, state_dir, log_path=tmp_path / "second.log")
        restarted.start()
        try:
            events = decoded(
                read_committed(topics.accounts.name, expected=expected_events, deadline_s=120)
            )
            outcomes = decoded(
                read_committed(topics.outcomes.name, expected=ACCOUNTS + N, deadline_s=120)
            )
        finally:
            restarted.stop()
    finally:
        registry.kill()
        producer_thread.join()

    assert killed_at < expected_events, "the crash happened before the stream ended"
    assert len(events) == expected_events
    for user, seqs in by_account(events).items():
        assert seqs == list(range(1, len(seqs) + 1)), user
    keys = Counter((e.meta.user_id, e.meta.device_id, e.meta.client_msg_id) for e in events)
    assert max(keys.values()) == 1
    assert {e.meta.client_msg_id for e in events} >= {f"m{i}" for i in range(N) if i % 20 != 19}

    answers = Counter(o.command_id for o in outcomes)
    assert len(outcomes) == ACCOUNTS + N
    assert set(answers.values()) == {1}
    answer = {o.command_id: o for o in outcomes}
    assert all(isinstance(o, m.AccountCommandAccepted) for o in outcomes)
    seq_of = {e.meta.command_id: e.meta.seq for e in events}
    for retry, original in retry_of.items():
        assert (answer[retry].seq, answer[retry].duplicate) == (seq_of[original], True)
    assert "Traceback" not in restarted.log()
