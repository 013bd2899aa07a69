"""What an edge node does with retries and with removals, without Kafka: a retried send
joins the attempt in flight (edge/send_attempts.py), and presence subscriptions end with the
last conversation two people shared (edge/presence_scope.py)."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest
from aiohttp import web

from edge.connection import ConnectionState, DeviceConnection
from edge.errors import ClientError, ErrorCode
from edge.presence import PresenceBoard
from edge.presence_scope import PresenceScope
from edge.protocol.answers import SendResult
from edge.send_attempts import SendAttempts

KEY = ("d-1", "c1", "m1")


async def settled() -> None:
    """Until every task started so far has run to its first real wait (no time passes)."""
    for _ in range(20):
        await asyncio.sleep(0)


class Log:
    """Stands for the command gateway: counts commands produced, answers when told."""

    def __init__(self) -> None:
        self.produced = 0
        self.answer: asyncio.Future[SendResult] = asyncio.get_running_loop().create_future()

    async def attempt(self, horizon_s: float) -> SendResult:
        self.produced += 1
        return await asyncio.wait_for(asyncio.shield(self.answer), horizon_s)


async def test_a_retry_while_the_first_attempt_is_in_flight_produces_nothing() -> None:
    """Regression (issue 15, the three-broker run): every timed-out attempt was produced
    again, and the sequencer, already behind, had every copy to answer before anything
    new; no send begun while a broker was down was ever acknowledged."""
    attempts = SendAttempts(horizon_s=60)
    log = Log()
    with pytest.raises(ClientError) as first:
        await attempts.send(KEY, log.attempt, timeout_s=0.01)
    assert first.value.code is ErrorCode.TIMEOUT
    retry = asyncio.create_task(attempts.send(KEY, log.attempt, timeout_s=60))
    other = asyncio.create_task(attempts.send(("d-2", "c1", "m1"), log.attempt, timeout_s=60))
    await settled()
    assert (log.produced, len(attempts)) == (2, 2)  # the retry joined; another device did not
    log.answer.set_result(SendResult(seq=7, duplicate=False))
    assert await retry == SendResult(seq=7, duplicate=True)
    assert await other == SendResult(seq=7, duplicate=False)
    assert len(attempts) == 0


async def test_once_answered_a_retry_goes_to_the_log_again() -> None:
    attempts = SendAttempts(horizon_s=60)
    log = Log()
    log.answer.set_result(SendResult(seq=3, duplicate=False))
    assert await attempts.send(KEY, log.attempt, timeout_s=1) == SendResult(seq=3, duplicate=False)
    await attempts.send(KEY, log.attempt, timeout_s=1)
    assert log.produced == 2


async def test_an_attempt_that_fails_tells_every_waiter_and_ends() -> None:
    attempts = SendAttempts(horizon_s=60)
    log = Log()
    waiting = [asyncio.create_task(attempts.send(KEY, log.attempt, timeout_s=5)) for _ in "ab"]
    await settled()
    log.answer.set_exception(ClientError(ErrorCode.NOT_FOUND, "no such conversation"))
    for task in waiting:
        with pytest.raises(ClientError):
            await task
    assert (log.produced, len(attempts)) == (1, 0)


class Socket:
    async def send_str(self, text: str) -> None:
        return None


def device(user: str) -> DeviceConnection:
    connection = DeviceConnection(cast(web.WebSocketResponse, Socket()), queue_size=10)
    connection.user_id, connection.state = user, ConnectionState.OPEN
    return connection


async def test_presence_subscriptions_end_with_the_last_shared_conversation() -> None:
    """Regression (issue 15): after removal the removed member still got the owner's
    presence pushes."""
    board = PresenceBoard()
    shared = {("ann", "bob"): {"c1"}, ("ann", "cy"): {"c1", "c2"}}
    asked: list[str] = []

    async def sharing(user: str, others: list[str], excluding: str) -> list[str]:
        asked.append(excluding)
        pairs = (shared.get((user, o), set()) | shared.get((o, user), set()) for o in others)
        return [o for o, found in zip(others, pairs, strict=True) if found - {excluding}]

    ann, bob, cy = device("ann"), device("bob"), device("cy")
    devices = {"ann": [ann], "bob": [bob], "cy": [cy]}
    board.watch(bob, ["ann"])
    board.watch(ann, ["bob", "cy"])
    board.watch(cy, ["ann"])
    scope = PresenceScope(board, sharing, lambda user: devices.get(user, []))
    scope.removed("c1", "bob")
    await asyncio.gather(*scope.tasks)
    assert board.watched_by(bob) == []
    assert board.watched_by(ann) == ["cy"]
    assert board.watched_by(cy) == ["ann"]
    scope.removed("c1", "cy")  # ann and cy still share c2
    await asyncio.gather(*scope.tasks)
    assert (board.watched_by(ann), board.watched_by(cy)) == (["cy"], ["ann"])
    assert set(asked) == {"c1"}
