"""The inbox view's store: a `ViewStore` whose batches apply `projection.apply`."""

from __future__ import annotations

from projections.inbox.projection import apply
from projections.store import ViewBatch, ViewStore
from schemas import models as m


class InboxStore(ViewStore):
    pass


class InboxBatch(ViewBatch):
    def add(self, event: m.Event, encoded: bytes) -> None:
        changes = apply(event, self.get, scan=self.scan)
        if not changes:
            self.skipped += 1
            return
        self.applied += 1
        self.extend(changes)
