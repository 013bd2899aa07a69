"""Who receives an event, and on which edge node: pure, so it is tested without Kafka.

Membership is folded from the conversation's own events (memberships.py); where people
are online comes from the session directory. One event becomes one delivery record per
edge node with an online member, never one per member, so a group of 100,000 costs at
most one record per edge node.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field


@dataclass
class RecentEvents:
    """The last few seconds of each conversation, replayed to a user's node when the
    fan-out first sees them online there: a push routed in the moment between a device
    connecting and its session record reaching the fan-out is not missed (devices drop
    repeats by seq)."""

    window_ms: int = 10_000
    per_conversation: int = 50
    events: dict[str, deque[tuple[int, int, bytes]]] = field(default_factory=dict)

    def add(self, cid: str, seq: int, raw: bytes, now_ms: int) -> None:
        recent = self.events.setdefault(cid, deque(maxlen=self.per_conversation))
        recent.append((now_ms, seq, raw))
        self._prune(cid, now_ms)

    def since(self, cids: set[str], now_ms: int) -> list[tuple[str, int, bytes]]:
        found = []
        for cid in sorted(cids):
            if cid in self.events:
                self._prune(cid, now_ms)
                found += [(cid, seq, raw) for _, seq, raw in self.events.get(cid, ())]
        return found

    def _prune(self, cid: str, now_ms: int) -> None:
        recent = self.events[cid]
        while recent and recent[0][0] < now_ms - self.window_ms:
            recent.popleft()
        if not recent:
            del self.events[cid]


@dataclass
class SessionDirectory:
    """user -> {edge node: expiry (ms)}; a node past its expiry is not routed to."""

    nodes: dict[str, dict[int, int]] = field(default_factory=dict)

    def update(self, user_id: str, node: int, expires_at_ms: int | None, now_ms: int = 0) -> bool:
        """Record where a user is; True when this makes them newly online on `node`."""
        on_nodes = self.nodes.setdefault(user_id, {})
        was_online = on_nodes.get(node, 0) > now_ms
        if expires_at_ms is None:
            on_nodes.pop(node, None)
            if not on_nodes:
                del self.nodes[user_id]
            return False
        on_nodes[node] = expires_at_ms
        return not was_online and expires_at_ms > now_ms

    def route(self, users: set[str], now_ms: int) -> dict[int, list[str]]:
        by_node: dict[int, list[str]] = defaultdict(list)
        for user in sorted(users):
            for node, expires in self.nodes.get(user, {}).items():
                if expires > now_ms:
                    by_node[node].append(user)
        return dict(by_node)
