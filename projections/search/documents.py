"""A message as a tantivy document and back, and the query that finds one by its seq."""

from __future__ import annotations

from typing import Any

from tantivy import Document, Occur, Query, Searcher

from projections.search import layout as f
from projections.search.folding import fold
from projections.search.projection import MessageDoc
from projections.search.scripts import split
from projections.search.tags import tags


def to_document(doc: MessageDoc) -> Document:
    words_text, runs = split(fold(doc.text))
    out = Document()
    out.add_text(f.CONVERSATION, doc.conversation_id)
    out.add_unsigned(f.SEQ, doc.seq)
    out.add_text(f.SENDER, doc.sender)
    out.add_integer(f.STAMP, doc.sent_at_us)
    for tag in tags(doc.text, has_attachments=doc.has_attachments):
        out.add_text(f.TAGS, tag)
    out.add_text(f.WORDS, words_text)
    for run in runs:
        out.add_text(f.GRAMS, run)
    out.add_bytes(f.BODY, doc.text.encode())
    out.add_unsigned(f.TEXT_SEQ, doc.text_seq)
    return out


def first(document: Document, field: str) -> Any:
    """The field's value; every field read here is written with every document of its kind."""
    value = document.get_first(field)
    if value is None:
        raise ValueError(f"a search document without {field}")
    return value


def from_document(document: Document) -> MessageDoc:
    return MessageDoc(
        conversation_id=str(first(document, f.CONVERSATION)),
        seq=int(first(document, f.SEQ)),
        sender=str(first(document, f.SENDER)),
        sent_at_us=int(first(document, f.STAMP)),
        text=bytes(first(document, f.BODY)).decode(),
        text_seq=int(first(document, f.TEXT_SEQ)),
        has_attachments=f.FILE in document.get_all(f.TAGS),
    )


def message_query(conversation_id: str, seq: int) -> Query:
    return Query.boolean_query(
        [
            (Occur.Must, Query.term_query(f.SCHEMA, f.CONVERSATION, conversation_id)),
            (Occur.Must, Query.term_query(f.SCHEMA, f.SEQ, seq)),
        ]
    )


def sender_query(conversation_id: str, sender: str) -> Query:
    return Query.boolean_query(
        [
            (Occur.Must, Query.term_query(f.SCHEMA, f.CONVERSATION, conversation_id)),
            (Occur.Must, Query.term_query(f.SCHEMA, f.SENDER, sender)),
        ]
    )


def record(key: str, value: int = 0, payload: bytes = b"") -> Document:
    """One of the view's own records (see layout.py)."""
    out = Document()
    out.add_text(f.KEY, key)
    out.add_unsigned(f.VALUE, value)
    if payload:
        out.add_bytes(f.PAYLOAD, payload)
    return out


def find_record(searcher: Searcher, key: str) -> Document | None:
    hits = searcher.search(Query.term_query(f.SCHEMA, f.KEY, key), 1, count=False).hits
    return searcher.doc(hits[0][1]) if hits else None


def last_seq_in(searcher: Searcher, conversation_id: str) -> int:
    """The last seq the index applied in the conversation; 0 for one it has not seen."""
    found = find_record(searcher, f.last_seq_key(conversation_id))
    return 0 if found is None else int(first(found, f.VALUE))


def positions_in(searcher: Searcher) -> dict[int, int]:
    """The next offset to read per partition, as of the searcher's commit."""
    query = Query.regex_query(f.SCHEMA, f.KEY, f"{f.POSITION}[0-9]+")
    found: dict[int, int] = {}
    for _, address in searcher.search(query, 100_000, count=False).hits:
        document = searcher.doc(address)
        partition = int(str(first(document, f.KEY)).removeprefix(f.POSITION))
        found[partition] = int(first(document, f.VALUE))
    return found


def dump(searcher: Searcher) -> tuple[list[MessageDoc], dict[str, int]]:
    """Every message (by conversation and seq) and every record but readiness (key -> value):
    what two indexes built from the same log must agree on (the rebuild test compares it)."""
    messages: list[MessageDoc] = []
    records: dict[str, int] = {}
    limit = max(1, searcher.num_docs)
    for _, address in searcher.search(Query.all_query(), limit, count=False).hits:
        document = searcher.doc(address)
        key = document.get_first(f.KEY)
        if key is None:
            messages.append(from_document(document))
        elif key != f.READY:
            records[str(key)] = int(first(document, f.VALUE))
    messages.sort(key=lambda doc: (doc.conversation_id, doc.seq))
    return messages, records
