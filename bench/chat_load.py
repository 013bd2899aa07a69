"""A realistic, deterministic stream of Parley's events and account events, encoded with the
real schemas and codec, placed in partitions as the sequencer would place them.

People register over the simulated days; conversations (mostly 1:1, some groups) start
among them and grow quieter with age; each message is followed, per other member, by a
delivered watermark a fraction of a second later and often a read watermark seconds to
minutes later; a few messages are edited, deleted or reacted to, and groups gain and lose
members. Every event of a conversation gets the next seq in time order, as the sequencer
assigns it. The same seed gives the same stream.
"""

from __future__ import annotations

import heapq
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from schemas import codec
from schemas import models as m
from schemas.partitioning import partition_for

DAY_MS = 86_400_000
TEXTS = (
    "on my way",
    "a message of typical length, about sixty bytes of text, like most",
    "did you see the game last night? unbelievable finish",
    "ok",
    "let's meet at the station at seven, I'll bring the tickets and the snacks",
)


@dataclass(frozen=True, slots=True)
class LoadRecord:
    topic: str
    """The topic's role: `events` or `accounts`."""
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes
    value: bytes


@dataclass
class _Conversation:
    cid: str
    members: list[str]
    created_ms: int
    seq: int = 0
    messages: list[tuple[int, str]] = field(default_factory=list)
    """(seq, sender) of recent messages, for edits, deletes and reactions."""


@dataclass(frozen=True)
class ChatLoad:
    events: int
    start_ms: int = 1_767_225_600_000  # 2026-01-01T00:00:00Z
    days: int = 14
    partitions: int = 8
    seed: int = 7
    group_share: float = 0.25
    encrypted_share: float = 0.2


