"""The search view's read-only query side, for the edge: one person's search, from the
request to a page of hits they may read. Imports neither Kafka nor anything outside
`schemas/` and the history view's query side.

Flow: parse (`syntax`) -> tantivy query (`plan`) -> restricted to the conversations the
person may read (`access.readable`) -> candidates in relevance or newest-first order, a
chunk at a time -> each checked (`plan.Check`, then `access.visible`, the rule) -> snippets
(`highlight`) -> a cursor for the rest (`cursor`). The caller gives a deadline, checked
before every step, so a search stops within one step of its budget (`executor.py` runs it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, cast

from tantivy import FieldType, Index, Occur, Order, Query, Searcher, SearchResult

from projections.reader import ViewUnavailableError
from projections.search import analyzers
from projections.search import layout as f
from projections.search.access import History, readable, visible
from projections.search.answers import SearchHit, SearchPage, SearchRequest
from projections.search.cursor import CursorState, decode, encode, fingerprint
from projections.search.documents import find_record, from_document, last_seq_in, positions_in
from projections.search.errors import SearchTimeoutError
from projections.search.highlight import snippet
from projections.search.plan import Plan, plan
from projections.search.projection import MessageDoc
from projections.search.syntax import parse

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SearchUnavailableError = ViewUnavailableError


class SearchReader:
    """The index as the view last committed it, seen at most `max_staleness_s` late. Safe to
    share between threads (tantivy searchers are)."""

    def __init__(
        self,
        path: Path,
        *,
        max_staleness_s: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not path.exists() or not Index.exists(str(path)):
            raise SearchUnavailableError(f"no search index at {path}")
        try:
            self.index = Index.open(str(path))
        except (OSError, ValueError) as e:
            raise SearchUnavailableError(f"cannot open the search index at {path}: {e}") from e
        analyzers.register(self.index)
        self._max_staleness_s = max_staleness_s
        self._clock = clock
        self._reloaded_at = clock()
        self._lock = threading.Lock()

    def searcher(self) -> Searcher:
        now = self._clock()
        with self._lock:
            if now - self._reloaded_at >= self._max_staleness_s:
                self.index.reload()
                self._reloaded_at = now
        return self.index.searcher()

    def ready(self) -> bool:
        """The view has caught up to the log as it was when the view last started."""
        return find_record(self.searcher(), f.READY) is not None

    def positions(self) -> dict[int, int]:
        return positions_in(self.searcher())

    def last_seq(self, conversation_id: str) -> int:
        """How far the index has applied the conversation (0: not at all): what a reader
        waiting for an event to be searchable waits on."""
        return last_seq_in(self.searcher(), conversation_id)

    def close(self) -> None:
        """For owners that close every view they open; tantivy lets go of the index's files
        when its last searcher does, so there is nothing to release here."""


class Indexed(Protocol):
    """Where searches look: a `SearchReader`, or anything that opens one on demand."""

    def searcher(self) -> Searcher: ...


@dataclass(frozen=True)
class SearchLimits:
    chunk: int = 100
    """Candidates asked of tantivy at a time."""
    max_examined: int = 2_000
    """Candidates checked for one page at most; past it the page ends early, with a cursor,
    so no search's cost grows with what the person may not read."""


@dataclass
class _Walk:
    """One page's walk through the candidates, and where it stands."""

    searcher: Searcher
    query: Query
    user_id: str
    limit: int
    built: Plan
    state: CursorState
    newest: bool
    deadline: float
    offset: int
    total: int | None
    """Matches counted by tantivy; counted with the walk's first chunk when not known."""
    examined: int = 0
    last_stamp: int | None = None
    seen_at_last: tuple[tuple[str, int], ...] = ()
    exhausted: bool = False


