"""The edge waits for its own writes on notifications, never by looking again on a timer:
the account directory wakes a waiter when it applies the account's seq, and an inbox push
waits for the inbox view's next write (a real RocksDB written by this test), not a poll."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pytest
from aiohttp import web

from edge.account_service import AccountService
from edge.accounts import AccountDirectory, hash_password
from edge.connection import ConnectionState, DeviceConnection
from edge.inbox_entries import inbox_entry
from edge.inbox_push import InboxNotifier, ReadEntry
from edge.progress import Progress
from edge.protocol.answers import InboxEntry
from edge.protocol.pushes import InboxPush
from edge.submission import Submitter
from edge.view_writes import ViewWrites
from projections.inbox.query import InboxReader
from projections.inbox.store import InboxStore
from schemas import models as m
from tests.unit.test_inbox_projection import created, sent, write

DEADLINE_S = 10.0


async def test_a_waiter_wakes_when_its_version_is_applied_and_not_before() -> None:
    progress: Progress[str] = Progress()
    waiter = asyncio.create_task(progress.reach("alice", 2, DEADLINE_S))
    await asyncio.sleep(0)
    progress.advance("alice", 1)
    progress.advance("bob", 5)
    await asyncio.sleep(0)
    assert not waiter.done()
    progress.advance("alice", 2)
    assert await waiter is True
    assert progress.waiting() == 0


async def test_a_waiter_gives_up_at_its_deadline_and_leaves_nothing_behind() -> None:
    progress: Progress[str] = Progress()
    assert await progress.reach("alice", 1, 0.01) is False
    assert progress.waiting() == 0
    progress.advance("alice", 3)
    assert await progress.reach("alice", 2, 0.0) is True  # already there: no wait at all


def account_event(
    event: type[m.AccountRegistered] | type[m.DeviceAdded], seq: int
) -> m.AccountEvent:
    meta = m.AccountEventMeta(
        event_id=f"e{seq}",
        user_id="alice",
        seq=seq,
        device_id="d1",
        command_id=f"c{seq}",
        client_msg_id=f"k{seq}",
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    if event is m.AccountRegistered:
        return m.AccountRegistered(meta=meta, display_name="Alice", password_hash="$argon2x")
    return m.DeviceAdded(meta=meta, device_name="phone", token_hash="0" * 64)


async def test_the_directory_wakes_whoever_waits_for_the_account_or_the_device() -> None:
    directory = AccountDirectory()
    by_seq = asyncio.create_task(directory.versions.reach("alice", 2, DEADLINE_S))
    by_device = asyncio.create_task(directory.arrivals.reach("d1", 1, DEADLINE_S))
    directory.apply(account_event(m.AccountRegistered, 1))
    await asyncio.sleep(0)
    assert not by_seq.done() and not by_device.done()
    directory.apply(account_event(m.DeviceAdded, 2))
    assert await by_seq is True
    assert await by_device is True
    assert directory.knows_device("d1.secret")


class Screen:
    """A device's socket that keeps what it is sent."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.arrived = asyncio.Event()

    async def send_str(self, text: str) -> None:
        self.sent.append(text)
        self.arrived.set()


@pytest.fixture
def view(tmp_path: Path) -> Iterator[tuple[InboxStore, InboxReader]]:
    """The inbox view's store, and a reader as the edge opens it (at its usual staleness)."""
    store = InboxStore(tmp_path / "inbox")
    reader = InboxReader(store.path, secondary_path=tmp_path / "secondary")
    yield store, reader
    reader.close()
    store.close()


def fresh_entries(reader: InboxReader) -> ReadEntry:
    """As the edge's read service reads an entry for a push: caught up first."""

    async def read_entry(user_id: str, cid: str) -> InboxEntry | None:
        reader.refresh()
        found = reader.entry(user_id, cid)
        return None if found is None else inbox_entry(found)

    return read_entry


def following_device(screen: Screen) -> DeviceConnection:
    device = DeviceConnection(cast(web.WebSocketResponse, screen), queue_size=10)
    device.state = ConnectionState.OPEN
    device.follows_inbox = True
    return device


async def pushed_entry(screen: Screen) -> InboxEntry:
    await asyncio.wait_for(screen.arrived.wait(), DEADLINE_S)
    return InboxPush.model_validate_json(screen.sent[-1]).entry


