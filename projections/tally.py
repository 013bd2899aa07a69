"""How a view's batch counts the events it is given: applied, skipped (a replay), and gaps
(an event further than one seq ahead of the view, which the follower reports as a metric)."""

from __future__ import annotations

import logging
from typing import Protocol

log = logging.getLogger("parley.views")


class Counted(Protocol):
    applied: int
    skipped: int
    gaps: int


def tally(batch: Counted, conversation_id: str, last: int, seq: int, *, changed: bool) -> bool:
    """Count one event; True when it changed the view (its changes are to be kept)."""
    if not changed:
        batch.skipped += 1
        return False
    if seq != last + 1:
        log.warning("gap in %s: view at seq %d, event at seq %d", conversation_id, last, seq)
        batch.gaps += 1
    batch.applied += 1
    return True
