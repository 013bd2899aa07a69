"""The account registry's state: per account its last seq, name and devices, in a key-value store.

Like the sequencer's, this state is a cache of its log (the accounts topic): every value is
derived from events, writes stay pending until their transaction commits, and a lost store
is rebuilt by replaying the partition. No secret is kept here, not even hashed: deciding
needs none, and the hashes live only in the events.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from streams.keys import key
from streams.state import LoggedState


class DeviceStatus(StrEnum):
    """A revoked device id stays taken, so that nothing new ever answers to it again."""

    ACTIVE = "active"
    REVOKED = "revoked"


@dataclass(frozen=True)
class Account:
    last_seq: int
    display_name: str
    """Empty when the name is sealed (only the log holds it, under the person's key)."""
    active_devices: int
    erased: bool = False
    """A tombstone: the person was erased; the user name stays taken."""


@dataclass
class AccountState(LoggedState):
    """Typed reads through pending writes; `flush` makes them durable, `discard` drops them."""

    def account(self, user_id: str) -> Account | None:
        raw = self._get(key("a", user_id))
        return None if raw is None else Account(**json.loads(raw))

    def put_account(self, user_id: str, account: Account) -> None:
        self._put(key("a", user_id), json.dumps(account.__dict__).encode())

    def device(self, user_id: str, device_id: str) -> DeviceStatus | None:
        raw = self._get(key("d", user_id, device_id))
        return None if raw is None else DeviceStatus(raw.decode())

    def put_device(self, user_id: str, device_id: str, status: DeviceStatus) -> None:
        self._put(key("d", user_id, device_id), status.value.encode())

    def seq_of_command(self, user_id: str, device_id: str, client_msg_id: str) -> int | None:
        """The seq of the event an earlier command with this idempotency key produced."""
        raw = self._get(key("k", user_id, device_id, client_msg_id))
        return None if raw is None else int(raw)

    def compliance_cases(self, user_id: str) -> list[str]:
        """The cases under which the account may act as a compliance officer, sorted."""
        raw = self._get(key("c", user_id))
        return [] if raw is None else sorted(json.loads(raw))

    def put_compliance_cases(self, user_id: str, cases: list[str]) -> None:
        self._put(key("c", user_id), json.dumps(sorted(cases)).encode() if cases else None)

    def remember_command(self, user_id: str, device_id: str, client_msg_id: str, seq: int) -> None:
        self._put(key("k", user_id, device_id, client_msg_id), str(seq).encode())
