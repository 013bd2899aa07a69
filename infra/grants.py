"""The operator's command for the compliance role: `python -m infra grant-compliance USER
--case REF` and `python -m infra revoke-compliance USER [--case REF]`.

An operator is whoever runs commands on the platform's hosts with its environment (the
broker's address, the topic prefix): that access, not any user API, is what grants the
role. The command is an account command (`GrantCompliance`, `RevokeCompliance`) to the
accounts processor, which decides it like any other and writes the event every edge node
folds (edge/compliance/roles.py); the command waits for the processor's outcome. Each use
is audited like an officer's action: a start record before the command, its outcome after.
"""

from __future__ import annotations

import getpass
import socket
import time
import uuid
from datetime import UTC, datetime

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from edge.accounts import normalise_user_name
from edge.compliance.audit import AuditedAction, AuditLog, ComplianceAction, Outcome
from kafkalog.presets import FOLLOWER, IMMEDIATE, private_reader, producer
from schemas import codec
from schemas import models as m
from schemas.errors import MalformedRecordError, UnknownSchemaError
from schemas.partitioning import partition_for
from schemas.topics import REPLY_PARTITION_HEADER, Topics
from streams.accounts.decide import CASE_REF

OPERATOR_DEVICE = "operator-cli"
TIMEOUT_S = 30.0
EVERY_CASE = "*"
"""The audit's case for a revocation of every case."""


class GrantError(RuntimeError):
    """The processor refused the change, or did not answer in time."""


def operator_identity() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()}"


def change_role(
    bootstrap: str, topics: Topics, user: str, case: str | None, *, grant: bool
) -> str:
    """Grant (or revoke) the role; what happened, in a sentence. Raises `GrantError`."""
    user_id = normalise_user_name(user)
    if case is not None and not CASE_REF.fullmatch(case):
        raise GrantError("a case reference is 1 to 64 of A-Z, a-z, 0-9, . _ : / -")
    operator = operator_identity()
    meta = m.AccountCommandMeta(
        command_id=str(uuid.uuid4()),
        user_id=user_id,
        device_id=OPERATOR_DEVICE,
        client_msg_id=str(uuid.uuid4()),
        issued_at=datetime.now(UTC),
    )
    command: m.GrantCompliance | m.RevokeCompliance
    if grant:
        if case is None:
            raise GrantError("a grant names its case (--case)")
        command = m.GrantCompliance(meta=meta, case_ref=case, operator=operator)
    else:
        command = m.RevokeCompliance(meta=meta, case_ref=case, operator=operator)
    audit = AuditLog(bootstrap, topics.audit)
    action = AuditedAction(
        action=ComplianceAction.ROLE_GRANT if grant else ComplianceAction.ROLE_REVOKE,
        officer=f"operator:{operator}",
        device_id=OPERATOR_DEVICE,
        case_ref=case or EVERY_CASE,
        target=f"user:{user_id}",
        origin=f"operator@{socket.gethostname()}",
    )
    audit.started(action)
    try:
        outcome = submit(bootstrap, topics, command)
    except Exception as e:
        audit.ended(action, Outcome.FAILED, type(e).__name__)
        audit.close()
        raise
    if isinstance(outcome, m.CommandRejected):
        audit.ended(action, Outcome.FAILED, f"rejected: {outcome.code.value}")
        audit.close()
        raise GrantError(f"refused: {outcome.reason}")
    changed = isinstance(outcome, m.AccountCommandAccepted) and outcome.seq is not None
    audit.ended(action, Outcome.SUCCEEDED, "changed" if changed else "unchanged")
    audit.close()
    verb = "granted" if grant else "revoked"
    scope = f"case {case}" if case else "every case"
    if not changed:
        return f"{user_id}: nothing to change ({scope} was already {verb})"
    return f"{user_id}: compliance role {verb} for {scope}"


def submit(
    bootstrap: str, topics: Topics, command: m.GrantCompliance | m.RevokeCompliance
) -> m.AccountCommandAccepted | m.CommandRejected:
    """Produce the command with a reply partition of ours and wait for its outcome.

    The reply partition is the outcomes topic's last: edge nodes read theirs from 0 up and
    pass over outcomes of commands they did not send, so sharing one is harmless."""
    reply = topics.outcomes.partitions - 1
    reader = Consumer(private_reader(bootstrap, FOLLOWER, name="operator-outcomes"))
    try:
        where = TopicPartition(topics.outcomes.name, reply)
        high = reader.get_watermark_offsets(where, timeout=10, cached=False)[1]
        reader.assign([TopicPartition(topics.outcomes.name, reply, high)])
        writer = Producer(producer(bootstrap, IMMEDIATE))
        user_id = command.meta.user_id
        writer.produce(
            topics.account_commands.name,
            key=user_id,
            value=codec.encode(command),
            partition=partition_for(user_id, topics.account_commands.partitions),
            headers=[(REPLY_PARTITION_HEADER, str(reply).encode())],
        )
        if writer.flush(TIMEOUT_S) != 0:
            raise GrantError(f"the broker did not take the command within {TIMEOUT_S:.0f} s")
        return _outcome(reader, command.meta.command_id)
    finally:
        reader.close()


def _outcome(reader: Consumer, command_id: str) -> m.AccountCommandAccepted | m.CommandRejected:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        for record in reader.consume(num_messages=100, timeout=0.2):
            error = record.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    raise KafkaException(error)
                continue
            try:
                outcome = codec.decode(record.value() or b"")
            except (MalformedRecordError, UnknownSchemaError):
                continue
            if (
                isinstance(outcome, m.AccountCommandAccepted | m.CommandRejected)
                and outcome.command_id == command_id
            ):
                return outcome
    raise GrantError(
        f"no answer from the accounts processor within {TIMEOUT_S:.0f} s (is it running?)"
    )
