"""The history view's read-only query side, for the edge: a RocksDB secondary instance.

A secondary instance reads the primary's files and replays its write-ahead log on
`try_catch_up_with_primary`, so it sees every batch the view has written, whole, at most
`max_staleness_s` late; it never writes and never blocks the view. Each reader needs a
directory of its own for its secondary files (its own info log); by default a temporary
one, removed on `close`. Imports neither Kafka nor anything outside `schemas/`.

A `rebuild` deletes and recreates the primary: readers must then be reopened.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

from rocksdict import AccessType, Options, Rdict

from projections.history.layout import (
    MAX_SEQ,
    READY_KEY,
    Tenure,
    decode_int,
    event_key,
    event_prefix,
    id_after,
    last_seq_key,
    member_key,
    members_prefix,
    membership_key,
    memberships_prefix,
    tenure_key,
)

MAX_PAGE = 1000


class HistoryUnavailableError(Exception):
    """The view's store does not exist (yet) or cannot be opened as a secondary."""


class HistoryReader:
    """Pages of a conversation's events and who may read them, from the history view."""

    def __init__(
        self,
        path: Path,
        *,
        secondary_path: Path | None = None,
        max_staleness_s: float = 0.005,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._own_secondary = secondary_path is None
        self._secondary_path = secondary_path or Path(
            tempfile.mkdtemp(prefix="parley-history-reader-")
        )
        options = Options(raw_mode=True)
        options.set_max_open_files(-1)
        try:
            self._db = Rdict(
                str(path), options, access_type=AccessType.secondary(str(self._secondary_path))
            )
        except Exception as e:
            self._remove_secondary()
            raise HistoryUnavailableError(f"cannot open the history view at {path}: {e}") from e
        self._closed = False
        self._max_staleness_s = max_staleness_s
        self._clock = clock
        self._caught_up_at = clock()

    def page(
        self,
        conversation_id: str,
        *,
        before: int | None = None,
        after: int | None = None,
        limit: int = 50,
    ) -> list[bytes]:
        """Single-object-encoded events in ascending seq order: with `after`, the first
        `limit` with seq > after (and < before, if given); with only `before`, the last
        `limit` with seq < before; with neither, the latest `limit`. Seqs deleted for
        everyone or redacted are absent; their tombstone events are not."""
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"limit must be 1 to {MAX_PAGE}, not {limit}")
        self._catch_up()
        upper = MAX_SEQ if before is None else min(before - 1, MAX_SEQ)
        if upper < 1:
            return []
        if after is not None:
            lower = max(after + 1, 1)
            if lower > upper:
                return []
            return [v for _, v in self._forward(conversation_id, lower, upper, limit)]
        found = [v for _, v in self._backward(conversation_id, upper, limit)]
        found.reverse()
        return found

    def last_seq(self, conversation_id: str) -> int:
        """0 for a conversation the view has not seen."""
        self._catch_up()
        value = self._db.get(last_seq_key(conversation_id))
        return 0 if value is None else decode_int(value)

    def members(self, conversation_id: str) -> dict[str, str]:
        """Current members and their roles."""
        self._catch_up()
        prefix = members_prefix(conversation_id)
        return {id_after(prefix, k): v.decode() for k, v in self._scan(prefix)}

    def conversations_of(self, user_id: str) -> list[str]:
        """The conversations the user is a member of now, in id order."""
        self._catch_up()
        prefix = memberships_prefix(user_id)
        return [id_after(prefix, k) for k, _ in self._scan(prefix)]

    def is_member(self, user_id: str, conversation_id: str) -> bool:
        self._catch_up()
        return self._db.get(membership_key(user_id, conversation_id)) is not None

    def role(self, user_id: str, conversation_id: str) -> str | None:
        self._catch_up()
        value: bytes | None = self._db.get(member_key(conversation_id, user_id))
        return None if value is None else value.decode()

    def can_read(self, user_id: str, conversation_id: str, seq: int) -> bool:
        """A member reads everything; a removed member reads up to their removal."""
        self._catch_up()
        value = self._db.get(tenure_key(user_id, conversation_id))
        if value is None:
            return False
        tenure = Tenure.model_validate_json(value)
        return tenure.left_at is None or seq <= tenure.left_at

    def ready(self) -> bool:
        """The view has caught up to the log as it was when the view last started."""
        self._catch_up()
        return self._db.get(READY_KEY) is not None

    def close(self) -> None:
        """Idempotent, so that an owner may close in both its happy path and its cleanup."""
        if self._closed:
            return
        self._closed = True
        self._db.close()
        self._remove_secondary()

    def __enter__(self) -> HistoryReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _catch_up(self) -> None:
        now = self._clock()
        if now - self._caught_up_at >= self._max_staleness_s:
            self._db.try_catch_up_with_primary()
            self._caught_up_at = now

    def _forward(
        self, conversation_id: str, lower: int, upper: int, limit: int
    ) -> Iterator[tuple[bytes, bytes]]:
        end = event_key(conversation_id, upper)
        it = self._db.iter()
        it.seek(event_key(conversation_id, lower))
        count = 0
        while count < limit and it.valid() and it.key() <= end:
            yield it.key(), it.value()
            count += 1
            it.next()

    def _backward(
        self, conversation_id: str, upper: int, limit: int
    ) -> Iterator[tuple[bytes, bytes]]:
        prefix = event_prefix(conversation_id)
        it = self._db.iter()
        it.seek_for_prev(event_key(conversation_id, upper))
        count = 0
        while count < limit and it.valid() and it.key().startswith(prefix):
            yield it.key(), it.value()
            count += 1
            it.prev()

    def _scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        it = self._db.iter()
        it.seek(prefix)
        while it.valid() and it.key().startswith(prefix):
            yield it.key(), it.value()
            it.next()

    def _remove_secondary(self) -> None:
        if self._own_secondary:
            shutil.rmtree(self._secondary_path, ignore_errors=True)
