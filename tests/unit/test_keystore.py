"""The local key store deletes for real: a destroyed key's bytes are in no file afterwards."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from sealing.keyids import bucket_key_id, person_key_id
from sealing.keystore import KeyDestroyedError, SqliteKeyStore


def files_holding(directory: Path, needle: bytes) -> list[str]:
    return sorted(
        str(p.relative_to(directory))
        for p in directory.rglob("*")
        if p.is_file() and needle in p.read_bytes()
    )


def test_a_destroyed_key_is_in_no_file_and_a_live_one_is_found(tmp_path: Path) -> None:
    """The scan finds live keys (so it can find what it looks for), and none it destroyed,
    person keys (kept as a tombstone without bytes) and bucket keys (row deleted) alike."""
    store = SqliteKeyStore(tmp_path / "keys.sqlite", wall=lambda: 1_000.0)
    people = {u: store.create(person_key_id(u)) for u in (f"user{i}" for i in range(300))}
    buckets = {e: store.create(bucket_key_id(e)) for e in range(1_030, 1_330, 30)}
    assert files_holding(tmp_path, people["user7"]) == ["keys.sqlite"]
    assert store.destroy(person_key_id("user7"))
    assert store.destroy(bucket_key_id(1_060))
    store.close()
    reopened = SqliteKeyStore(tmp_path / "keys.sqlite", wall=lambda: 1_000.0)
    assert files_holding(tmp_path, people["user7"]) == []
    assert files_holding(tmp_path, buckets[1_060]) == []
    assert files_holding(tmp_path, people["user8"]) == ["keys.sqlite"]
    assert files_holding(tmp_path, buckets[1_090]) == ["keys.sqlite"]
    with pytest.raises(KeyDestroyedError):
        reopened.get(person_key_id("user7"))
    assert reopened.get(bucket_key_id(1_060)) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys.sqlite"]


def test_an_erased_person_key_is_never_made_again(tmp_path: Path) -> None:
    store = SqliteKeyStore(tmp_path / "keys.sqlite")
    first = store.create(person_key_id("ann"))
    assert store.create(person_key_id("ann")) == first
    store.destroy(person_key_id("ann"))
    assert not store.destroy(person_key_id("ann"))
    with pytest.raises(KeyDestroyedError):
        store.create(person_key_id("ann"))
    # A person who never sealed anything: the tombstone alone keeps the id taken.
    assert not store.destroy(person_key_id("bob"))
    with pytest.raises(KeyDestroyedError):
        store.create(person_key_id("bob"))


def test_a_past_bucket_is_never_made_and_live_buckets_are_listed(tmp_path: Path) -> None:
    store = SqliteKeyStore(tmp_path / "keys.sqlite", wall=lambda: 5_000.0)
    with pytest.raises(KeyDestroyedError):
        store.create(bucket_key_id(5_000))
    store.create(bucket_key_id(5_030))
    store.create(bucket_key_id(5_060))
    store.create(person_key_id("x_y"))
    assert store.ids("x/") == ["x/5030", "x/5060"]
    assert store.ids("p/x_") == ["p/x_y"]
    assert store.ids("p/x%") == []


def _make(path: str, queue: multiprocessing.Queue[bytes]) -> None:
    store = SqliteKeyStore(Path(path))
    queue.put(store.create(person_key_id("shared")))
    store.close()


def test_processes_sharing_the_store_get_one_key(tmp_path: Path) -> None:
    """Edges and views on one host make a person's key at once: all get the same bytes."""
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[bytes] = context.Queue()
    workers = [
        context.Process(target=_make, args=(str(tmp_path / "keys.sqlite"), queue)) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    found = {queue.get(timeout=60) for _ in workers}
    for worker in workers:
        worker.join(60)
    assert len(found) == 1
    assert SqliteKeyStore(tmp_path / "keys.sqlite").get(person_key_id("shared")) in found
