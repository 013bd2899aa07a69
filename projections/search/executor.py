"""Searches on threads of their own, each within a time budget, none able to stall others.

tantivy releases the GIL while it searches, so searches on a few worker threads run beside
the edge's event loop and beside each other. Each search gets a deadline when it is asked
for (time spent queued counts), checks it before every step (`query.MessageSearch`), and its
caller stops waiting at the deadline with `timeout`, whatever the worker is doing; a worker
is then busy for at most one more step, bounded by the chunk size. The queue is bounded too:
a search that finds every worker and queue slot taken is answered `timeout` at once rather
than waiting behind others.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError

from projections.search.answers import SearchPage, SearchRequest
from projections.search.errors import SearchTimeoutError

Search = Callable[[str, SearchRequest, float], SearchPage]
"""(user_id, request, deadline on `clock`) -> page: `MessageSearch.search`."""

BUDGET_S = 1.0
WORKERS = 2
QUEUED = 16


class SearchExecutor:
    def __init__(
        self,
        search: Search,
        *,
        budget_s: float = BUDGET_S,
        workers: int = WORKERS,
        queued: int = QUEUED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._search = search
        self.budget_s = budget_s
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="search")
        self._slots = threading.BoundedSemaphore(workers + queued)

    def submit(self, user_id: str, request: SearchRequest) -> tuple[Future[SearchPage], float]:
        """The running search and its deadline; `timeout` at once when all slots are taken."""
        if not self._slots.acquire(blocking=False):
            raise SearchTimeoutError("too many searches are running; try again shortly")
        deadline = self._clock() + self.budget_s
        try:
            future = self._pool.submit(self._search, user_id, request, deadline)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        return future, deadline

    async def run(self, user_id: str, request: SearchRequest) -> SearchPage:
        future, deadline = self.submit(user_id, request)
        remaining = max(0.0, deadline - self._clock())
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), remaining)
        except TimeoutError:
            raise SearchTimeoutError("the search ran past its time budget") from None

    def run_sync(self, user_id: str, request: SearchRequest) -> SearchPage:
        future, deadline = self.submit(user_id, request)
        try:
            return future.result(timeout=max(0.0, deadline - self._clock()))
        except FutureTimeoutError:
            future.cancel()
            raise SearchTimeoutError("the search ran past its time budget") from None

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
