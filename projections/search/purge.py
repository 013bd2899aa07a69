"""Making a removal physical: no index file keeps the terms or the text of a removed message,
nor the old text of an edited one (its old document is a removal too).

tantivy deletes a document by marking it in a bitset; its stored text and its terms stay in
the segment's files until a merge rewrites that segment without it. tantivy-py offers no
merge of chosen segments, but it does drop a segment whose every document is deleted, at
the commit, and `garbage_collect_files` then removes its files. So a purge rewrites the
segments that hold removed messages: every other document of those segments (its
*companions*) is deleted and added again in the same commit as the removal, the old segment
goes whole, and its files are collected (docs/compliance.md, "The search index").

A background merge that started before the removal was committed would copy the removed
document into a new segment the purge does not know of, so the writer first waits for
running merges; a merge started after the commit never copies a deleted document.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tantivy import Document, IndexWriter, Query, Searcher

from projections.search import layout as f
from projections.search.documents import (
    first,
    from_document,
    message_query,
    record,
    sender_query,
    to_document,
)


@dataclass(frozen=True)
class Companion:
    """A document that shares a segment with a removed one: written again by the purge."""

    message: tuple[str, int] | None
    document: Document

    def delete(self, writer: IndexWriter) -> None:
        if self.message is not None:
            writer.delete_documents_by_query(message_query(*self.message))
        else:
            writer.delete_documents_by_term(f.KEY, str(first(self.document, f.KEY)))

    def rewritten(self) -> Document:
        """The document as the view writes it: stored fields alone would lose the analysed
        text, so a message is built again from its stored text."""
        if self.message is not None:
            return to_document(from_document(self.document))
        payload = self.document.get_first(f.PAYLOAD)
        value = self.document.get_first(f.VALUE)
        return record(
            str(first(self.document, f.KEY)),
            int(value) if value is not None else 0,
            bytes(payload) if payload is not None else b"",
        )


def companions(
    searcher: Searcher,
    removed: Iterable[tuple[str, int]],
    senders: Iterable[tuple[str, str]],
    pending: set[tuple[str, int]],
) -> list[Companion]:
    """Every live document in a segment that holds a removed message (by seq, or by sender
    for an erasure), but those: the documents the purge writes again. `pending`: messages
    the batch writes itself (not companions: the batch deletes and adds them anyway)."""
    queries = [message_query(cid, seq) for cid, seq in removed]
    queries += [sender_query(cid, user) for cid, user in senders]
    size = max(1, searcher.num_docs)
    going: set[tuple[int, int]] = set()
    for query in queries:
        for _, address in searcher.search(query, size, count=False).hits:
            going.add((address.segment_ord, address.doc))
    segments = {segment for segment, _ in going}
    if not segments:
        return []
    found = []
    for _, address in searcher.search(Query.all_query(), size, count=False).hits:
        if address.segment_ord not in segments or (address.segment_ord, address.doc) in going:
            continue
        document = searcher.doc(address)
        if document.get_first(f.KEY) is not None:
            found.append(Companion(None, document))
            continue
        message = (str(first(document, f.CONVERSATION)), int(first(document, f.SEQ)))
        if message not in pending:
            found.append(Companion(message, document))
    return found
