"""The history view's store: events by (conversation, seq) and who may read them."""

from __future__ import annotations

import logging

from projections.history.layout import last_seq_in
from projections.history.projection import apply
from projections.store import ViewBatch, ViewStore
from schemas import models as m

log = logging.getLogger("parley.history")


class HistoryStore(ViewStore):
    def last_seq(self, conversation_id: str) -> int:
        return last_seq_in(self.get, conversation_id)


class HistoryBatch(ViewBatch):
    def add(self, event: m.Event, encoded: bytes) -> None:
        cid, seq = event.meta.conversation_id, event.meta.seq
        last = last_seq_in(self.get, cid)
        changes = apply(event, encoded, last)
        if not changes:
            self.skipped += 1
            return
        if seq != last + 1:
            log.warning("gap in %s: view at seq %d, event at seq %d", cid, last, seq)
            self.gaps += 1
        self.applied += 1
        self.extend(changes)
