"""Presence subscriptions end with the membership that allowed them.

A device may follow the presence of people who share a conversation with its person
(`subscribe_presence`). When someone is removed from (or leaves) a conversation, every
subscription on this node between them and the conversation's members is checked again,
leaving that conversation out: a pair that shares no other conversation stops at once, in
both directions (issue 15 found a removed member still told when the owner came online).

The node learns of the removal from its own deliveries: the `MemberRemoved` event reaches
the removed person and the remaining members, so it reaches every node where either side
of such a subscription is connected. The check leaves the conversation out explicitly
rather than waiting for the history view to apply the removal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection

from edge.connection import DeviceConnection
from edge.presence import PresenceBoard

log = logging.getLogger("parley.edge")

Sharing = Callable[[str, list[str], str], Awaitable[list[str]]]
"""(user, others, a conversation to leave out) -> those of `others` who still share one."""


class PresenceScope:
    def __init__(
        self,
        board: PresenceBoard,
        sharing: Sharing,
        devices_of: Callable[[str], Collection[DeviceConnection]],
    ) -> None:
        self.board = board
        self.sharing = sharing
        self.devices_of = devices_of
        self.tasks: set[asyncio.Task[None]] = set()

    def removed(self, cid: str, user_id: str) -> None:
        """`user_id` is no longer a member of `cid`: end what that membership allowed."""
        task = asyncio.get_running_loop().create_task(self._recheck(cid, user_id))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _recheck(self, cid: str, removed: str) -> None:
        try:
            for connection in list(self.devices_of(removed)):
                await self._keep_shared(connection, self.board.watched_by(connection), cid)
            for connection in list(self.board.watchers.get(removed, ())):
                await self._keep_shared(connection, [removed], cid)
        except Exception:
            # A subscription that outlives its membership is a leak of presence, not of
            # messages: logged, and the device's next subscribe_presence is checked afresh.
            log.exception("presence subscriptions after %s left %s not checked", removed, cid)

    async def _keep_shared(
        self, connection: DeviceConnection, watched: list[str], cid: str
    ) -> None:
        if not watched:
            return
        still = set(await self.sharing(connection.user_id, watched, cid))
        self.board.unwatch(connection, [u for u in watched if u not in still])
