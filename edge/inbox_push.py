"""Live inbox changes: after an event reaches a person's devices on this node, their inbox
entry for that conversation is read from the inbox view and pushed to those of the devices
that follow their inbox (that asked for it once: a list on screen). A device that never
shows an inbox (a bot, the benchmark's loaders) costs no inbox read.

The view may trail the push by a few milliseconds, so the entry is read once the view has
applied the event (`last_seq` reached), retrying briefly. Bursts are coalesced per
(person, conversation): a flood of messages costs one read per `coalesce_s` per pair.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from edge.connection import DeviceConnection

log = logging.getLogger("parley.edge")

Entry = dict[str, Any] | None
ReadEntry = Callable[[str, str], Awaitable[Entry]]


class InboxNotifier:
    def __init__(
        self,
        read_entry: ReadEntry,
        devices_of: Callable[[str], Iterable[DeviceConnection]],
        *,
        coalesce_s: float = 0.1,
        give_up_s: float = 3.0,
    ) -> None:
        self.read_entry = read_entry
        self.devices_of = devices_of
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
        await asyncio.sleep(self.coalesce_s)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.give_up_s
        entry: Entry = None
        try:
            while True:
                entry = await self.read_entry(*key)
                if entry is not None and entry["last_seq"] >= self.pending[key]:
                    break
                if entry is not None and not entry["member"]:
                    break
                if loop.time() > deadline:
                    log.info("inbox view behind for %s; pushing what it has", key)
                    break
                await asyncio.sleep(0.01)
        except Exception:
            log.exception("inbox entry for %s not read", key)
            entry = None
        finally:
            self.pending.pop(key, None)
        if entry is None:
            return
        frame = json.dumps({"type": "inbox", "entry": entry}, separators=(",", ":"))
        for device in self.devices_of(key[0]):
            if device.follows_inbox:
                device.push(frame)
