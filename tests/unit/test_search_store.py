"""The search view's pure `apply` and its tantivy store: idempotent by (conversation, seq),
positions in the same commit as the documents, whole after a kill -9, run by the shared loop."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from projections.__main__ import VIEWS, open_search
from projections.search.documents import dump
from projections.search.projection import Advance, MessageDoc, Remove, Upsert, apply
from projections.search.query import SearchReader, SearchUnavailableError
from projections.search.store import SearchBatch, SearchStore
from projections.store import Readiness
from schemas import models as m
from tests.unit.search_log import fixed_log, write

ROOT = Path(__file__).resolve().parents[2]


def fold_pure(events: list[m.Event]) -> dict[tuple[str, int], MessageDoc]:
    """`apply` over a dict: the view's meaning without tantivy."""
    docs: dict[tuple[str, int], MessageDoc] = {}
    last: dict[str, int] = {}

    def current(cid: str, seq: int) -> MessageDoc | None:
        return docs.get((cid, seq))

    for event in events:
        for change in apply(event, last.get(event.meta.conversation_id, 0), current):
            if isinstance(change, Upsert):
                docs[(change.doc.conversation_id, change.doc.seq)] = change.doc
            elif isinstance(change, Remove):
                docs.pop((change.conversation_id, change.seq), None)
            elif isinstance(change, Advance):
                last[change.conversation_id] = change.seq
    return docs


def in_order(docs: dict[tuple[str, int], MessageDoc]) -> list[MessageDoc]:
    return [docs[key] for key in sorted(docs)]


def test_apply_is_idempotent_by_conversation_and_seq() -> None:
    events = fixed_log(400)
    once = fold_pure(events)
    assert fold_pure(events + events[::3]) == once  # replays of old events change nothing
    assert any(doc.text_seq != doc.seq for doc in once.values())  # edits are in there
    assert len(once) < sum(isinstance(e, m.MessageSent) for e in events)  # and removals


def test_the_index_holds_what_the_pure_fold_says(tmp_path: Path) -> None:
    events = fixed_log(1000)
    store = SearchStore(tmp_path / "index")
    for start in range(0, 1000, 137):
        write(store, events, start, min(1000, start + 137))
    messages, records = dump(store.searcher())
    assert messages == in_order(fold_pure(events))
    assert records["position/0"] == 1000
    store.close()


def test_batch_boundaries_do_not_change_the_index(tmp_path: Path) -> None:
    """What the rebuild test of phase 2 relies on: one log, any batching, one index."""
    events = fixed_log(700)
    dumps = []
    for name, size in (("one", 700), ("many", 23), ("odd", 101)):
        store = SearchStore(tmp_path / name)
        for start in range(0, 700, size):
            write(store, events, start, min(700, start + size))
        dumps.append(dump(store.searcher()))
        store.close()
    assert dumps[0] == dumps[1] == dumps[2]


def test_a_replayed_batch_changes_nothing(tmp_path: Path) -> None:
    events = fixed_log(300)
    store = SearchStore(tmp_path / "index")
    write(store, events, 0, 300)
    before = dump(store.searcher())
    batch = SearchBatch(store)
    for offset in range(100, 300):
        batch.add(events[offset], b"")
    assert (batch.applied, batch.skipped) == (0, 200)
    batch.commit()
    assert dump(store.searcher()) == before
    store.close()


def test_reopening_registers_the_analyzers_again(tmp_path: Path) -> None:
    store = SearchStore(tmp_path / "index")
    write(store, fixed_log(50), 0, 50)
    store.close()
    del store
    reopened = SearchStore(tmp_path / "index")
    write(reopened, fixed_log(60), 50, 60)  # indexing needs the custom analyzers
    reader = SearchReader(tmp_path / "index", max_staleness_s=0)
    assert reader.positions() == {0: 60}
    reopened.close()


def test_readiness_is_a_record_of_the_index(tmp_path: Path) -> None:
    store = SearchStore(tmp_path / "index")
    reader = SearchReader(tmp_path / "index", max_staleness_s=0)
    assert (store.ready(), reader.ready()) == (None, False)
    store.mark_ready(Readiness(high_watermarks={0: 5}))
    assert store.ready() == Readiness(high_watermarks={0: 5})
    assert reader.ready()
    store.clear_ready()
    assert not reader.ready()
    store.close()


def test_the_search_view_runs_in_the_shared_loop_with_larger_batches() -> None:
    """`python -m projections search` drives SearchStore and SearchBatch through the
    follower's `TrackedStore`/`TrackedBatch` contract (mypy holds them to it where VIEWS
    registers them); a rebuild deletes the index, not a RocksDB."""
    kind = VIEWS["search"]
    assert (kind.open, kind.new_batch, kind.destroy) == (
        open_search,
        SearchBatch,
        SearchStore.destroy,
    )
    assert kind.max_batch >= 5_000 > VIEWS["history"].max_batch


def test_a_kill_mid_batch_leaves_a_whole_commit(tmp_path: Path) -> None:
    """kill -9 while a batch is being committed: the index reopens at a commit boundary, with
    exactly the documents of the events before its position, then finishes the log."""
    events = fixed_log()
    path = tmp_path / "index"
    rng = random.Random(7)
    size = 250
    for _ in range(3):
        with subprocess.Popen(
            [sys.executable, "-m", "tests.unit.search_log", str(path), str(size)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        ) as child:
            assert child.stdout is not None
            commits = rng.randint(1, 3)
            end = 0
            for line in child.stdout:
                if line.startswith("committing") and (commits := commits - 1) == 0:
                    child.send_signal(signal.SIGKILL)
                    end = int(line.split()[1])
                    break
            child.wait(timeout=60)
        assert child.returncode == -signal.SIGKILL
        # The batch in flight is either wholly in or wholly out.
        assert check_whole(path, events, size) in (end - size, end)
    finished = subprocess.run(
        [sys.executable, "-m", "tests.unit.search_log", str(path), str(size)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert finished.stdout.endswith(f"committed {len(events)}\n")
    assert check_whole(path, events, size) == len(events)


def check_whole(path: Path, events: list[m.Event], size: int) -> int:
    reader = SearchReader(path, max_staleness_s=0)
    messages, records = dump(reader.searcher())
    position = records.get("position/0", 0)
    assert position % size == 0 or position == len(events)
    assert messages == in_order(fold_pure(events[:position]))
    return position


@pytest.mark.parametrize("kind", ["encrypted", "sealed"])
def test_unreadable_bodies_are_never_indexed(kind: str) -> None:
    body: m.EncryptedBody | m.SealedBody = (
        m.EncryptedBody(scheme=m.E2EEScheme.OLM_V1, sender_key="k", session_id="s", ciphertext=b"x")
        if kind == "encrypted"
        else m.SealedBody(key_id="k1", algorithm="AES-256-GCM", nonce=b"n", ciphertext=b"x")
    )
    event = fixed_log(1)[0]
    assert isinstance(event, m.MessageSent)
    hidden = m.MessageSent(meta=event.meta, body=body)
    assert apply(hidden, 0, lambda cid, seq: None) == [Advance("c0", 1)]


def test_the_query_side_does_not_import_kafka() -> None:
    """The edge imports the search query side (and its executor); Kafka is not for them."""
    probe = (
        "import sys, projections.search.query, projections.search.executor; "
        "sys.exit('confluent_kafka' in sys.modules or 'streams' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", probe], check=False).returncode == 0


def test_a_missing_index_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SearchUnavailableError):
        SearchReader(tmp_path / "absent")
