"""The inbox view's conversations as clients see them: the view's domain type mapped to the
protocol's `InboxEntry` (the one place where the two meet)."""

from __future__ import annotations

import base64

from edge.protocol.answers import InboxEntry, Preview
from projections.inbox.layout import PREVIEW_CHARS
from projections.inbox.layout import Preview as StoredPreview
from projections.inbox.query import InboxConversation
from schemas import models as m
from sealing.bodies import BodyOpener


def inbox_entry(conversation: InboxConversation, opener: BodyOpener | None = None) -> InboxEntry:
    """`opener` opens a sealed preview (the view keeps it sealed); without one, or once its
    key is gone, a sealed preview shows no text."""
    summary, receipts = conversation.summary, conversation.receipts
    preview = summary.preview
    text = None if preview is None else _text(conversation.conversation_id, preview, opener)
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
            kind=preview.kind if text is None else "plain",
            text=text,
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


def _text(cid: str, preview: StoredPreview, opener: BodyOpener | None) -> str | None:
    if preview.sealed is None or opener is None:
        return preview.text
    sealed = preview.sealed
    body = m.SealedBody(
        key_id=sealed.key_id,
        algorithm=sealed.algorithm,
        nonce=base64.b64decode(sealed.nonce),
        ciphertext=base64.b64decode(sealed.ciphertext),
    )
    text = opener.text(body, cid, preview.sender_id)
    if text is None or len(text) <= PREVIEW_CHARS:
        return text
    return text[:PREVIEW_CHARS] + "…"
