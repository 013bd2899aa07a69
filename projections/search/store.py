"""The search view's tantivy index, written only in whole batches, with its position.

A batch's document changes, the last seq of each conversation it touched and the next offset
per partition it covers (the tracking record) are all documents of one index, written by one
tantivy commit. A commit is atomic: after a crash the index opens at the last commit, whole,
so the positions it reports are exactly what it holds, and the follower reads again from
there. tantivy-py has no commit payload, hence positions as documents.

`SearchStore` and `SearchBatch` are a `TrackedStore` and a `TrackedBatch`
(projections/store.py), the contract the view follower drives, so the search view runs in
the same loop as the others: `python -m projections search [rebuild]`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tantivy import Searcher

from projections.search import layout as f
from projections.search.documents import (
    find_record,
    first,
    from_document,
    last_seq_in,
    message_query,
    positions_in,
    record,
    sender_query,
    to_document,
)
from projections.search.projection import (
    Advance,
    MessageDoc,
    Remove,
    RemoveSender,
    TextOf,
    Upsert,
    apply,
    readable_text,
)
from projections.search.purge import companions
from projections.store import Readiness
from projections.tally import tally
from schemas import models as m
from sealing.bodies import BodyOpener

SEARCH_MAX_BATCH = 5_000
"""Records per batch at most: each commit costs a fixed few milliseconds whatever it holds
(measured in docs/search.md), so the search view takes larger batches than the others."""
MAX_CACHED_CONVERSATIONS = 1_000_000
"""Last seqs kept in memory; past it the cache starts again from the index."""


@dataclass(frozen=True)
class Pending:
    """A message's document as a batch leaves it (None: removed), and whether the index held
    one before the batch (which must then be deleted first)."""

    doc: MessageDoc | None
    existed: bool


class SearchStore:
    """The only writer of the index (tantivy's lock file enforces it)."""

    def __init__(
        self,
        path: Path,
        *,
        heap_bytes: int = f.WRITER_HEAP_BYTES,
        opener: BodyOpener | None = None,
    ) -> None:
        """`opener`: how sealed bodies open (the process passes the key store's, so that they
        are indexed; without one only plain text is, as in the pure core's tests)."""
        self.path = path
        self.heap_bytes = heap_bytes
        self.opener = opener
        self.text_of: TextOf = readable_text if opener is None else opener.text
        self.index = f.open_index(path)
        # One indexing thread: the view's throughput is measured per core, and a view
        # process is one of several on a host.
        self._writer = self.index.writer(heap_bytes, 1)
        self._last_seqs: dict[str, int] = {}
        self._stale = False
        self.purged = 0
        """Documents written again by purges since the start (a metric of their cost)."""

    @staticmethod
    def destroy(path: Path) -> None:
        """Delete the index, so that the next start replays the log from offset 0."""
        shutil.rmtree(path, ignore_errors=True)

    def positions(self) -> dict[int, int]:
        return positions_in(self.searcher())

    def last_seq(self, conversation_id: str) -> int:
        """0 for a conversation the view has not seen."""
        cached = self._last_seqs.get(conversation_id)
        if cached is not None:
            return cached
        last = last_seq_in(self.searcher(), conversation_id)
        self._remember({conversation_id: last})
        return last

    def message(self, conversation_id: str, seq: int) -> MessageDoc | None:
        searcher = self.searcher()
        hits = searcher.search(message_query(conversation_id, seq), 1, count=False).hits
        return from_document(searcher.doc(hits[0][1])) if hits else None

    def ready(self) -> Readiness | None:
        found = find_record(self.searcher(), f.READY)
        if found is None:
            return None
        return Readiness.model_validate_json(bytes(first(found, f.PAYLOAD)))

    def write(
        self,
        messages: dict[tuple[str, int], Pending],
        last_seqs: dict[str, int],
        positions: dict[int, int],
        erased: Iterable[tuple[str, str]] = (),
    ) -> None:
        """The batch's documents, last seqs and positions, in one commit (or none of them).
        `erased`: (conversation, person) whose every document goes. A batch that removes
        or replaces a document (an edit) also purges the segments that held the old one in
        the same commit (purge.py). Regression: an edit only marked the old version deleted,
        and its text stayed in a segment the later erasure of its sender did not rewrite (no
        live document of theirs was left there): the erasure proof found it in a file."""
        erased = list(erased)
        superseded = [key for key, p in messages.items() if p.existed]
        rewrite = []
        if superseded or erased:
            self._settle_merges()
            rewrite = companions(self.searcher(), superseded, erased, set(messages))
        writer = self._writer
        try:
            for companion in rewrite:
                companion.delete(writer)
                writer.add_document(companion.rewritten())
            for cid, user in erased:
                writer.delete_documents_by_query(sender_query(cid, user))
            for (cid, seq), pending in messages.items():
                if pending.existed:
                    writer.delete_documents_by_query(message_query(cid, seq))
                if pending.doc is not None:
                    writer.add_document(to_document(pending.doc))
            for cid, seq in last_seqs.items():
                key = f.last_seq_key(cid)
                if self.last_seq(cid) > 0:
                    writer.delete_documents_by_term(f.KEY, key)
                writer.add_document(record(key, seq))
            for partition, offset in positions.items():
                key = f.position_key(partition)
                writer.delete_documents_by_term(f.KEY, key)
                writer.add_document(record(key, offset))
            writer.commit()
        except BaseException:
            writer.rollback()
            raise
        if superseded or erased:
            writer.garbage_collect_files()
            self.purged += len(rewrite)
        self._stale = True
        self._remember(last_seqs)

    def _settle_merges(self) -> None:
        """Let running merges finish (purge.py says why) and go on with a fresh writer."""
        self._writer.wait_merging_threads()
        self._writer = self.index.writer(self.heap_bytes, 1)
        self.index.reload()
        self._stale = False

    def _remember(self, last_seqs: dict[str, int]) -> None:
        if len(self._last_seqs) + len(last_seqs) > MAX_CACHED_CONVERSATIONS:
            self._last_seqs.clear()
        self._last_seqs.update(last_seqs)

    def mark_ready(self, readiness: Readiness) -> None:
        self._replace_record(f.READY, readiness.model_dump_json().encode())

    def clear_ready(self) -> None:
        """A restarted view is behind the log until it has caught up again."""
        self._replace_record(f.READY, None)

    def close(self) -> None:
        self._writer.wait_merging_threads()

    def searcher(self) -> Searcher:
        """The last commit's view. Reloading costs a few milliseconds, so it happens when a
        read needs it (an edit, a deletion, a conversation not in the cache), not per commit."""
        if self._stale:
            self.index.reload()
            self._stale = False
        return self.index.searcher()

    def _replace_record(self, key: str, payload: bytes | None) -> None:
        self._writer.delete_documents_by_term(f.KEY, key)
        if payload is not None:
            self._writer.add_document(record(key, payload=payload))
        self._writer.commit()
        self._stale = True


class SearchBatch:
    """Changes of consecutive events, read through by `message` and `last_seq`, so that two
    events of one conversation in one batch see each other; written in one commit."""

    def __init__(self, store: SearchStore) -> None:
        self.store = store
        self.messages: dict[tuple[str, int], Pending] = {}
        self.last_seqs: dict[str, int] = {}
        self.positions: dict[int, int] = {}
        self.applied = 0
        self.skipped = 0
        self.gaps = 0
        self.erased: set[tuple[str, str]] = set()
        self._held: dict[tuple[str, int], bool] = {}

    def add(self, event: m.Event, encoded: bytes) -> None:
        """Apply one event (idempotently: a replayed event changes nothing). `encoded` is
        unused: the index keeps text, not events."""
        cid, seq = event.meta.conversation_id, event.meta.seq
        last = self.last_seq(cid)
        changes = apply(event, last, self.message, self.store.text_of)
        if not tally(self, cid, last, seq, changed=bool(changes)):
            return
        for change in changes:
            if isinstance(change, Upsert):
                key = (change.doc.conversation_id, change.doc.seq)
                self.messages[key] = Pending(change.doc, self._held.get(key, False))
            elif isinstance(change, Remove):
                key = (change.conversation_id, change.seq)
                self.messages[key] = Pending(None, self._held.get(key, False))
            elif isinstance(change, RemoveSender):
                self._erase(change.conversation_id, change.user_id)
                if self.store.opener is not None:
                    self.store.opener.forget(change.user_id)
            elif isinstance(change, Advance):
                self.last_seqs[change.conversation_id] = change.seq

    def _erase(self, conversation_id: str, user_id: str) -> None:
        """The person's documents go: those in the index by query at the commit, and those
        this batch holds at once."""
        self.erased.add((conversation_id, user_id))
        for key, pending in list(self.messages.items()):
            doc = pending.doc
            if doc is not None and doc.conversation_id == conversation_id and doc.sender == user_id:
                self.messages[key] = Pending(None, pending.existed)

    def last_seq(self, conversation_id: str) -> int:
        found = self.last_seqs.get(conversation_id)
        return self.store.last_seq(conversation_id) if found is None else found

    def message(self, conversation_id: str, seq: int) -> MessageDoc | None:
        key = (conversation_id, seq)
        pending = self.messages.get(key)
        if pending is not None:
            return pending.doc
        doc = self.store.message(conversation_id, seq)
        self._held.setdefault(key, doc is not None)
        return doc

    def advance(self, partition: int, next_offset: int) -> None:
        self.positions[partition] = max(self.positions.get(partition, 0), next_offset)

    def commit(self) -> None:
        if self.messages or self.last_seqs or self.positions or self.erased:
            self.store.write(self.messages, self.last_seqs, self.positions, self.erased)