async def test_an_entry_behind_the_event_goes_out_when_the_view_writes_it(
    view: tuple[InboxStore, InboxReader],
) -> None:
    store, reader = view
    write(store, created("a", "bob"))
    first_read = asyncio.Event()
    read_fresh = fresh_entries(reader)

    async def read_entry(user_id: str, cid: str) -> InboxEntry | None:
        entry = await read_fresh(user_id, cid)
        first_read.set()
        return entry

    screen = Screen()
    device = following_device(screen)
    writes = ViewWrites(store.path)
    notifier = InboxNotifier(
        read_entry, lambda _: [device], writes, coalesce_s=0, give_up_s=10 * DEADLINE_S
    )
    try:
        notifier.changed("bob", "a", 2)
        await asyncio.wait_for(first_read.wait(), DEADLINE_S)
        assert not screen.sent  # the view holds seq 1 only: nothing goes out yet
        write(store, sent("a", 2))
        entry = await pushed_entry(screen)
        assert (entry.last_seq, entry.unread) == (2, 1)
    finally:
        writes.close()
        await device.close()


async def test_a_view_that_stays_behind_is_pushed_as_it_is_at_the_deadline(
    view: tuple[InboxStore, InboxReader],
) -> None:
    store, reader = view
    write(store, created("a", "bob"))
    screen = Screen()
    device = following_device(screen)
    writes = ViewWrites(store.path)
    notifier = InboxNotifier(
        fresh_entries(reader), lambda _: [device], writes, coalesce_s=0, give_up_s=0.05
    )
    try:
        notifier.changed("bob", "a", 2)
        entry = await pushed_entry(screen)
        assert entry.last_seq == 1
    finally:
        writes.close()
        await device.close()


async def test_a_view_not_created_yet_cannot_be_watched_and_is_not_waited_for(
    tmp_path: Path,
) -> None:
    writes = ViewWrites(tmp_path / "not-yet")
    with writes.watching():
        assert await writes.after(writes.generation, DEADLINE_S) is False
    writes.close()


async def test_a_token_naming_no_possible_device_is_refused_without_waiting() -> None:
    """A garbage token used to cost the full grace for devices still on their way."""
    service = AccountService(
        submitter=cast(Submitter, None), directory=AccountDirectory(), timeout_s=DEADLINE_S
    )
    for token in ("forged", "d-0000.bad-secret", ""):
        refused = service.authenticate(token)
        with pytest.raises(StopIteration) as answered:
            refused.send(None)  # it never suspends: no wait for the accounts log
        assert answered.value.value is None
    unknown = service.authenticate(f"d-{'0' * 32}.secret")
    unknown.send(None)  # a well-formed device may still be on its way: this one waits
    assert service.directory.arrivals.waiting() == 1
    unknown.close()


class SubmittedError(Exception):
    """The fake submitter's answer: the login got past the password check."""


class RecordingSubmitter:
    def account_meta(self, user_id: str, device_id: str, key: str | None) -> m.AccountCommandMeta:
        return m.AccountCommandMeta(
            command_id="c",
            user_id=user_id,
            device_id=device_id,
            client_msg_id="k",
            issued_at=datetime(2026, 1, 1, tzinfo=UTC),
        )

    async def account_command(self, command: m.AddDevice) -> int:
        raise SubmittedError(command.meta.user_id)


async def test_a_login_waits_for_an_account_registered_on_another_edge_a_moment_ago() -> None:
    """Registering on one edge and logging in on another at once answered 'wrong user name
    or password' when the second edge's accounts follower had not applied the account yet
    (seen under load in the chaos test's population)."""
    directory = AccountDirectory()
    service = AccountService(
        submitter=cast(Submitter, RecordingSubmitter()), directory=directory, timeout_s=DEADLINE_S
    )
    login = asyncio.create_task(service.login("alice", "a good password", "phone"))
    for _ in range(1000):  # the password hash runs in a thread: let the login reach its wait
        if directory.versions.waiting():
            break
        await asyncio.sleep(0.001)
    assert directory.versions.waiting() == 1
    meta = account_event(m.AccountRegistered, 1).meta
    directory.apply(
        m.AccountRegistered(
            meta=meta, display_name="Alice", password_hash=hash_password("a good password")
        )
    )
    with pytest.raises(SubmittedError, match="alice"):
        await login
