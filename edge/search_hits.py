"""Search as clients see it: the protocol's `search` parameters turned into the search view's
request, and its page turned into the protocol's answer (the view answers in its own terms;
only the edge knows the wire format, as edge/inbox_entries.py does for the inbox)."""

from __future__ import annotations

from edge.protocol.answers import Highlight, SearchHit, SearchPage
from edge.protocol.frames import SearchParameters
from projections.search import answers as q


def search_request(asked: SearchParameters) -> q.SearchRequest:
    return q.SearchRequest(
        query=asked.query,
        conversation_id=asked.conversation_id,
        sender=asked.sender,
        before=asked.before,
        after=asked.after,
        has_link=asked.has_link,
        has_file=asked.has_file,
        order=asked.order,
        limit=asked.limit,
        cursor=asked.cursor,
    )


def search_page(found: q.SearchPage) -> SearchPage:
    return SearchPage(
        hits=[_hit(hit) for hit in found.hits],
        estimated_total=found.estimated_total,
        next_cursor=found.next_cursor,
    )


def _hit(hit: q.SearchHit) -> SearchHit:
    return SearchHit(
        conversation_id=hit.conversation_id,
        seq=hit.seq,
        sender=hit.sender,
        sent_at_ms=int(hit.sent_at.timestamp() * 1000),
        edited=hit.edited,
        snippet=hit.snippet,
        snippet_offset=hit.snippet_offset,
        highlights=[Highlight(start=h.start, end=h.end) for h in hit.highlights],
        score=hit.score,
    )
