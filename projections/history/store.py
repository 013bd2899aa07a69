"""The history view's store: events by (conversation, seq) and who may read them."""

from __future__ import annotations

from projections.history.layout import last_seq_in
from projections.history.projection import apply
from projections.store import ViewBatch, ViewStore
from projections.tally import tally
from schemas import models as m


class HistoryStore(ViewStore):
    def last_seq(self, conversation_id: str) -> int:
        return last_seq_in(self.get, conversation_id)


class HistoryBatch(ViewBatch):
    def add(self, event: m.Event, encoded: bytes) -> None:
        cid, seq = event.meta.conversation_id, event.meta.seq
        last = last_seq_in(self.get, cid)
        changes = apply(event, encoded, last, self.get, scan=self.scan)
        if tally(self, cid, last, seq, changed=bool(changes)):
            self.extend(changes)
