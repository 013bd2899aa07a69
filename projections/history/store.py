"""The history view's store: events by (conversation, seq) and who may read them."""

from __future__ import annotations

import logging

from projections.history.layout import last_seq_key
from projections.history.projection import apply
from projections.store import ViewBatch, ViewStore, decode_int
from schemas import models as m

log = logging.getLogger("parley.history")


class HistoryStore(ViewStore):
    def last_seq(self, conversation_id: str) -> int:
        value = self.get(last_seq_key(conversation_id))
        return 0 if value is None else decode_int(value)


class HistoryBatch(ViewBatch):
    def last_seq(self, conversation_id: str) -> int:
        value = self.get(last_seq_key(conversation_id))
        return 0 if value is None else decode_int(value)

    def add(self, event: m.Event, encoded: bytes) -> None:
        cid, seq = event.meta.conversation_id, event.meta.seq
        last = self.last_seq(cid)
        changes = apply(event, encoded, last)
        if not changes:
            self.skipped += 1
            return
        if seq != last + 1:
            log.warning("gap in %s: view at seq %d, event at seq %d", cid, last, seq)
            self.gaps += 1
        self.applied += 1
        self.extend(changes)
