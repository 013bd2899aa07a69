"""Sends on their way through the log, per device and client_msg_id: a retry joins the
attempt already in flight instead of producing a second command.

Without this, a slow log turns every retry into more work: a client whose attempt timed
out sends again, the edge produced a new command each time, and the sequencer, already
behind, had to answer every copy (as a duplicate) before it reached anything new. In
issue 15's three-broker run no send begun while a broker was down was ever acknowledged.
So an attempt outlives the request that started it: it waits for its outcome for up to
`horizon_s`, and every request for the same (device, conversation, client_msg_id) on this
node within that time waits on it (each for its own timeout), then gets its answer, as a
duplicate. Once the attempt has its outcome, or fails, or the horizon passes, the next
retry produces a command again (which the sequencer answers as a duplicate, if the first
one got through after all). Retries on another node are not joined: they are rare (the
client reconnected elsewhere), and the sequencer de-duplicates them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from edge.errors import TIMEOUT
from edge.protocol.answers import SendResult

Key = tuple[str, str, str]
"""(device id, conversation id, client_msg_id): the sequencer de-duplicates by the same."""


class SendAttempts:
    def __init__(self, horizon_s: float) -> None:
        self.horizon_s = horizon_s
        self._attempts: dict[Key, asyncio.Task[SendResult]] = {}

    def __len__(self) -> int:
        return len(self._attempts)

    async def send(
        self,
        key: Key,
        attempt: Callable[[float], Coroutine[Any, Any, SendResult]],
        timeout_s: float,
    ) -> SendResult:
        """The answer to this send: from a new `attempt(horizon_s)`, or from the one already
        in flight for `key` (then marked a duplicate). Raises `timeout` after `timeout_s`;
        the attempt goes on waiting for its outcome."""
        task = self._attempts.get(key)
        joined = task is not None
        if task is None:
            task = asyncio.get_running_loop().create_task(attempt(self.horizon_s))
            self._attempts[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        try:
            result = await asyncio.wait_for(asyncio.shield(task), timeout_s)
        except TimeoutError as e:
            raise TIMEOUT from e
        return result.model_copy(update={"duplicate": True}) if joined else result

    def _finished(self, key: Key, task: asyncio.Task[SendResult]) -> None:
        if self._attempts.get(key) is task:
            del self._attempts[key]
        if not task.cancelled():
            task.exception()  # retrieved: every waiter that still waits has been told
