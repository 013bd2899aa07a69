"""What the sequencer knows per conversation, read and written through a key-value store.

The store is a cache of the events topic: every value here is derived from events, so a
lost or stale store is rebuilt by replaying the partition (see `docs/sequencer.md`).
Writes go to a pending overlay and reach the store only after the Kafka transaction that
produced the events has committed, so the store is never ahead of the log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from schemas.models import ConversationKind, Role
from streams.keys import key
from streams.state import LoggedState


@dataclass(frozen=True)
class Conversation:
    kind: ConversationKind
    last_seq: int
    member_count: int
    name: str | None = None
    disappearing_ms: int | None = None
    """New messages live this long (DisappearingMessagesSet)."""
    retention_days: int | None = None
    """New messages are kept this long (RetentionSet)."""

    @property
    def lifetime_ms(self) -> int | None:
        """The longest lifetime a new message may have here; None: unlimited."""
        limits = [self.disappearing_ms]
        if self.retention_days is not None:
            limits.append(self.retention_days * 86_400_000)
        found = [limit for limit in limits if limit is not None]
        return min(found) if found else None


@dataclass(frozen=True)
class MessageFacts:
    sender: str
    deleted: bool = False
    redacted: bool = False
    attached: bool = False
    """It carries media: an edit may then leave it without text."""
    expires_at_ms: int | None = None


@dataclass
class SequencerState(LoggedState):
    """Typed reads and pending writes over the store; `flush` makes pending writes durable."""

    cache_size: int = 100_000
    _pending_conversations: dict[str, Conversation] = field(default_factory=dict)
    _conversations: dict[str, Conversation] = field(default_factory=dict)

    def conversation(self, conversation_id: str) -> Conversation | None:
        """Hot path: answered from memory (pending, then committed cache) when possible."""
        found = self._pending_conversations.get(conversation_id)
        if found is None:
            found = self._conversations.get(conversation_id)
        if found is not None:
            return found
        raw = self.store.get(key("c", conversation_id))
        if raw is None:
            return None
        data = json.loads(raw)
        found = Conversation(
            ConversationKind(data["kind"]),
            data["last_seq"],
            data["member_count"],
            data.get("name"),
            data.get("disappearing_ms"),
            data.get("retention_days"),
        )
        self._remember(conversation_id, found)
        return found

    def put_conversation(self, conversation_id: str, conversation: Conversation) -> None:
        self._pending_conversations[conversation_id] = conversation

    def _remember(self, conversation_id: str, conversation: Conversation) -> None:
        if len(self._conversations) >= self.cache_size:
            self._conversations.clear()
        self._conversations[conversation_id] = conversation

    def role(self, conversation_id: str, user_id: str) -> Role | None:
        raw = self._get(key("u", conversation_id, user_id))
        return None if raw is None else Role(raw.decode())

    def put_role(self, conversation_id: str, user_id: str, role: Role | None) -> None:
        self._put(key("u", conversation_id, user_id), None if role is None else role.encode())

    def message(self, conversation_id: str, seq: int) -> MessageFacts | None:
        raw = self._get(key("m", conversation_id, seq))
        if raw is None:
            return None
        return MessageFacts(**json.loads(raw))

    def put_message(self, conversation_id: str, seq: int, facts: MessageFacts) -> None:
        data: dict[str, object] = {
            "sender": facts.sender,
            "deleted": facts.deleted,
            "redacted": facts.redacted,
            "attached": facts.attached,
        }
        if facts.expires_at_ms is not None:
            data["expires_at_ms"] = facts.expires_at_ms
        self._put(key("m", conversation_id, seq), json.dumps(data).encode())

    def erased(self, conversation_id: str, user_id: str) -> bool:
        """The person was erased (SenderContentErased here): they act here no more."""
        return self._get(key("e", conversation_id, user_id)) is not None

    def put_erased(self, conversation_id: str, user_id: str) -> None:
        self._put(key("e", conversation_id, user_id), b"1")

    def seq_of_command(
        self, conversation_id: str, device_id: str, client_msg_id: str
    ) -> int | None:
        """The seq of the event an earlier command with this idempotency key produced."""
        raw = self._get(key("k", conversation_id, device_id, client_msg_id))
        return None if raw is None else int(raw)

    def remember_command(
        self, conversation_id: str, device_id: str, client_msg_id: str, seq: int
    ) -> None:
        self._put(key("k", conversation_id, device_id, client_msg_id), str(seq).encode())

    def watermark(self, kind: str, conversation_id: str, who: str) -> int:
        raw = self._get(key("w", kind, conversation_id, who))
        return 0 if raw is None else int(raw)

    def put_watermark(self, kind: str, conversation_id: str, who: str, seq: int) -> None:
        self._put(key("w", kind, conversation_id, who), str(seq).encode())

    def has_reaction(self, conversation_id: str, seq: int, user_id: str, emoji: str) -> bool:
        return self._get(key("x", conversation_id, seq, user_id, emoji)) is not None

    def put_reaction(
        self, conversation_id: str, seq: int, user_id: str, emoji: str, present: bool
    ) -> None:
        self._put(key("x", conversation_id, seq, user_id, emoji), b"1" if present else None)

    def flush(self, applied_offsets: dict[int, int] | None = None) -> None:
        super().flush(applied_offsets)
        self._pending_conversations.clear()

    def discard(self) -> None:
        super().discard()
        self._pending_conversations.clear()

    def forget(self) -> None:
        self._conversations.clear()

    def _changes(self) -> dict[bytes, bytes | None]:
        changes = super()._changes()
        for cid, conversation in self._pending_conversations.items():
            data = {
                "kind": conversation.kind.value,
                "last_seq": conversation.last_seq,
                "member_count": conversation.member_count,
                "name": conversation.name,
            }
            if conversation.disappearing_ms is not None:
                data["disappearing_ms"] = conversation.disappearing_ms
            if conversation.retention_days is not None:
                data["retention_days"] = conversation.retention_days
            changes[key("c", cid)] = json.dumps(data).encode()
            self._remember(cid, conversation)
        return changes
