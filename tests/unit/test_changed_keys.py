"""A batch's changed keys found by prefix: the same keys as a walk over them all, without
the walk (regression: bench erasure, a history batch quadratic in its changes)."""

from __future__ import annotations

import random
from math import isqrt
from pathlib import Path

from projections.changed_keys import MIN_TAIL, ChangedKeys
from projections.history.store import HistoryBatch, HistoryStore
from projections.store import Delete, Put


class CountedKey(bytes):
    """A key that counts the prefix tests made on it."""

    tests = 0

    def startswith(self, *args: object) -> bool:
        CountedKey.tests += 1
        return super().startswith(*args)  # type: ignore[arg-type]


def test_the_keys_under_a_prefix_are_those_a_walk_finds() -> None:
    rng = random.Random(7)
    keys = ChangedKeys()
    added: set[bytes] = set()
    for _ in range(3000):
        key = bytes(rng.choice(b"abc") for _ in range(rng.randint(1, 6)))
        keys.add(key)
        added.add(key)
        prefix = bytes(rng.choice(b"abc") for _ in range(rng.randint(0, 3)))
        assert sorted(keys.under(prefix)) == sorted(k for k in added if k.startswith(prefix))


def test_a_batch_scan_looks_at_a_few_of_its_changes_not_all(tmp_path: Path) -> None:
    """An erasure's batch: one scan per message dropped, in a batch of 20,000 changes."""
    store = HistoryStore(tmp_path / "history")
    try:
        batch = HistoryBatch(store)
        total = 20_000
        for n in range(total):
            batch.extend([Put(CountedKey(b"e%04d-%05d" % (n % 100, n)), b"")])
            if n % 200 == 0:
                CountedKey.tests = 0
                found = batch.scan(b"e%04d-" % (n % 100))
                assert len(found) == n // 100 + 1
                assert CountedKey.tests <= len(found) + max(MIN_TAIL, isqrt(total)) + 2
    finally:
        store.close()


def test_a_batch_scan_sees_its_own_puts_and_deletes_over_the_store(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "history")
    try:
        first = HistoryBatch(store)
        first.extend([Put(b"k1", b"stored"), Put(b"k2", b"stored"), Put(b"j1", b"other")])
        first.commit()
        batch = HistoryBatch(store)
        for n in range(500):  # enough to merge the tail into the sorted keys several times
            batch.extend([Put(b"z%03d" % n, b"")])
        batch.extend([Delete(b"k1"), Put(b"k3", b"new"), Put(b"k2", b"changed")])
        assert batch.scan(b"k") == [(b"k2", b"changed"), (b"k3", b"new")]
        batch.extend([Put(b"k1", b"back"), Delete(b"k3")])
        assert batch.scan(b"k") == [(b"k1", b"back"), (b"k2", b"changed")]
        assert batch.scan(b"j") == [(b"j1", b"other")]
    finally:
        store.close()