class MessageSearch:
    def __init__(
        self,
        index: Indexed,
        history: History,
        *,
        limits: SearchLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.index = index
        self.history = history
        self.limits = limits or SearchLimits()
        self._clock = clock

    def search(self, user_id: str, request: SearchRequest, deadline: float) -> SearchPage:
        """One page for `user_id`; raises InvalidSearchError or SearchTimeoutError."""
        self._in_time(deadline)
        parsed = parse(request)
        built = plan(parsed)
        bound = fingerprint(user_id, request)
        state = decode(request.cursor, bound) if request.cursor else CursorState(bound=bound)
        where = readable(self.history.tenures(user_id), parsed.filters.conversation_id)
        if where is None:
            return SearchPage(hits=(), estimated_total=0, next_cursor=None)
        # A filter alone has no relevance to rank by: it lists newest first.
        newest = request.order == "newest" or not (built.terms or built.runs)
        base = Query.boolean_query([(Occur.Must, built.query), (Occur.Must, where)])
        searcher = self.index.searcher()
        query, total = base, None
        if newest and state.stamp is not None:
            # The page's query stops at the cursor; the total counts them all.
            total = _count(searcher.search(base, 1, count=True))
            up_to = Query.range_query(f.SCHEMA, f.STAMP, FieldType.Integer, None, state.stamp)
            query = Query.boolean_query([(Occur.Must, base), (Occur.Must, up_to)])
        walk = _Walk(
            searcher=searcher,
            query=query,
            user_id=user_id,
            limit=request.limit,
            built=built,
            state=state,
            newest=newest,
            deadline=deadline,
            offset=0 if newest else state.offset,
            total=total,
        )
        found = self._walk(walk)
        return SearchPage(
            hits=tuple(self._hit(doc, score, built) for doc, score in found),
            estimated_total=walk.total or 0,
            next_cursor=None if walk.exhausted else encode(self._next(walk)),
        )

    def _walk(self, walk: _Walk) -> list[tuple[MessageDoc, float | None]]:
        seen = set(walk.state.seen)
        found: list[tuple[MessageDoc, float | None]] = []
        chunk = self.limits.chunk
        while len(found) < walk.limit and walk.examined < self.limits.max_examined:
            self._in_time(walk.deadline)
            result = walk.searcher.search(
                walk.query,
                chunk,
                count=walk.total is None,
                order_by_field=f.STAMP if walk.newest else None,
                offset=walk.offset,
                order=Order.Desc,
            )
            if walk.total is None:
                walk.total = _count(result)
            used = 0
            for key, address in result.hits:
                if len(found) == walk.limit or walk.examined >= self.limits.max_examined:
                    break
                self._in_time(walk.deadline)
                used += 1
                walk.offset += 1
                walk.examined += 1
                doc = from_document(walk.searcher.doc(address))
                at = (doc.conversation_id, doc.seq)
                if walk.newest:
                    if doc.sent_at_us == walk.state.stamp and at in seen:
                        continue
                    self._note(walk, doc)
                if walk.built.passes(doc.text) and visible(self.history, walk.user_id, doc):
                    found.append((doc, None if walk.newest else float(key)))
            if len(result.hits) < chunk and used == len(result.hits):
                walk.exhausted = True
                break
        return found

    @staticmethod
    def _note(walk: _Walk, doc: MessageDoc) -> None:
        at = (doc.conversation_id, doc.seq)
        if doc.sent_at_us == walk.last_stamp:
            walk.seen_at_last = (*walk.seen_at_last, at)
        else:
            walk.last_stamp = doc.sent_at_us
            walk.seen_at_last = (at,)

    @staticmethod
    def _next(walk: _Walk) -> CursorState:
        state = walk.state
        if not walk.newest:
            return CursorState(bound=state.bound, offset=walk.offset)
        if walk.last_stamp is None:
            return state
        seen = walk.seen_at_last
        if walk.last_stamp == state.stamp:
            seen = (*state.seen, *seen)
        return CursorState(bound=state.bound, stamp=walk.last_stamp, seen=seen)

    def _hit(self, doc: MessageDoc, score: float | None, built: Plan) -> SearchHit:
        cut, offset, highlights = snippet(doc.text, built.terms, built.runs)
        return SearchHit(
            conversation_id=doc.conversation_id,
            seq=doc.seq,
            sender=doc.sender,
            sent_at=EPOCH + timedelta(microseconds=doc.sent_at_us),
            edited=doc.text_seq != doc.seq,
            snippet=cut,
            snippet_offset=offset,
            highlights=highlights,
            score=score,
        )

    def _in_time(self, deadline: float) -> None:
        if self._clock() > deadline:
            raise SearchTimeoutError("the search ran past its time budget")


def documents_by(index: Indexed, user_id: str) -> int:
    """Documents of the index, as last committed, that the person sent: 0 once their erasure
    reached search (an erasure's report, the erasure benchmark)."""
    sender = Query.term_query(f.SCHEMA, f.SENDER, user_id)
    return _count(index.searcher().search(sender, 1, count=True))


def _count(result: SearchResult) -> int:
    """The number of matches tantivy counted (its type stub omits the attribute)."""
    return int(cast(Any, result).count or 0)
