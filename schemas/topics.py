"""The topic registry: every topic Parley uses, declared once with its key, types and policy."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

DAY_MS = 24 * 60 * 60 * 1000
EVENTS_RETENTION_MS = 30 * DAY_MS
"""The events topic's retention: far longer than the archive's lag (about a minute) and any
outage of it left unattended; a month of replay from the log for views and new readers."""
REPLY_PARTITION_HEADER = "parley-reply-partition"
"""Record header on a command: the outcomes partition of the edge node waiting for it."""
TRACEPARENT_HEADER = "traceparent"
TRACESTATE_HEADER = "tracestate"
TRACE_HEADERS = frozenset({TRACEPARENT_HEADER, TRACESTATE_HEADER})
"""W3C trace context, on a command, the event it caused and that event's delivery records,
when tracing is on; no reader depends on them (docs/slo.md, "Tracing")."""
REPLAYED_HEADER = "parley-replayed"
"""Record header on a delivery the fan-out repeats to a device just come online: not a
fresh event, so it stays out of the event-to-delivery latency."""


class TopicRole(StrEnum):
    COMMANDS = "commands"
    EVENTS = "events"
    OUTCOMES = "outcomes"
    DEAD_LETTERS = "dead-letters"
    ACCOUNT_COMMANDS = "account-commands"
    ACCOUNTS = "accounts"
    SESSIONS = "sessions"
    DELIVERIES = "deliveries"
    MEDIA = "media"
    AUDIT = "audit"
    ERASURES = "erasures"


@dataclass(frozen=True)
class TopicSpec:
    """What a topic holds and how Kafka must keep it."""

    role: TopicRole
    name: str
    key: str
    value_namespace: str | None
    partitions: int
    replication_factor: int
    cleanup_policy: str
    retention_ms: int
    min_insync_replicas: int

    def config(self) -> dict[str, str]:
        return {
            "cleanup.policy": self.cleanup_policy,
            "retention.ms": str(self.retention_ms),
            "min.insync.replicas": str(self.min_insync_replicas),
            "max.message.bytes": str(1024 * 1024),
        }


@dataclass(frozen=True)
class Topics:
    """The topic set of one deployment (or of one test, with its own prefix)."""

    commands: TopicSpec
    events: TopicSpec
    outcomes: TopicSpec
    dead_letters: TopicSpec
    account_commands: TopicSpec
    accounts: TopicSpec
    sessions: TopicSpec
    deliveries: TopicSpec
    media: TopicSpec
    audit: TopicSpec
    erasures: TopicSpec

    def all(self) -> tuple[TopicSpec, ...]:
        return (
            self.commands,
            self.events,
            self.outcomes,
            self.dead_letters,
            self.account_commands,
            self.accounts,
            self.sessions,
            self.deliveries,
            self.media,
            self.audit,
            self.erasures,
        )


def declare_topics(
    prefix: str = "parley",
    *,
    partitions: int = 8,
    replication_factor: int = 1,
    min_insync_replicas: int = 1,
    edge_nodes: int = 16,
) -> Topics:
    """Commands and events share partition count and key, so a conversation's commands and
    events sit in the same partition number and one sequencer owns both; likewise account
    commands and accounts. Outcomes and deliveries have one partition per edge node."""

    def spec(
        role: TopicRole,
        key: str,
        namespace: str | None,
        retention_ms: int,
        *,
        parts: int = partitions,
        cleanup_policy: str = "delete",
    ) -> TopicSpec:
        return TopicSpec(
            role=role,
            name=f"{prefix}.{role.value}",
            key=key,
            value_namespace=namespace,
            partitions=parts,
            replication_factor=replication_factor,
            cleanup_policy=cleanup_policy,
            retention_ms=retention_ms,
            min_insync_replicas=min_insync_replicas,
        )

    return Topics(
        commands=spec(TopicRole.COMMANDS, "conversation_id", "parley.command", 7 * DAY_MS),
        # Kept 30 days: older events are read from the archive (docs/archive.md, "Hot and
        # cold"), which every reader of the log falls back to (kafkalog/history.py).
        events=spec(TopicRole.EVENTS, "conversation_id", "parley.event", EVENTS_RETENTION_MS),
        outcomes=spec(
            TopicRole.OUTCOMES, "reply partition", "parley.outcome", DAY_MS, parts=edge_nodes
        ),
        dead_letters=spec(TopicRole.DEAD_LETTERS, "source key", None, 30 * DAY_MS, parts=1),
        account_commands=spec(
            TopicRole.ACCOUNT_COMMANDS, "user_id", "parley.account.command", 7 * DAY_MS
        ),
        # Kept whole, although archived: every edge node folds the accounts topic from its
        # start to know accounts and devices (edge/accounts.py), so a finite retention
        # would forget every account older than it (docs/archive.md, "Retention").
        accounts=spec(TopicRole.ACCOUNTS, "user_id", "parley.account.event", -1),
        sessions=spec(
            TopicRole.SESSIONS,
            "user_id + node",
            "parley.session",
            DAY_MS,
            cleanup_policy="compact,delete",
        ),
        deliveries=spec(
            TopicRole.DELIVERIES, "edge node", "parley.delivery", DAY_MS, parts=edge_nodes
        ),
        # Kept a week: every reader needs only the last day (an upload is attached within
        # 24 hours or deleted), and a message carries its attachment's facts from then on
        # (docs/media.md, "Topics and events").
        media=spec(TopicRole.MEDIA, "media_id", "parley.media", 7 * DAY_MS),
        # Compliance officers' actions (docs/compliance.md, "The audit log"): kept forever,
        # never compacted, and one partition, so the audit is one total order a page
        # cursor (an offset) can walk; its volume is people's actions, not messages'.
        audit=spec(TopicRole.AUDIT, "action_id", "parley.audit", -1, parts=1),
        # Each erasure's progress, the latest record per erasure id kept for ever: what the
        # officer's report reads (docs/compliance.md, "Erasure of a person").
        erasures=spec(
            TopicRole.ERASURES,
            "erasure_id",
            "parley.erasure",
            -1,
            parts=1,
            cleanup_policy="compact",
        ),
    )


def session_key(user_id: str, node: int) -> bytes:
    """Key of a sessions record: one per (user, edge node), so compaction keeps the latest."""
    return f"{user_id}\x1f{node}".encode()


def parse_session_key(key: bytes) -> tuple[str, int]:
    user, _, node = key.decode().rpartition("\x1f")
    return user, int(node)
