"""Runs the real account registry as a separate process, and sends it account commands."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from schemas import models as m
from schemas.topics import Topics
from tests.integration.log import CommandProducer
from tests.integration.processes import ParleyProcess

PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"


class AccountsProcess(ParleyProcess):
    """`python -m streams.accounts` for one test's topics."""

    def __init__(
        self,
        topics: Topics,
        state_dir: Path,
        instance: str = "0",
        log_path: Path | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        prefix = topics.accounts.name.rsplit(".", 1)[0]
        self.topics = topics
        self.instance = instance
        super().__init__(
            "streams.accounts",
            prefix,
            state_dir,
            log_path or state_dir / f"accounts-{instance}.log",
            {
                "PARLEY_PARTITIONS": str(topics.account_commands.partitions),
                "PARLEY_ACCOUNTS_INSTANCE": instance,
                "PARLEY_ACCOUNTS_GROUP": f"{prefix}-accounts",
                **(extra_env or {}),
            },
        )


def account_commands(topics: Topics, reply_partition: int = 0) -> CommandProducer:
    """A producer of account commands as the edge sends them: to the account-commands topic,
    keyed and partitioned by user_id (pass it as `conversation_id`), with a reply header."""
    return CommandProducer(replace(topics, commands=topics.account_commands), reply_partition)


def account_meta(user: str, device: str, client_msg_id: str | None = None) -> m.AccountCommandMeta:
    return m.AccountCommandMeta(
        command_id=str(uuid.uuid4()),
        user_id=user,
        device_id=device,
        client_msg_id=client_msg_id or str(uuid.uuid4()),
        issued_at=datetime.now(UTC),
    )


def register(user: str, device: str = "registration", key: str | None = None) -> m.RegisterAccount:
    return m.RegisterAccount(
        meta=account_meta(user, device, key),
        display_name=user.capitalize(),
        password_hash=PASSWORD_HASH,
    )


def add_device(user: str, device: str, key: str | None = None) -> m.AddDevice:
    return m.AddDevice(
        meta=account_meta(user, device, key),
        device_name=f"{device} of {user}",
        token_hash=uuid.uuid5(uuid.NAMESPACE_OID, device).hex * 2,
    )
