"""How long a message sent now may live, as the edge must know before it seals it: the
shortest of its conversation's disappearing setting and retention (the history view holds
both) and the deployment's default (docs/compliance.md, "Retention and disappearing
messages"). The sequencer holds the same settings and refuses a send that would outlive
them, so a view that lags makes a `conflict`, never a message that lives too long.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from edge.errors import NOT_READY, ClientError, ErrorCode
from edge.view_writes import ViewWrites
from projections.history.layout import Lifetime
from sealing.lifetimes import DISAPPEARING_CHOICES_MS, choices_said

LifetimeRead = Callable[..., Awaitable[tuple[Lifetime, int]]]
"""`(cid, fresh=...)`: the conversation's settings and the view's last seq there
(ReadService.lifetime)."""
ExpiryRead = Callable[[str, int], Awaitable[int | None]]
"""`(cid, seq)`: when that message expires, Unix ms (ReadService.expiry_of)."""


class MessageLifetimes:
    def __init__(
        self,
        read: LifetimeRead,
        *,
        choices_ms: tuple[int, ...] = DISAPPEARING_CHOICES_MS,
        default_days: int | None = None,
        writes: ViewWrites | None = None,
        wait_s: float = 2.0,
        expiry_of: ExpiryRead | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        """`writes`: word from the history view that it wrote, so that a setting's answer
        waits until this edge's next send sees it (read your own writes). `expiry_of`: when
        a message expires, so that an edit of it is sealed to die with it."""
        self.read = read
        self.expiry_of = expiry_of
        self.wall = wall
        self.choices_ms = choices_ms
        self.default_days = default_days
        self.writes = writes
        self.wait_s = wait_s

    def check_choice(self, after_ms: int | None) -> None:
        """A clear `invalid` before the sequencer's, which says the same."""
        if after_ms is not None and after_ms not in self.choices_ms:
            raise ClientError(ErrorCode.INVALID, choices_said(self.choices_ms))

    async def for_new_message(self, cid: str) -> int | None:
        """The lifetime to seal a message under, in ms; None: it lives for ever. A view not
        there yet counts as no setting: the sequencer refuses if the conversation has one."""
        try:
            lifetime, _ = await self.read(cid)
        except ClientError as e:
            if e is not NOT_READY:
                raise
            lifetime = Lifetime()
        return lifetime.limit_ms(self.default_days)

    async def for_edit(self, cid: str, seq: int) -> int | None:
        """The lifetime to seal an edit of the message at `seq` under: what is left of the
        message's, so that the new text dies with it (in the same bucket). None: the
        message never expires. A message whose time has come takes no edit."""
        if self.expiry_of is None:
            return None
        due_ms = await self.expiry_of(cid, seq)
        if due_ms is None:
            return None
        left_ms = due_ms - int(self.wall() * 1000)
        if left_ms <= 0:
            raise ClientError(ErrorCode.NO_SUCH_MESSAGE, f"message {seq} has expired")
        return left_ms

    def close(self) -> None:
        if self.writes is not None:
            self.writes.close()

    async def settled(self, cid: str, seq: int) -> bool:
        """True once this edge's history view holds the conversation up to `seq`; False at
        the deadline (the setting is in the log all the same)."""
        if self.writes is None:
            return False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_s
        with self.writes.watching():
            while True:
                noted = self.writes.generation
                try:
                    _, last = await self.read(cid, fresh=True)
                except ClientError:
                    return False
                left = deadline - loop.time()
                if last >= seq:
                    return True
                if left <= 0 or not await self.writes.after(noted, left):
                    return False
