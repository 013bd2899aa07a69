"""Who finds what: a person finds a message only if fetch_history would give it to them right
now, checked at query time against the history view, so a removal, a deletion or a
redaction takes effect at once.

`visible` is the rule, and it asks the history view's query side what fetch_history asks
it (edge/pages.py: the person's tenures, which cut every page, the page itself,
`hidden_for`, `overlay`), so the two cannot disagree. `readable` is only a shortcut that
makes tantivy look in the right conversations (and, for a member who joined late or left,
the right seqs) first; it is built from the same tenures (`Tenures.spans` of what one may
read: from joining to removal, once per tenure), and every hit is still passed through
`visible`.
"""

from __future__ import annotations

from typing import Protocol, cast

from tantivy import FieldType, Occur, Query

from projections.history.layout import Tenure, Tenures
from projections.history.query import Overlay
from projections.search import layout as f
from projections.search.projection import MessageDoc
from schemas import codec
from schemas import models as m

SINCE_THE_START = (Tenure(joined_at=1),)
"""A member from the conversation's first event (its creation) until now."""


class History(Protocol):
    """The history view's query side (projections.history.query.HistoryReader)."""

    def tenures(self, user_id: str) -> dict[str, Tenures]: ...

    def can_read(self, user_id: str, conversation_id: str, seq: int) -> bool: ...

    def page(
        self, conversation_id: str, *, before: int | None, after: int | None, limit: int
    ) -> list[bytes]: ...

    def hidden_for(self, user_id: str, conversation_id: str, seq: int) -> bool: ...

    def overlay(self, conversation_id: str, seq: int) -> Overlay: ...


def readable(tenures: dict[str, Tenures], only: str | None = None) -> Query | None:
    """The messages a person with these tenures may read, as a tantivy filter (None: none);
    `only` narrows it to one conversation. A member since a conversation began reads all of
    it (one set of terms for all such conversations, the common case, and the cheap one);
    any other tenure is its conversation and a range of seqs."""
    if only is not None:
        tenures = {only: tenures[only]} if only in tenures else {}
    whole = sorted(cid for cid, held in tenures.items() if held.tenures == SINCE_THE_START)
    ways: list[Query] = []
    if whole:
        ways.append(Query.term_set_query(f.SCHEMA, f.CONVERSATION, whole))
    for cid, held in sorted(tenures.items()):
        if held.tenures == SINCE_THE_START:
            continue
        conversation = Query.term_query(f.SCHEMA, f.CONVERSATION, cid)
        for tenure in held.tenures:
            seqs = Query.range_query(
                f.SCHEMA,
                f.SEQ,
                FieldType.Unsigned,
                tenure.joined_at,
                tenure.left_at,
                use_inverted_index=True,
            )
            ways.append(Query.boolean_query([(Occur.Must, conversation), (Occur.Must, seqs)]))
    if not ways:
        return None
    return Query.boolean_query([(Occur.Should, way) for way in ways])


def visible(history: History, user_id: str, doc: MessageDoc) -> bool:
    """fetch_history would give `user_id` this message now, with this text: it was sent during
    one of their tenures (`can_read`: `Tenures.covers`); the history view still holds it
    (not deleted for everyone, not redacted); they did not delete it for themselves; and its
    latest edit is the one indexed (a search view trailing the history view by an edit
    shows nothing rather than the old text)."""
    cid, seq = doc.conversation_id, doc.seq
    if not history.can_read(user_id, cid, seq):
        return False
    if not history.page(cid, before=seq + 1, after=seq - 1, limit=1):
        return False
    if history.hidden_for(user_id, cid, seq):
        return False
    edit = history.overlay(cid, seq).edit
    latest = seq if edit is None else cast(m.MessageEdited, codec.decode(edit)).meta.seq
    return latest == doc.text_seq
