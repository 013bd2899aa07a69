"""The account registry's state: per account its last seq, name and devices, in a key-value store.

Like the sequencer's, this state is a cache of its log (the accounts topic): every value is
derived from events, writes stay pending until their transaction commits, and a lost store
is rebuilt by replaying the partition. No secret is kept here, not even hashed: deciding
needs none, and the hashes live only in the events.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum

from streams.sequencer.state import KeyValueStore


class DeviceStatus(StrEnum):
    """A revoked device id stays taken, so that nothing new ever answers to it again."""

    ACTIVE = "active"
    REVOKED = "revoked"


@dataclass(frozen=True)
class Account:
    last_seq: int
    display_name: str
    active_devices: int


def _key(*parts: str | int) -> bytes:
    """JSON-encoded, so that ids holding any character cannot run into each other."""
    return json.dumps(parts, separators=(",", ":")).encode()


@dataclass
class AccountState:
    """Typed reads through pending writes; `flush` makes them durable, `discard` drops them."""

    store: KeyValueStore
    pending: dict[bytes, bytes | None] = field(default_factory=dict)

    def _get(self, key: bytes) -> bytes | None:
        return self.pending[key] if key in self.pending else self.store.get(key)

    def account(self, user_id: str) -> Account | None:
        raw = self._get(_key("a", user_id))
        return None if raw is None else Account(**json.loads(raw))

    def put_account(self, user_id: str, account: Account) -> None:
        self.pending[_key("a", user_id)] = json.dumps(account.__dict__).encode()

    def device(self, user_id: str, device_id: str) -> DeviceStatus | None:
        raw = self._get(_key("d", user_id, device_id))
        return None if raw is None else DeviceStatus(raw.decode())

    def put_device(self, user_id: str, device_id: str, status: DeviceStatus) -> None:
        self.pending[_key("d", user_id, device_id)] = status.value.encode()

    def seq_of_command(self, user_id: str, device_id: str, client_msg_id: str) -> int | None:
        """The seq of the event an earlier command with this idempotency key produced."""
        raw = self._get(_key("k", user_id, device_id, client_msg_id))
        return None if raw is None else int(raw)

    def remember_command(self, user_id: str, device_id: str, client_msg_id: str, seq: int) -> None:
        self.pending[_key("k", user_id, device_id, client_msg_id)] = str(seq).encode()

    def applied_offset(self, partition: int) -> int:
        """The accounts-topic offset up to which the store reflects `partition`."""
        raw = self.store.get(_key("o", partition))
        return 0 if raw is None else int(raw)

    def flush(self, applied_offsets: dict[int, int] | None = None) -> None:
        changes = dict(self.pending)
        for partition, offset in (applied_offsets or {}).items():
            changes[_key("o", partition)] = str(offset).encode()
        if changes:
            self.store.write(changes)
        self.pending.clear()

    def discard(self) -> None:
        self.pending.clear()
