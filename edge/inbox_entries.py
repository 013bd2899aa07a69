"""The inbox view's conversations as clients see them: the view's domain type mapped to the
protocol's `InboxEntry` (the one place where the two meet)."""

from __future__ import annotations

from edge.protocol.answers import InboxEntry, Preview
from projections.inbox.query import InboxConversation


def inbox_entry(conversation: InboxConversation) -> InboxEntry:
    summary, receipts = conversation.summary, conversation.receipts
    preview = summary.preview
    return InboxEntry(
        conversation_id=conversation.conversation_id,
        kind=summary.kind,
        name=summary.name,
        role=conversation.role,
        member=conversation.member,
        last_seq=summary.last_seq,
        last_activity_ms=summary.last_activity_ms,
        preview=None
        if preview is None
        else Preview(
            seq=preview.seq,
            sender_id=preview.sender_id,
            kind=preview.kind,
            text=preview.text,
            edited=preview.edited,
        ),
        unread=conversation.unread,
        unread_capped=conversation.unread_capped,
        mentions=conversation.mentions,
        read_up_to=conversation.read_up_to,
        member_count=conversation.member_count,
        members=None if receipts is None else list(receipts.members),
        read=None if receipts is None else receipts.read,
        delivered=None if receipts is None else receipts.delivered,
    )
