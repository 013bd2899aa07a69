"""The edge's book of the media topic, and the two waits it serves: for the book to reach a
position of the topic, and for a media's next change.

A follower of every partition of the media topic (edge/log_bridge.py, from the start of the
window: kafkalog/window.py) folds each record into the book on the event loop and then says
so (`on_record`). An upload declared on another node is not in this node's book until the
follower has read it: a request naming a media the book does not know waits until the book
has read that media's partition up to its high watermark as of the request (`known`), woken
by the follower's progress, never by a timer. A client waiting for its upload to be
processed waits for the media's next event the same way (`changed`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from edge.progress import Progress, woken
from kafkalog.follower import Decoded
from media.book import MediaBook
from media.lifecycle import MediaRecord
from schemas import models as m
from schemas.partitioning import partition_for


class MediaWatch:
    def __init__(self, book: MediaBook, partitions: int, end_of: Callable[[int], int]) -> None:
        """`end_of(partition)`: the partition's high watermark now (a blocking Kafka call,
        made from a worker thread)."""
        self.book = book
        self.partitions = partitions
        self.end_of = end_of
        self.progress: Progress[int] = Progress()
        self._waiting: dict[str, list[asyncio.Future[None]]] = {}

    def on_record(self, item: Decoded[m.MediaEvent]) -> None:
        """One record of the media topic, on the event loop, in log order per partition."""
        self.book.apply(item.value, (item.partition, item.offset))
        self.progress.advance(item.partition, item.offset + 1)
        for future in self._waiting.pop(item.value.meta.media_id, ()):
            if not future.done():
                future.set_result(None)

    async def known(self, media_id: str, timeout_s: float) -> MediaRecord | None:
        """The media's record once this book has read everything written about it before
        now (None if it still knows nothing of it at the deadline: it does not exist)."""
        record = self.book.get(media_id)
        if record is not None:
            return record
        partition = partition_for(media_id, self.partitions)
        end = await asyncio.to_thread(self.end_of, partition)
        await self.progress.reach(partition, end, timeout_s)
        return self.book.get(media_id)

    async def changed(self, media_id: str, timeout_s: float) -> bool:
        """True once an event about the media is folded in; False at the deadline."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(media_id, []).append(future)
        try:
            return await woken(future, timeout_s)
        finally:
            waiters = self._waiting.get(media_id)
            if waiters is not None and future in waiters:
                waiters.remove(future)
                if not waiters:
                    del self._waiting[media_id]
