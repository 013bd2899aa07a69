"""Live inbox changes: after an event reaches a person's devices on this node, their inbox
entry for that conversation is read from the inbox view and pushed to those of the devices
that follow their inbox (that asked for it once: a list on screen). A device that never
shows an inbox (a bot, the benchmark's loaders) costs no inbox read.

The view may trail the push by a few milliseconds, so the entry is pushed once the view
has applied the event (`last_seq` reached): if the first read is behind, the next read
waits for the view's next write (edge/view_writes.py), up to `give_up_s`, and then the
entry goes out as the view has it. Bursts are coalesced per (person, conversation): a
flood of messages costs one read per `coalesce_s` per pair.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from edge.connection import DeviceConnection
from edge.protocol.answers import InboxEntry
from edge.protocol.pushes import InboxPush
from edge.view_writes import ViewWrites

log = logging.getLogger("parley.edge")

ReadEntry = Callable[[str, str], Awaitable[InboxEntry | None]]


def shows(entry: InboxEntry | None, seq: int) -> bool:
    """The entry reflects the event at `seq`, or never will (the person has left)."""
    return entry is not None and (entry.last_seq >= seq or not entry.member)


class InboxNotifier:
    def __init__(
        self,
        read_entry: ReadEntry,
        devices_of: Callable[[str], Iterable[DeviceConnection]],
        writes: ViewWrites,
        *,
        coalesce_s: float = 0.1,
        give_up_s: float = 3.0,
    ) -> None:
        self.read_entry = read_entry
        self.devices_of = devices_of
        self.writes = writes
        self.coalesce_s = coalesce_s
        self.give_up_s = give_up_s
        self.pending: dict[tuple[str, str], int] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    def changed(self, user_id: str, cid: str, seq: int) -> None:
        if not any(d.follows_inbox for d in self.devices_of(user_id)):
            return
        key = (user_id, cid)
        if key in self.pending:
            self.pending[key] = max(self.pending[key], seq)
            return
        self.pending[key] = seq
        task = asyncio.get_running_loop().create_task(self._push(key))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _push(self, key: tuple[str, str]) -> None:
        await asyncio.sleep(self.coalesce_s)  # the debounce: later events join this push
        try:
            entry = await self._entry_showing(key)
        except Exception:
            log.exception("inbox entry for %s not read", key)
            entry = None
        finally:
            self.pending.pop(key, None)
        if entry is None:
            return
        frame = InboxPush(entry=entry).model_dump_json()
        for device in self.devices_of(key[0]):
            if device.follows_inbox:
                device.push(frame)

    async def _entry_showing(self, key: tuple[str, str]) -> InboxEntry | None:
        """The entry once it shows the pending seq; as the view has it at the deadline."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.give_up_s
        with self.writes.watching():
            while True:
                seen = self.writes.generation
                entry = await self.read_entry(*key)
                if shows(entry, self.pending[key]):
                    return entry
                if not await self.writes.after(seen, deadline - loop.time()):
                    log.info("inbox view behind for %s; pushing what it has", key)
                    return entry
