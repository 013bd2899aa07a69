"""Presence and typing: ephemeral, never in the events log.

Presence comes from the session directory every edge node already writes (`UserOnNode`
per user and node, refreshed while connected, with an expiry): this node follows it and
folds it per user into online / away / offline and a last-seen time. A change is pushed
only to devices on this node that subscribed to that person (and share a conversation
with them), coalesced over `coalesce_s`; an idle contact costs nothing, and a person's
status costs one record per node per refresh, however many contacts they have.

Typing goes from the typist's node straight to the nodes where members are online, as a
`TypingSignal` on their deliveries partitions (the nodes are known from the same session
directory), and ends on its own: the receiving node pushes `active: false` when a signal
is not refreshed within its `expires_in_ms`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from edge.connection import DeviceConnection
from edge.protocol.answers import PresenceStatus
from edge.protocol.pushes import PresencePush, TypingPush
from kafkalog.decoding import SessionRecord
from kafkalog.follower import Decoded
from schemas import models as m

log = logging.getLogger("parley.edge")

Status = Literal["online", "away", "offline"]


@dataclass
class NodeSession:
    devices: int
    active: int
    expires_ms: int


def now_ms() -> int:
    return int(time.time() * 1000)


class PresenceBoard:
    def __init__(self, coalesce_s: float = 0.25) -> None:
        self.coalesce_s = coalesce_s
        self.sessions: dict[str, dict[int, NodeSession]] = defaultdict(dict)
        self.last_seen_ms: dict[str, int] = {}
        self.watchers: dict[str, set[DeviceConnection]] = defaultdict(set)
        self.pushed: dict[str, Status] = {}
        self.dirty: set[str] = set()
        self._flush: asyncio.TimerHandle | None = None

    def status(self, user_id: str, at_ms: int | None = None) -> Status:
        at = now_ms() if at_ms is None else at_ms
        live = [s for s in self.sessions.get(user_id, {}).values() if s.expires_ms > at]
        if any(s.active != 0 for s in live):
            return "online"
        return "away" if any(s.devices > 0 for s in live) else "offline"

    def nodes_of(self, user_id: str) -> list[int]:
        at = now_ms()
        return [n for n, s in self.sessions.get(user_id, {}).items() if s.expires_ms > at]

    def describe(self, user_id: str) -> PresenceStatus:
        return PresenceStatus(
            user_id=user_id,
            status=self.status(user_id),
            last_seen_ms=self.last_seen_ms.get(user_id),
        )

    def on_record(self, record: Decoded[SessionRecord]) -> None:
        session = record.value
        self.apply(session.user_id, session.node, session.entry)

    def apply(self, user_id: str, node: int, entry: m.UserOnNode | None) -> None:
        """A session record (None: a tombstone) from the session directory."""
        before = self.status(user_id)
        if entry is None or entry.devices == 0:
            self.sessions[user_id].pop(node, None)
        else:
            active = entry.devices if entry.active_devices < 0 else entry.active_devices
            expires = int(entry.expires_at.timestamp() * 1000)
            self.sessions[user_id][node] = NodeSession(entry.devices, active, expires)
        if not self.sessions[user_id]:
            del self.sessions[user_id]
        self._changed(user_id, before)

    def expire(self) -> None:
        """Sessions of nodes that stopped refreshing (a crashed edge) end here."""
        at = now_ms()
        for user_id in list(self.sessions):
            before = self.status(user_id, at - 1)
            for node, session in list(self.sessions[user_id].items()):
                if session.expires_ms <= at:
                    del self.sessions[user_id][node]
            if not self.sessions[user_id]:
                del self.sessions[user_id]
            self._changed(user_id, before)

    def watch(self, connection: DeviceConnection, user_ids: Iterable[str]) -> None:
        for user_id in user_ids:
            self.watchers[user_id].add(connection)
            self.pushed.setdefault(user_id, self.status(user_id))

    def watched_by(self, connection: DeviceConnection) -> list[str]:
        """Whom this device gets presence pushes of."""
        return [user_id for user_id, watching in self.watchers.items() if connection in watching]

    def unwatch(self, connection: DeviceConnection, user_ids: Iterable[str]) -> None:
        """No more pushes of these people to this device."""
        for user_id in user_ids:
            watching = self.watchers.get(user_id)
            if watching is None:
                continue
            watching.discard(connection)
            if not watching:
                del self.watchers[user_id]
                self.pushed.pop(user_id, None)

    def forget(self, connection: DeviceConnection) -> None:
        self.unwatch(connection, self.watched_by(connection))

    def _changed(self, user_id: str, before: Status) -> None:
        after = self.status(user_id)
        if after == before:
            return
        if after == "offline":
            self.last_seen_ms[user_id] = now_ms()
        if user_id in self.watchers:
            self.dirty.add(user_id)
            if self._flush is None:
                self._flush = asyncio.get_running_loop().call_later(self.coalesce_s, self.flush)

    def flush(self) -> None:
        """One push per watched person whose status differs from what watchers last saw."""
        self._flush = None
        dirty, self.dirty = self.dirty, set()
        for user_id in dirty:
            status = self.status(user_id)
            if self.pushed.get(user_id) == status or user_id not in self.watchers:
                continue
            self.pushed[user_id] = status
            frame = PresencePush(
                user_id=user_id, status=status, last_seen_ms=self.last_seen_ms.get(user_id)
            ).model_dump_json()
            for connection in self.watchers[user_id]:
                connection.push(frame)


class TypingBoard:
    """Who is typing where, as pushed to this node's devices; ends what is not refreshed."""

    def __init__(self, devices_of: Callable[[str], Iterable[DeviceConnection]]) -> None:
        self.devices_of = devices_of
        self.timers: dict[tuple[str, str], asyncio.TimerHandle] = {}

    def signal(self, signal: m.TypingSignal) -> None:
        key = (signal.conversation_id, signal.user_id)
        timer = self.timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        self._push(
            signal.conversation_id,
            signal.user_id,
            signal.active,
            signal.recipients,
            signal.expires_in_ms,
        )
        if signal.active:
            self.timers[key] = asyncio.get_running_loop().call_later(
                signal.expires_in_ms / 1000, self._expire, key, signal.recipients
            )

    def _expire(self, key: tuple[str, str], recipients: tuple[str, ...]) -> None:
        self.timers.pop(key, None)
        self._push(key[0], key[1], False, recipients, 0)

    def _push(
        self, cid: str, typist: str, active: bool, recipients: Iterable[str], expires_in_ms: int
    ) -> None:
        frame = TypingPush(
            conversation_id=cid, user_id=typist, active=active, expires_in_ms=expires_in_ms
        ).model_dump_json()
        for user in recipients:
            if user == typist:
                continue
            for connection in self.devices_of(user):
                connection.push(frame)