class ChatSimulation:
    """Iterate to get `events` conversation events (and the account events of the people
    in them, which do not count towards `events`), in log order per partition."""

    def __init__(self, load: ChatLoad) -> None:
        self.load = load
        self.rng = random.Random(load.seed)
        self.offsets: dict[tuple[str, int], int] = {}
        self.users: list[str] = []
        self.conversations: list[_Conversation] = []
        self.pending: list[tuple[int, int, m.Event]] = []
        self.counter = 0
        self.emitted = 0
        self.account_seq: dict[str, int] = {}

    def __iter__(self) -> Iterator[LoadRecord]:
        load = self.load
        span_ms = load.days * DAY_MS
        step_ms = max(1, span_ms // max(1, load.events // 3))
        now = load.start_ms
        while self.emitted < load.events:
            now += self.rng.randint(1, 2 * step_ms)
            yield from self._due(now)
            if self.emitted >= load.events:
                break
            yield from self._act(now)

    def _due(self, now: int) -> Iterator[LoadRecord]:
        while self.pending and self.pending[0][0] <= now and self.emitted < self.load.events:
            _, _, event = heapq.heappop(self.pending)
            yield self._record("events", event.meta.conversation_id, event)

    def _later(self, at: int, event: m.Event) -> None:
        self.counter += 1
        heapq.heappush(self.pending, (at, self.counter, event))

    def _act(self, now: int) -> Iterator[LoadRecord]:
        rng = self.rng
        if not self.conversations or rng.random() < 0.01:
            yield from self._start_conversation(now)
            return
        # Recent conversations are busier: pick among the newest with a bias.
        index = len(self.conversations) - 1 - int(rng.expovariate(1 / 40)) % len(self.conversations)
        conv = self.conversations[index]
        sender = rng.choice(conv.members)
        roll = rng.random()
        if roll < 0.02 and conv.messages:
            seq, author = rng.choice(conv.messages)
            yield self._emit(conv, now, author, "edit", target=seq)
        elif roll < 0.03 and conv.messages:
            seq, author = rng.choice(conv.messages)
            yield self._emit(conv, now, author, "delete", target=seq)
        elif roll < 0.08 and conv.messages:
            seq, _ = rng.choice(conv.messages)
            yield self._emit(conv, now, sender, "react", target=seq)
        elif roll < 0.085 and len(conv.members) > 2:
            yield from self._membership(conv, now)
        else:
            record = self._emit(conv, now, sender, "send")
            yield record
            seq = conv.seq
            for member in conv.members:
                if member == sender:
                    continue
                delivered = now + int(rng.lognormvariate(5.0, 1.0))
                self._later(delivered, self._watermark(conv, member, delivered, seq, read=False))
                if rng.random() < 0.7:
                    read = delivered + int(rng.lognormvariate(9.5, 1.5))
                    self._later(read, self._watermark(conv, member, read, seq, read=True))

    def _start_conversation(self, now: int) -> Iterator[LoadRecord]:
        rng = self.rng
        group = rng.random() < self.load.group_share
        size = min(2 + int(rng.expovariate(1 / 6)), 60) if group else 2
        members: list[str] = []
        while len(members) < size:
            if not self.users or rng.random() < 0.35:
                user = f"user-{len(self.users)}"
                self.users.append(user)
                yield from self._register(user, now)
            else:
                recent = len(self.users) - 1 - int(rng.expovariate(1 / 200)) % len(self.users)
                user = self.users[recent]
            if user not in members:
                members.append(user)
        conv = _Conversation(f"conv-{len(self.conversations)}", members, now)
        self.conversations.append(conv)
        conv.seq += 1
        event = m.ConversationCreated(
            meta=self._meta(conv.cid, conv.seq, members[0], now),
            kind=m.ConversationKind.GROUP if group else m.ConversationKind.DIRECT,
            name=conv.cid if group else None,
            members=tuple(
                m.Member(user_id=u, role=m.Role.OWNER if i == 0 else m.Role.MEMBER)
                for i, u in enumerate(members)
            ),
        )
        yield self._record("events", conv.cid, event)

    def _register(self, user: str, now: int) -> Iterator[LoadRecord]:
        meta = self._account_meta(user, now)
        yield self._record(
            "accounts",
            user,
            m.AccountRegistered(meta=meta, display_name=user.title(), password_hash="$argon2id$x"),
        )
        for device in self._devices(user):
            yield self._record(
                "accounts",
                user,
                m.DeviceAdded(
                    meta=self._account_meta(user, now), device_name=device, token_hash="sha256:x"
                ),
            )

    def _devices(self, user: str) -> list[str]:
        return [f"{user}-phone"] + ([f"{user}-laptop"] if int(user.split("-")[1]) % 3 == 0 else [])

    def _membership(self, conv: _Conversation, now: int) -> Iterator[LoadRecord]:
        rng = self.rng
        conv.seq += 1
        if rng.random() < 0.5 and self.users:
            user = rng.choice(self.users)
            if user in conv.members:
                conv.seq -= 1
                return
            conv.members.append(user)
            event: m.Event = m.MemberAdded(
                meta=self._meta(conv.cid, conv.seq, conv.members[0], now), user_id=user
            )
        else:
            user = rng.choice(conv.members[1:])
            conv.members.remove(user)
            event = m.MemberRemoved(
                meta=self._meta(conv.cid, conv.seq, user, now), user_id=user, left=True
            )
        yield self._record("events", conv.cid, event)

    def _emit(
        self, conv: _Conversation, now: int, actor: str, what: str, target: int = 0
    ) -> LoadRecord:
        rng = self.rng
        conv.seq += 1
        meta = self._meta(conv.cid, conv.seq, actor, now)
        event: m.Event
        if what == "send":
            event = m.MessageSent(meta=meta, body=self._body())
            conv.messages.append((conv.seq, actor))
            del conv.messages[:-20]
        elif what == "edit":
            event = m.MessageEdited(meta=meta, target_seq=target, body=self._body())
        elif what == "delete":
            event = m.MessageDeleted(meta=meta, target_seq=target, scope=m.DeleteScope.FOR_EVERYONE)
        else:
            event = m.ReactionAdded(meta=meta, target_seq=target, emoji=rng.choice("👍❤😂"))
        return self._record("events", conv.cid, event)

    def _body(self) -> m.PlainBody | m.EncryptedBody:
        if self.rng.random() < self.load.encrypted_share:
            return m.EncryptedBody(
                scheme=m.E2EEScheme.OLM_V1,
                sender_key="k" * 43,
                session_id="s" * 16,
                ciphertext=self.rng.randbytes(96),
            )
        return m.PlainBody(text=self.rng.choice(TEXTS))

    def _watermark(
        self, conv: _Conversation, user: str, at: int, seq: int, *, read: bool
    ) -> m.Event:
        # The seq is assigned when the event is emitted (in time order), not now.
        meta = self._meta(conv.cid, 0, user, at)
        if read:
            return m.ReadWatermarkAdvanced(meta=meta, up_to_seq=seq)
        return m.DeliveredWatermarkAdvanced(meta=meta, up_to_seq=seq)

    def _meta(self, cid: str, seq: int, user: str, at: int) -> m.EventMeta:
        return m.EventMeta(
            event_id=str(uuid.UUID(int=self.rng.getrandbits(128))),
            conversation_id=cid,
            seq=seq,
            actor=m.Actor(user_id=user, device_id=f"{user}-phone"),
            client_msg_id=str(uuid.UUID(int=self.rng.getrandbits(128))),
            command_id=str(uuid.UUID(int=self.rng.getrandbits(128))),
            occurred_at=datetime.fromtimestamp(at / 1000, UTC),
        )

    def _account_meta(self, user: str, at: int) -> m.AccountEventMeta:
        seq = self.account_seq.get(user, 0) + 1
        self.account_seq[user] = seq
        return m.AccountEventMeta(
            event_id=str(uuid.UUID(int=self.rng.getrandbits(128))),
            user_id=user,
            seq=seq,
            device_id=f"{user}-phone",
            command_id=str(uuid.UUID(int=self.rng.getrandbits(128))),
            client_msg_id=str(uuid.UUID(int=self.rng.getrandbits(128))),
            occurred_at=datetime.fromtimestamp(at / 1000, UTC),
        )

    def _record(self, topic: str, key: str, event: m.Event | m.AccountEvent) -> LoadRecord:
        if isinstance(event, m.DeliveredWatermarkAdvanced | m.ReadWatermarkAdvanced):
            conv = self.conversations[int(key.removeprefix("conv-"))]
            conv.seq += 1
            event = event.model_copy(
                update={"meta": event.meta.model_copy(update={"seq": conv.seq})}
            )
        partition = partition_for(key, self.load.partitions)
        offset = self.offsets.get((topic, partition), 0)
        self.offsets[(topic, partition)] = offset + 1
        if topic == "events":
            self.emitted += 1
        at = int(event.meta.occurred_at.timestamp() * 1000)
        return LoadRecord(topic, partition, offset, at, key.encode(), codec.encode(event))
