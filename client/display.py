"""How conversation events and search hits read in a terminal: one line each."""

from __future__ import annotations

from datetime import datetime

from client.models import ConversationEvent, SearchHit
from edge.protocol import events as v
from edge.protocol.frames import PlainText

HIDDEN = (v.ReadWatermarkAdvanced, v.DeliveredWatermarkAdvanced)
"""Receipts matter to the sender's ticks, not to a transcript."""


def _body(body: v.Body) -> str:
    return body.text if isinstance(body, PlainText) else "[encrypted]"


def _attachment(attachment: v.Attachment) -> str:
    """`[image photo.jpg, 1.2 MB: m…]`: enough to `parley download` it."""
    size = attachment.size_bytes
    shown = f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.1f} kB"
    name = attachment.file_name or "file"
    return f"[{attachment.kind.lower()} {name}, {shown}: {attachment.media_id}]"


def _line(event: v.EventView, who: str) -> str:
    match event:
        case v.MessageSent():
            prefix = f"(re #{event.reply_to_seq}) " if event.reply_to_seq else ""
            parts = [_body(event.body)]
            parts += [_attachment(a) for a in event.attachments]
            return f"{who}: {prefix}{' '.join(p for p in parts if p)}"
        case v.MessageEdited():
            return f"{who} edited #{event.target_seq}: {_body(event.body)}"
        case v.MessageDeleted():
            return f"* {who} deleted #{event.target_seq}"
        case v.MessageRedacted():
            return f"* {who} redacted #{event.target_seq}"
        case v.MessagesExpired():
            return f"* expired: {', '.join(f'#{seq}' for seq in event.seqs)}"
        case v.DisappearingMessagesSet():
            after = "off" if event.after_ms is None else f"{event.after_ms / 3_600_000:g} h"
            return f"* {who} set disappearing messages: {after}"
        case v.ReactionAdded():
            return f"* {who} reacted {event.emoji} to #{event.target_seq}"
        case v.ReactionRemoved():
            return f"* {who} took back {event.emoji} on #{event.target_seq}"
        case v.ConversationCreated():
            named = f" {event.name!r}" if event.name else ""
            return f"* {who} created the {event.kind.lower()} conversation{named}"
        case v.MemberAdded():
            return f"* {event.user_id} was added by {who}"
        case v.MemberRemoved():
            removed = "left" if event.left else f"was removed by {who}"
            return f"* {event.user_id} {removed}"
        case v.MemberRoleChanged():
            return f"* {who} made {event.user_id} {event.role.lower()}"
    return f"* {who}: {event.type or 'an unknown event'}"


def describe(event: ConversationEvent) -> str | None:
    """The line for an event, or None for events a transcript leaves out."""
    if isinstance(event.event, HIDDEN):
        return None
    line = _line(event.event, event.sender or "?")
    at = getattr(event.event, "occurred_at_ms", None)
    clock = datetime.fromtimestamp(at / 1000).strftime("%H:%M ") if isinstance(at, int) else ""
    return f"#{event.seq} {clock}{line}"


def highlighted(hit: SearchHit, mark: tuple[str, str] = ("[", "]")) -> str:
    """The hit's snippet with each match between `mark`s. The offsets count UTF-16 code
    units (what a JavaScript client indexes by), so they are applied to the UTF-16 form."""
    units = hit.snippet.encode("utf-16-le")
    out, at = [], 0
    for h in sorted(hit.highlights, key=lambda h: h.start):
        start, end = max(2 * h.start, at), 2 * h.end
        if start >= end:
            continue
        out += [units[at:start].decode("utf-16-le", errors="replace"), mark[0]]
        out += [units[start:end].decode("utf-16-le", errors="replace"), mark[1]]
        at = end
    out.append(units[at:].decode("utf-16-le", errors="replace"))
    return "".join(out)


def describe_hit(hit: SearchHit) -> str:
    """`<conversation> #<seq> <date> <sender>: <snippet with [matches]>`"""
    day = datetime.fromtimestamp(hit.sent_at_ms / 1000).strftime("%Y-%m-%d %H:%M")
    edited = " (edited)" if hit.edited else ""
    text = " ".join(highlighted(hit).split())
    return f"{hit.conversation_id}\t#{hit.seq} {day} {hit.sender}{edited}: {text}"
