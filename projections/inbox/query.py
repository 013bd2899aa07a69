"""The inbox view's query side, for the edge: a person's conversations with their counts.

Unread = messages by others after the person's read watermark (and, for someone who left,
before their removal), counted over the message index at query time; a conversation with
more than `UNREAD_CAP` unread says `UNREAD_CAP`, so no query scans without bound.
"""

from __future__ import annotations

from dataclasses import dataclass

from projections.inbox.layout import (
    IndexedMessage,
    Membership,
    Summary,
    delivered_prefix,
    member_key,
    members_prefix,
    membership_key,
    memberships_prefix,
    message_key,
    messages_prefix,
    read_key,
    read_prefix,
    summary_key,
)
from projections.keys import MAX_SEQ, id_after
from projections.reader import ViewReader
from projections.store import decode_int

UNREAD_CAP = 1000
RECEIPTS_UP_TO = 64
"""Per-member read and delivered watermarks are listed for conversations this small."""


@dataclass(frozen=True)
class Receipts:
    """Who is in a small conversation and how far each has read and received (user -> seq;
    delivered is the highest over each member's devices)."""

    members: tuple[str, ...]
    read: dict[str, int]
    delivered: dict[str, int]


@dataclass(frozen=True)
class InboxConversation:
    """One conversation as a person's inbox holds it. `summary` is as the person sees it:
    as it was at their removal, for someone who left; counts are made at query time."""

    conversation_id: str
    summary: Summary
    role: str
    member: bool
    unread: int
    mentions: int
    read_up_to: int
    member_count: int
    receipts: Receipts | None
    """For conversations of at most `RECEIPTS_UP_TO` members."""

    @property
    def unread_capped(self) -> bool:
        return self.unread >= UNREAD_CAP


class InboxReader(ViewReader):
    def entries(self, user_id: str) -> list[InboxConversation]:
        """The person's conversations, most recent activity first."""
        return [self._entry(user_id, *found) for found in self._memberships(user_id)]

    def activity(self, user_id: str) -> list[tuple[str, int]]:
        """(conversation, last seq the person may see), most recent activity first: what
        `entries` orders by, without counting anything."""
        return [(cid, summary.last_seq) for cid, _, summary in self._memberships(user_id)]

    def entry(self, user_id: str, conversation_id: str) -> InboxConversation | None:
        self._catch_up()
        raw = self._get(membership_key(user_id, conversation_id))
        if raw is None:
            return None
        membership = Membership.model_validate_json(raw)
        summary = self._summary(conversation_id, membership)
        return (
            None if summary is None else self._entry(user_id, conversation_id, membership, summary)
        )

    def last_seq(self, conversation_id: str) -> int:
        self._catch_up()
        raw = self._get(summary_key(conversation_id))
        return 0 if raw is None else Summary.model_validate_json(raw).last_seq

    def _memberships(self, user_id: str) -> list[tuple[str, Membership, Summary]]:
        """Each conversation of the person with the summary they see, most recent first."""
        self._catch_up()
        prefix = memberships_prefix(user_id)
        found = []
        for key, value in self._scan(prefix):
            cid = id_after(prefix, key)
            membership = Membership.model_validate_json(value)
            summary = self._summary(cid, membership)
            if summary is not None:
                found.append((cid, membership, summary))
        found.sort(key=lambda f: (-f[2].last_activity_ms, f[0]))
        return found

    def _summary(self, cid: str, membership: Membership) -> Summary | None:
        """As it was at the person's removal, or as it is now; None before the view has it."""
        if membership.summary_then is not None:
            return membership.summary_then
        raw = self._get(summary_key(cid))
        return None if raw is None else Summary.model_validate_json(raw)

    def _entry(
        self, user_id: str, cid: str, membership: Membership, summary: Summary
    ) -> InboxConversation:
        read_up_to = self._int(read_key(cid, user_id))
        upper = membership.left_at or MAX_SEQ
        # Only what was sent since they joined is theirs to read (the history view's tenures).
        after = max(read_up_to, membership.joined_at - 1)
        unread, mentions = self._unread(user_id, cid, after, upper)
        preview = summary.preview
        if preview is not None and preview.seq < membership.joined_at:
            summary = summary.model_copy(update={"preview": None})
        members = [id_after(members_prefix(cid), k) for k, _ in self._scan(members_prefix(cid))]
        receipts = (
            Receipts(
                members=tuple(members),
                read=self._watermarks(read_prefix(cid)),
                delivered=self._watermarks(delivered_prefix(cid)),
            )
            if len(members) <= RECEIPTS_UP_TO
            else None
        )
        return InboxConversation(
            conversation_id=cid,
            summary=summary,
            role=membership.role,
            member=membership.left_at is None,
            unread=unread,
            mentions=mentions,
            read_up_to=read_up_to,
            member_count=len(members),
            receipts=receipts,
        )

    def _unread(self, user_id: str, cid: str, after: int, upper: int) -> tuple[int, int]:
        unread = mentions = 0
        prefix = messages_prefix(cid)
        for key, value in self._scan(prefix, start=message_key(cid, after + 1)):
            if int(key[-20:]) > upper or unread >= UNREAD_CAP:
                break
            message = IndexedMessage.decode(value)
            if message.sender_id == user_id:
                continue
            unread += 1
            mentions += user_id in message.mentions
        return unread, mentions

    def _watermarks(self, prefix: bytes) -> dict[str, int]:
        return {id_after(prefix, k): decode_int(v) for k, v in self._scan(prefix)}

    def _int(self, key: bytes) -> int:
        raw = self._get(key)
        return 0 if raw is None else decode_int(raw)

    def is_member(self, user_id: str, conversation_id: str) -> bool:
        self._catch_up()
        return self._get(member_key(conversation_id, user_id)) is not None
