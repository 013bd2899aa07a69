"""Not a test: what sealing costs on the send path, side by side with sealing off.

    .venv/bin/python -m bench.sealing [--out bench/results/sealing.json]

Times, in CPU nanoseconds per message (process time, the median of several rounds, so that
other load on a shared machine counts less), the edge's real steps for one plain message
of 160 characters:

- `seal`: `SealedMessages.seal` (HKDF-derived content key from the key ring's cache,
  AES-256-GCM with its associated data), against `PlainMessages.seal` (sealing off);
- `encode`: the `SendMessage` command encoded for the log, sealed body against plain;
- `open`: `BodyOpener.event` on the `MessageSent` (what a push or a page pays per message);
- `first_seal_wall_us`: a person's first seal in a process (the key store's `create` in SQLite,
  `synchronous = FULL`: an fsync), paid once per person (at registration: the display
  name is sealed first);
- `refresh_wall_us`: a process's cache expired (`PARLEY_KEY_CACHE_S`): the key read again
  from the store, no write.

It also prints the bytes a command grows by. The whole send path (`make bench-quick`) with
sealing off is `PARLEY_SEALING=off`; this script isolates the steps sealing adds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from schemas import codec
from schemas import models as m
from sealing.bodies import BodyOpener, PlainMessages, SealedMessages
from sealing.envelope import Sealer
from sealing.keystore import SqliteKeyStore
from sealing.ring import KeyRing

TEXT = "The quick brown fox jumps over the lazy dog; " * 3 + "and again."
MESSAGES = 2_000
ROUNDS = 7
FIRST_SEALS = 100


def per_message(work: Callable[[int], object], count: int = MESSAGES) -> float:
    """Median over rounds of CPU ns per call."""
    rounds = []
    for _ in range(ROUNDS):
        start = time.process_time_ns()
        for i in range(count):
            work(i)
        rounds.append((time.process_time_ns() - start) / count)
    return statistics.median(rounds)


def first_seals(sealing: SealedMessages, plain: m.PlainBody, cid: str) -> float:
    """Wall microseconds per person's first seal (its key made in the store: an fsync, which
    is waiting, not CPU)."""
    start = time.perf_counter()
    for i in range(FIRST_SEALS):
        sealing.seal(plain, cid, f"user{i}", None)
    return (time.perf_counter() - start) / FIRST_SEALS * 1e6


def refreshes(store: SqliteKeyStore) -> float:
    """Wall microseconds per `create` of a key that exists (a process's cache expired): a
    read, no write."""
    start = time.perf_counter()
    for i in range(FIRST_SEALS):
        store.create(f"p/user{i}")
    return (time.perf_counter() - start) / FIRST_SEALS * 1e6


def command(body: m.PlainBody | m.SealedBody) -> m.SendMessage:
    meta = m.CommandMeta(
        command_id="c-0000000000000000",
        conversation_id="g-0123456789abcdef0123456789abcdef",
        actor=m.Actor(user_id="alice", device_id="d-" + "0" * 32),
        client_msg_id="m-1",
        issued_at=datetime.now(UTC),
    )
    return m.SendMessage(meta=meta, body=body)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    cid = "g-0123456789abcdef0123456789abcdef"
    plain = m.PlainBody(text=TEXT[:160])
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteKeyStore(Path(tmp) / "keys.sqlite")
        sealer = Sealer(KeyRing(store))
        sealed_path, plain_path = SealedMessages(sealer), PlainMessages()
        opener = BodyOpener(sealer)
        sealed = sealed_path.seal(plain, cid, "alice", None)
        assert isinstance(sealed, m.SealedBody)
        sent = m.MessageSent(
            meta=m.EventMeta(
                event_id="e-1",
                seq=1,
                conversation_id=cid,
                actor=m.Actor(user_id="alice", device_id="d-" + "0" * 32),
                client_msg_id="m-1",
                occurred_at=datetime.now(UTC),
                command_id="c-0000000000000000",
            ),
            body=sealed,
        )
        results = {
            "seal_ns": per_message(lambda i: sealed_path.seal(plain, cid, "alice", None)),
            "seal_off_ns": per_message(lambda i: plain_path.seal(plain, cid, "alice", None)),
            "encode_sealed_ns": per_message(lambda i: codec.encode(command(sealed))),
            "encode_plain_ns": per_message(lambda i: codec.encode(command(plain))),
            "open_ns": per_message(lambda i: opener.event(sent)),
            "first_seal_wall_us": first_seals(sealed_path, plain, cid),
            "refresh_wall_us": refreshes(store),
            "command_bytes_sealed": len(codec.encode(command(sealed))),
            "command_bytes_plain": len(codec.encode(command(plain))),
            "text_chars": len(plain.text),
        }
        store.close()
    line = json.dumps({"bench": "sealing", "at": datetime.now(UTC).isoformat(), **results})
    print(line)
    if args.out is not None:
        args.out.write_text(line + "\n")


if __name__ == "__main__":
    main()
