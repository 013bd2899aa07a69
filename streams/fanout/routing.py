"""Who receives an event, and on which edge node: pure, so it is tested without Kafka.

Membership is folded from the conversation's own events; where people are online comes
from the session directory. One event becomes one delivery record per edge node with an
online member, never one per member, so a group of 100,000 costs at most one record per
edge node.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from schemas import models as m
from schemas.record import AvroRecord


@dataclass
class Memberships:
    members: dict[str, set[str]] = field(default_factory=dict)
    last_seq: dict[str, int] = field(default_factory=dict)

    def apply(self, event: AvroRecord) -> set[str]:
        """Fold the event in; return who must hear of it (a removed member included)."""
        meta: m.EventMeta = event.meta  # type: ignore[attr-defined]
        cid = meta.conversation_id
        if meta.seq <= self.last_seq.get(cid, 0):
            return set()
        self.last_seq[cid] = meta.seq
        members = self.members.setdefault(cid, set())
        audience = set(members)
        if isinstance(event, m.ConversationCreated):
            members.update(member.user_id for member in event.members)
        elif isinstance(event, m.MemberAdded):
            members.add(event.user_id)
        elif isinstance(event, m.MemberRemoved):
            members.discard(event.user_id)
        return audience | members


@dataclass
class SessionDirectory:
    """user -> {edge node: expiry (ms)}; a node past its expiry is not routed to."""

    nodes: dict[str, dict[int, int]] = field(default_factory=dict)

    def update(self, user_id: str, node: int, expires_at_ms: int | None) -> None:
        on_nodes = self.nodes.setdefault(user_id, {})
        if expires_at_ms is None:
            on_nodes.pop(node, None)
            if not on_nodes:
                del self.nodes[user_id]
        else:
            on_nodes[node] = expires_at_ms

    def route(self, users: set[str], now_ms: int) -> dict[int, list[str]]:
        by_node: dict[int, list[str]] = defaultdict(list)
        for user in sorted(users):
            for node, expires in self.nodes.get(user, {}).items():
                if expires > now_ms:
                    by_node[node].append(user)
        return dict(by_node)
