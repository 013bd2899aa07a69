"""An export's readable transcript: the same lines as its JSON Lines file, as HTML, piece by
piece (an export streams, so the transcript is written as its lines come).

Everything that came from a person (message text, names, emoji, reasons, ids) is hostile
input: each goes through `html.escape`, with quotes, and nowhere but into element text. The
page also forbids every script, style sheet, frame and fetch with its Content-Security-
Policy, and its download URL is served as an attachment, so even a mistake here could not
run anything in the officer's browser. Read and delivery receipts are left out (there is
one per message and member): they are in the JSON Lines file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from edge.protocol import events as v
from edge.protocol.compliance import ExportConversation, ExportEnd, ExportEvent, ExportHeader

STYLE = (
    "body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222}"
    "h1{font-size:1.3em}h2{font-size:1.1em;margin-top:2em;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;width:100%}td{vertical-align:top;padding:.2em .5em}"
    ".seq,.at{color:#777;white-space:nowrap}.who{font-weight:600;white-space:nowrap}"
    ".text{white-space:pre-wrap;word-break:break-word}.note{color:#777;font-style:italic}"
)
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; form-action 'none'"
RECEIPTS = (v.ReadWatermarkAdvanced, v.DeliveredWatermarkAdvanced)


def text(value: object) -> str:
    """Any value as element text: escaped, quotes included."""
    return escape(str(value), quote=True)


def instant(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def header(head: ExportHeader) -> str:
    mode = "every version (legal hold)" if head.mode == "legal_hold" else "as it stood"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>Parley export {text(head.export_id)}</title><style>{STYLE}</style></head><body>\n"
        f"<h1>Parley export: {text(head.subject)}</h1>\n<p>Case {text(head.case)}; "
        f"{mode} at {instant(head.as_of_ms)}; generated {instant(head.generated_at_ms)}; "
        f"export {text(head.export_id)}. Read and delivery receipts are in export.jsonl.</p>\n"
    )


def conversation(opened: ExportConversation, *, first: bool) -> str:
    close = "" if first else "</table>\n"
    members = ""
    if opened.members is not None:
        listed = ", ".join(f"{text(u)} ({text(r.lower())})" for u, r in opened.members.items())
        members = f"<p>Members: {listed or 'none'}</p>"
    return (
        f"{close}<h2>Conversation {text(opened.conversation_id)}</h2>{members}\n"
        "<table><tr><th>seq</th><th>time (UTC)</th><th>who</th><th>what</th></tr>\n"
    )


def event(line: ExportEvent) -> str:
    shown = line.view.event
    if isinstance(shown, RECEIPTS) or not isinstance(shown, v.Event):
        return ""
    return (
        f'<tr><td class="seq">#{line.seq}</td><td class="at">{instant(shown.occurred_at_ms)}</td>'
        f'<td class="who">{text(shown.actor.user_id)}</td><td>{_what(line, shown)}</td></tr>\n'
    )


def footer(end: ExportEnd, *, any_conversation: bool) -> str:
    close = "</table>\n" if any_conversation else ""
    return (
        f'{close}<p class="note">{end.conversations} conversation(s), {end.events} event(s).'
        "</p>\n</body></html>\n"
    )


def _what(line: ExportEvent, shown: v.Event) -> str:
    body = "" if line.text is None else f'<span class="text">{text(line.text.text)}</span>'
    match shown:
        case v.MessageSent():
            parts = [body]
            if line.edit_text is not None and line.view.edited is not None:
                parts.append(
                    f'<br><span class="note">edited (#{line.view.edited.seq}):</span> '
                    f'<span class="text">{text(line.edit_text.text)}</span>'
                )
            if shown.attachments:
                count = len(shown.attachments)
                parts.append(f'<br><span class="note">{count} attachment(s)</span>')
            if line.view.reactions:
                listed = "; ".join(
                    f"{text(emoji)} {text(', '.join(users))}"
                    for emoji, users in line.view.reactions.items()
                )
                parts.append(f'<br><span class="note">reactions: {listed}</span>')
            return "".join(parts)
        case v.MessageEdited():
            return f'<span class="note">edited #{shown.target_seq}:</span> {body}'
        case v.MessageDeleted():
            scope = "for everyone" if shown.scope == "FOR_EVERYONE" else "for themselves"
            return f'<span class="note">deleted #{shown.target_seq} {scope}</span>'
        case v.MessageRedacted():
            return f'<span class="note">redacted #{shown.target_seq}: {text(shown.reason)}</span>'
        case v.ReactionAdded() | v.ReactionRemoved():
            verb = "reacted" if isinstance(shown, v.ReactionAdded) else "took back"
            return f'<span class="note">{verb} {text(shown.emoji)} on #{shown.target_seq}</span>'
        case v.ConversationCreated():
            members = ", ".join(text(member.user_id) for member in shown.members)
            name = "" if shown.name is None else f" {text(shown.name)}"
            kind = shown.kind.lower()
            return f'<span class="note">created the {kind} conversation{name} with {members}</span>'
        case v.MemberAdded() | v.MemberRoleChanged():
            verb = "added" if isinstance(shown, v.MemberAdded) else "made"
            role = text(shown.role.lower())
            return f'<span class="note">{verb} {text(shown.user_id)} ({role})</span>'
        case v.MemberRemoved():
            verb = "left" if shown.left else f"removed {text(shown.user_id)}"
            return f'<span class="note">{verb}</span>'
    return f'<span class="note">{text(shown.type)}</span>'
