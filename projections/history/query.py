"""The history view's read-only query side, for the edge (see projections/reader.py).

Imports neither Kafka nor anything outside `schemas/`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from projections.history.layout import (
    MAX_SEQ,
    SEQ_DIGITS,
    Lifetime,
    Tenures,
    attached_prefix,
    decode_tenures,
    edit_key,
    event_key,
    event_prefix,
    hidden_key,
    id_after,
    id_bytes,
    last_seq_in,
    lifetime_key,
    member_key,
    members_prefix,
    membership_key,
    memberships_prefix,
    reactions_prefix,
    sent_by_prefix,
    sent_media_prefix,
    tenure_key,
    tenures_prefix,
)
from projections.reader import ViewReader, ViewUnavailableError
from schemas import codec
from schemas import models as m

MAX_PAGE = 1000
HistoryUnavailableError = ViewUnavailableError


@dataclass(frozen=True)
class Overlay:
    """What has happened to a message since it was sent: its latest edit (the encoded
    `MessageEdited` event, None if never edited) and its reactions (emoji -> user ids)."""

    edit: bytes | None
    reactions: dict[str, list[str]]


class HistoryReader(ViewReader):
    """Pages of a conversation's events and who may read them, from the history view."""

    def page(
        self,
        conversation_id: str,
        *,
        before: int | None = None,
        after: int | None = None,
        limit: int = 50,
    ) -> list[bytes]:
        """Single-object-encoded events in ascending seq order: with `after`, the first
        `limit` with seq > after (and < before, if given); with only `before`, the last
        `limit` with seq < before; with neither, the latest `limit`. Seqs deleted for
        everyone or redacted are absent; their tombstone events are not."""
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"limit must be 1 to {MAX_PAGE}, not {limit}")
        self._catch_up()
        upper = MAX_SEQ if before is None else min(before - 1, MAX_SEQ)
        if upper < 1:
            return []
        if after is not None:
            lower = max(after + 1, 1)
            if lower > upper:
                return []
            return [v for _, v in self._forward(conversation_id, lower, upper, limit)]
        found = [v for _, v in self._backward(conversation_id, upper, limit)]
        found.reverse()
        return found

    def last_seq(self, conversation_id: str) -> int:
        """0 for a conversation the view has not seen."""
        self._catch_up()
        return last_seq_in(self._get, conversation_id)

    def members(self, conversation_id: str) -> dict[str, str]:
        """Current members and their roles."""
        self._catch_up()
        prefix = members_prefix(conversation_id)
        return {id_after(prefix, k): v.decode() for k, v in self._scan(prefix)}

    def conversations_of(self, user_id: str) -> list[str]:
        """The conversations the user is a member of now, in id order."""
        self._catch_up()
        prefix = memberships_prefix(user_id)
        return [id_after(prefix, k) for k, _ in self._scan(prefix)]

    def is_member(self, user_id: str, conversation_id: str) -> bool:
        self._catch_up()
        return self._db.get(membership_key(user_id, conversation_id)) is not None

    def role(self, user_id: str, conversation_id: str) -> str | None:
        self._catch_up()
        value: bytes | None = self._db.get(member_key(conversation_id, user_id))
        return None if value is None else value.decode()

    def can_read(self, user_id: str, conversation_id: str, seq: int) -> bool:
        """The event at `seq` was sent during one of the user's tenures (`Tenures.covers`)."""
        tenures = self.tenures_in(user_id, conversation_id)
        return tenures is not None and tenures.covers(seq)

    def tenures_in(self, user_id: str, conversation_id: str) -> Tenures | None:
        """The user's tenures in the conversation; None if they were never in it."""
        self._catch_up()
        value = self._get(tenure_key(user_id, conversation_id))
        return None if value is None else decode_tenures(value)

    def tenures(self, user_id: str) -> dict[str, Tenures]:
        """Every conversation the user was ever in, with their tenures: what they may read."""
        self._catch_up()
        prefix = tenures_prefix(user_id)
        return {id_after(prefix, k): decode_tenures(v) for k, v in self._scan(prefix)}

    def overlay(self, conversation_id: str, seq: int) -> Overlay:
        self._catch_up()
        prefix = reactions_prefix(conversation_id, seq)
        reactions: dict[str, list[str]] = {}
        for key, _ in self._scan(prefix):
            user = id_after(prefix, key)
            emoji = id_after(prefix + id_bytes(user), key)
            reactions.setdefault(emoji, []).append(user)
        return Overlay(self._get(edit_key(conversation_id, seq)), reactions)

    def event(self, conversation_id: str, seq: int) -> bytes | None:
        """The encoded event at `seq`; None once deleted for everyone or redacted."""
        self._catch_up()
        return self._get(event_key(conversation_id, seq))

    def attached_in(self, media_id: str) -> list[tuple[str, int]]:
        """Where the media is attached: (conversation, seq) of every message that carried
        it, deleted ones included (their event is gone: `event` answers None)."""
        self._catch_up()
        prefix = attached_prefix(media_id)
        return [
            (id_after(prefix, key), int(key[-SEQ_DIGITS:])) for key, _ in self._scan(prefix)
        ]

    def lifetime(self, conversation_id: str) -> Lifetime:
        """How long new messages of the conversation may live (unset: `Lifetime()`)."""
        self._catch_up()
        value = self._get(lifetime_key(conversation_id))
        return Lifetime() if value is None else Lifetime.model_validate_json(value)

    def content_of(self, user_id: str, conversation_id: str) -> int:
        """How many messages the user sent in the conversation still hold their content here
        (an erasure's report counts them: 0 once it reached this view)."""
        self._catch_up()
        return sum(1 for _ in self._scan(sent_by_prefix(conversation_id, user_id)))

    def media_sent_by(self, user_id: str, conversation_id: str) -> set[str]:
        """Every media the user attached in the conversation, in messages since deleted,
        redacted or expired too, and after their erasure: the files an erasure of that
        person deletes and its report checks. A store
        written before that index also finds them through the messages that still hold
        their content (their attachments), so nothing attached before an upgrade is missed
        while its message stands."""
        self._catch_up()
        prefix = sent_media_prefix(conversation_id, user_id)
        found = {id_after(prefix, key) for key, _ in self._scan(prefix)}
        for key, _ in self._scan(sent_by_prefix(conversation_id, user_id)):
            raw = self._get(event_key(conversation_id, int(key[-SEQ_DIGITS:])))
            sent = codec.decode(raw) if raw is not None else None
            if isinstance(sent, m.MessageSent):
                found.update(a.media_id for a in sent.attachments)
        return found

    def hidden_for(self, user_id: str, conversation_id: str, seq: int) -> bool:
        """The user deleted the message at `seq` for themselves."""
        self._catch_up()
        return self._get(hidden_key(user_id, conversation_id, seq)) is not None

    def _forward(
        self, conversation_id: str, lower: int, upper: int, limit: int
    ) -> Iterator[tuple[bytes, bytes]]:
        end = event_key(conversation_id, upper)
        it = self._db.iter()
        it.seek(event_key(conversation_id, lower))
        count = 0
        while count < limit and it.valid() and it.key() <= end:
            yield it.key(), it.value()
            count += 1
            it.next()

    def _backward(
        self, conversation_id: str, upper: int, limit: int
    ) -> Iterator[tuple[bytes, bytes]]:
        prefix = event_prefix(conversation_id)
        it = self._db.iter()
        it.seek_for_prev(event_key(conversation_id, upper))
        count = 0
        while count < limit and it.valid() and it.key().startswith(prefix):
            yield it.key(), it.value()
            count += 1
            it.prev()
