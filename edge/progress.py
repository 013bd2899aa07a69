"""Waiting for this edge's view of a log to reach a version, woken by the follower that
applies the log: it calls `advance` after each record, and a waiter for (key, version)
wakes then, or gives up at its deadline. Never a timer that looks again.

An edge waits so for its own writes: a login answers once this edge's account directory
holds the new device, i.e. the account's seq written by the accounts processor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


async def woken(future: asyncio.Future[None], timeout_s: float) -> bool:
    """True when `future` is resolved (a notification came) within `timeout_s`."""
    try:
        await asyncio.wait_for(future, timeout_s)
        return True
    except TimeoutError:
        return False


class Progress(Generic[K]):
    """Per key, the highest version applied; waiters for a key to reach a version."""

    def __init__(self) -> None:
        self._applied: dict[K, int] = {}
        self._waiting: dict[K, list[tuple[int, asyncio.Future[None]]]] = {}

    def version(self, key: K) -> int:
        """0 for a key never advanced."""
        return self._applied.get(key, 0)

    def advance(self, key: K, version: int) -> None:
        """`key` is applied up to `version`: wake whoever waited for that much."""
        if version <= self._applied.get(key, 0):
            return
        self._applied[key] = version
        waiters = self._waiting.pop(key, None)
        if waiters is None:
            return
        still = [(needed, future) for needed, future in waiters if needed > version]
        for needed, future in waiters:
            if needed <= version and not future.done():
                future.set_result(None)
        if still:
            self._waiting[key] = still

    async def reach(self, key: K, version: int, timeout_s: float) -> bool:
        """True once `key` is at `version` or beyond; False if the deadline came first."""
        if self.version(key) >= version:
            return True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append((version, future))
        try:
            return await woken(future, timeout_s)
        finally:
            self._forget(key, future)

    def waiting(self) -> int:
        """How many waiters there are (for tests and gauges)."""
        return sum(len(w) for w in self._waiting.values())

    def _forget(self, key: K, future: asyncio.Future[None]) -> None:
        waiters = self._waiting.get(key)
        if waiters is None:
            return
        waiters[:] = [(n, w) for n, w in waiters if w is not future]
        if not waiters:
            del self._waiting[key]
