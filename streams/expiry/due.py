"""What the expiry processor does now, decided without Kafka or a clock of its own: which
messages to expire in which conversation, and which bucket keys to destroy.

A message stays in the book until the log says it expired (`MessagesExpired`), so an
`ExpireMessages` lost in a crash, or refused as early by the sequencer's clock, is sent
again after `retry_ms`; a repeat is harmless (the sequencer expires nothing twice).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sealing.keyids import BadKeyIdError, bucket_end

MAX_SEQS_PER_COMMAND = 1000
"""Keeps an `ExpireMessages` far below the sequencer's command size limit (8 bytes a seq)."""


@dataclass(frozen=True, order=True)
class Expiring:
    """One message of the book: when it expires (ms since the epoch), where it is."""

    at_ms: int
    conversation_id: str
    seq: int


@dataclass
class Resends:
    """When each message was last asked to expire, in this process's memory only: after a
    restart everything due is asked again, which the sequencer answers as no change."""

    retry_ms: int = 5000
    sent_ms: dict[tuple[str, int], int] = field(default_factory=dict)

    def pick(self, due: Iterable[Expiring], now_ms: int) -> dict[str, list[int]]:
        """Per conversation, the seqs to ask for now: due, and not asked within `retry_ms`.
        Marks them asked."""
        picked: dict[str, list[int]] = {}
        for item in due:
            if item.at_ms > now_ms:
                continue
            where = (item.conversation_id, item.seq)
            last = self.sent_ms.get(where)
            if last is not None and now_ms - last < self.retry_ms:
                continue
            self.sent_ms[where] = now_ms
            picked.setdefault(item.conversation_id, []).append(item.seq)
        return picked

    def forget(self, gone: Iterable[Expiring]) -> None:
        """These left the book (expired, deleted, redacted): nothing more to ask."""
        for item in gone:
            self.sent_ms.pop((item.conversation_id, item.seq), None)


def batches(seqs: list[int], size: int = MAX_SEQS_PER_COMMAND) -> list[tuple[int, ...]]:
    """The seqs of one conversation in commands of at most `size`, in order."""
    ordered = sorted(set(seqs))
    return [tuple(ordered[i : i + size]) for i in range(0, len(ordered), size)]


def ended_buckets(key_ids: Iterable[str], now_s: float) -> list[str]:
    """The bucket keys (`x/<end>`) whose end has passed: to destroy. Others are skipped."""
    ended = []
    for key_id in key_ids:
        try:
            end = bucket_end(key_id)
        except BadKeyIdError:
            continue
        if end <= now_s:
            ended.append(key_id)
    return ended
