"""A fixed log for the search store's tests, and a writer process to kill in mid-batch.

`python -m tests.unit.search_log <index> <batch>` resumes from the index's positions, writes
the rest of `fixed_log()` in batches of `batch` events, saying "committing <end>" before each
commit and "committed <end>" after it, and exits when the log is done.
"""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from projections.search.store import SearchBatch, SearchStore
from schemas import codec
from schemas import models as m

T0 = datetime(2026, 2, 1, tzinfo=UTC)
CONVERSATIONS = 7


def _meta(cid: str, seq: int, i: int) -> m.EventMeta:
    return m.EventMeta(
        event_id=str(uuid.UUID(int=i)),
        conversation_id=cid,
        seq=seq,
        actor=m.Actor(user_id="alice", device_id="phone"),
        client_msg_id=f"m{i}",
        command_id=str(uuid.UUID(int=i)),
        occurred_at=T0 + timedelta(seconds=i),
    )


def fixed_log(length: int = 3000) -> list[m.Event]:
    """Sends, and every seventh event an edit, every eleventh a deletion for everyone, every
    thirteenth a redaction (of earlier messages), over a few conversations."""
    seqs = dict.fromkeys((f"c{i}" for i in range(CONVERSATIONS)), 0)
    events: list[m.Event] = []
    for i in range(length):
        cid = f"c{i % CONVERSATIONS}"
        seqs[cid] += 1
        seq, meta = seqs[cid], _meta(cid, seqs[cid], i)
        target = max(1, seq - 3)
        event: m.Event
        if seq > 4 and i % 7 == 0:
            event = m.MessageEdited(
                meta=meta, target_seq=target, body=m.PlainBody(text=f"edit {i}")
            )
        elif seq > 4 and i % 11 == 0:
            event = m.MessageDeleted(meta=meta, target_seq=target, scope=m.DeleteScope.FOR_EVERYONE)
        elif seq > 4 and i % 13 == 0:
            event = m.MessageRedacted(meta=meta, target_seq=target, reason="test")
        else:
            event = m.MessageSent(meta=meta, body=m.PlainBody(text=f"message {i} in {cid}"))
        events.append(event)
    return events


def write(store: SearchStore, events: list[m.Event], start: int, end: int) -> None:
    """Events [start, end) of the log (partition 0, offset = index), as one batch."""
    batch = SearchBatch(store)
    for offset in range(start, end):
        batch.add(events[offset], codec.encode(events[offset]))
        batch.advance(0, offset + 1)
    batch.commit()


def main(path: str, size: int) -> None:
    events = fixed_log()
    store = SearchStore(Path(path))
    start = store.positions().get(0, 0)
    while start < len(events):
        end = min(len(events), start + size)
        print(f"committing {end}", flush=True)
        write(store, events, start, end)
        print(f"committed {end}", flush=True)
        start = end
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
