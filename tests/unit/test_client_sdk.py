"""The SDK and CLI against a fake edge served in-process on 127.0.0.1 (tests/fake_edge.py:
the contract suite holds it to the real edge's answers)."""

from __future__ import annotations

import asyncio
import io
import json
import random
import socket
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import TypeVar

import pytest

from client import Backoff, ParleyClient, SendFailedError, UnauthorizedError
from client.cli import main
from client.connection import ConnectionState
from client.display import highlighted
from client.errors import ApiError
from client.models import ConversationEvent, Highlight, SearchHit
from edge.protocol.pushes import Goodbye, Resync
from tests.fake_edge import DEADLINE, TOKEN, FakeEdge, served

T = TypeVar("T")


async def within(awaitable: Awaitable[T]) -> T:
    return await asyncio.wait_for(awaitable, DEADLINE)


def seqs(events: list[ConversationEvent]) -> list[tuple[str, int]]:
    return [(e.conversation_id, e.seq) for e in events]


async def take(stream: AsyncIterator[ConversationEvent], n: int) -> list[ConversationEvent]:
    return [await within(anext(stream)) for _ in range(n)]


@pytest.fixture
async def edge() -> AsyncIterator[FakeEdge]:
    async with served() as fake:
        yield fake


def make_client(
    edge: FakeEdge,
    *,
    cursors: dict[str, int] | None = None,
    backfill_new: bool = True,
    request_timeout: float = 1.0,
    connect_timeout: float | None = None,
    send_attempts: int = 5,
    sync_limit: int = 500,
    fill_snapshots: bool = True,
) -> ParleyClient:
    """A client with delays cut to milliseconds so each test stays far below a second."""
    return ParleyClient(
        edge.url,
        TOKEN,
        cursors=cursors,
        backfill_new=backfill_new,
        request_timeout=request_timeout,
        connect_timeout=connect_timeout,
        send_attempts=send_attempts,
        sync_limit=sync_limit,
        fill_snapshots=fill_snapshots,
        backoff=Backoff(initial=0.005, maximum=0.02, rng=random.Random(7)),
        send_backoff=Backoff(initial=0.005, maximum=0.02, rng=random.Random(8)),
        heartbeat=None,
        gap_retry_delays=(),
    )


@pytest.fixture
async def client(edge: FakeEdge) -> AsyncIterator[ParleyClient]:
    parley = make_client(edge)
    yield parley
    await parley.close()


async def test_send_retried_across_a_forced_disconnect_yields_one_seq(
    edge: FakeEdge, client: ParleyClient
) -> None:
    edge.lose_next_send_answer = True
    assert await within(client.send("c1", "hello")) == 1
    assert edge.texts("c1") == ["hello"]
    sends = [f for f in edge.frames if f["type"] == "send"]
    assert len(sends) == 2
    assert sends[0]["client_msg_id"] == sends[1]["client_msg_id"]
    assert client.connects == 2


async def test_send_gives_up_after_its_attempts_with_the_message_id(edge: FakeEdge) -> None:
    """Regression: connecting shared the sends' 50 ms budget and, on a loaded machine, ran
    out of it first (`ServerUnavailableError` instead of the attempts under test)."""
    edge.ignore_sends = True
    parley = make_client(edge, request_timeout=0.05, connect_timeout=DEADLINE, send_attempts=2)
    try:
        with pytest.raises(SendFailedError) as failure:
            await within(parley.send("c1", "hello", client_msg_id="m-fixed"))
    finally:
        await parley.close()
    assert failure.value.client_msg_id == "m-fixed"
    assert [f["client_msg_id"] for f in edge.frames if f["type"] == "send"] == ["m-fixed"] * 2


async def test_events_come_in_order_without_duplicates(
    edge: FakeEdge, client: ParleyClient
) -> None:
    stream = client.events()
    await within(client.connect())
    await edge.say("c1", "one")
    assert seqs(await take(stream, 1)) == [("c1", 1)]
    await edge.push_event("c1", 1)
    await edge.say("c1", "two")
    assert [e.text for e in await take(stream, 1)] == ["two"]
    assert client.cursors == {"c1": 2}
    await stream.aclose()


async def test_a_gap_in_pushes_is_fetched_before_later_events(
    edge: FakeEdge, client: ParleyClient
) -> None:
    stream = client.events()
    await within(client.connect())
    await edge.say("c1", "one")
    await take(stream, 1)
    edge.mute = True
    await edge.say("c1", "two")
    edge.mute = False
    await edge.say("c1", "three")
    assert [e.text for e in await take(stream, 2)] == ["two", "three"]
    assert edge.fetches()[-1]["after"] == 1
    await stream.aclose()


async def test_a_gap_history_will_not_fill_is_skipped(edge: FakeEdge, client: ParleyClient) -> None:
    """Seqs this user may not see must not stall the conversation forever."""
    stream = client.events()
    await within(client.connect())
    await edge.say("c1", "one")
    await take(stream, 1)
    edge.hidden.add(2)
    edge.mute = True
    await edge.say("c1", "not for alice")
    edge.mute = False
    await edge.say("c1", "three")
    assert [e.text for e in await take(stream, 1)] == ["three"]
    await stream.aclose()


async def test_resume_after_reconnect_fetches_what_was_missed(
    edge: FakeEdge, client: ParleyClient
) -> None:
    stream = client.events()
    await within(client.connect())
    await edge.say("c1", "one")
    await take(stream, 1)
    edge.mute = True
    await edge.drop_all()
    await edge.say("c1", "two")
    await edge.say("c1", "three")
    assert seqs(await take(stream, 2)) == [("c1", 2), ("c1", 3)]
    assert client.connects == 2
    assert any(f["type"] == "sync" and f["cursors"] == {"c1": 1} for f in edge.frames)
    await stream.aclose()


async def test_against_an_edge_without_sync_resume_pages_history(
    edge: FakeEdge, client: ParleyClient
) -> None:
    edge.without_sync = True
    stream = client.events()
    await within(client.connect())
    await edge.say("c1", "one")
    await take(stream, 1)
    edge.mute = True
    await edge.drop_all()
    await edge.say("c1", "two")
    assert seqs(await take(stream, 1)) == [("c1", 2)]
    assert any(f.get("after") == 1 for f in edge.fetches())
    await stream.aclose()


async def test_a_conversation_far_behind_is_filled_in_before_its_snapshot(
    edge: FakeEdge, client: ParleyClient
) -> None:
    """Regression (issue 15): the SDK stepped over what a sync snapshot leaves out, so a
    device offline for long never yielded those messages, though history held them."""
    edge.snapshot_after, edge.snapshot_page = 5, 3
    for i in range(12):
        edge.append("c1", f"m{i}")
    stream = client.events()
    assert seqs(await take(stream, 12)) == [("c1", s) for s in range(1, 13)]
    assert client.cursors == {"c1": 12}
    assert [f.get("after") for f in edge.fetches()][:1] == [0]
    await stream.aclose()


async def test_without_filling_a_snapshot_resumes_from_its_latest_page(edge: FakeEdge) -> None:
    edge.snapshot_after, edge.snapshot_page = 5, 3
    for i in range(12):
        edge.append("c1", f"m{i}")
    parley = make_client(edge, fill_snapshots=False)
    try:
        stream = parley.events()
        assert seqs(await take(stream, 3)) == [("c1", 10), ("c1", 11), ("c1", 12)]
        assert parley.cursors == {"c1": 12}
        assert not edge.fetches()  # older history is paged on demand, not replayed
        await stream.aclose()
    finally:
        await parley.close()


async def test_sync_pages_until_nothing_more_is_owed(edge: FakeEdge) -> None:
    for i in range(7):
        edge.append("c1", f"m{i}")
    parley = make_client(edge, sync_limit=3)
    try:
        answer = await within(parley.sync(limit=3))
        assert [e.seq for e in answer.conversations[0].events] == [1, 2, 3] and answer.more
        stream = parley.events()
        assert seqs(await take(stream, 7)) == [("c1", s) for s in range(1, 8)]
        rounds = [f["cursors"] for f in edge.frames if f["type"] == "sync"][1:]
        assert rounds[:3] == [{}, {"c1": 3}, {"c1": 6}]
        await stream.aclose()
    finally:
        await parley.close()


async def test_resync_fetches_from_the_cursors(edge: FakeEdge, client: ParleyClient) -> None:
    stream = client.events()
    await within(client.connect())
    await edge.say("c1", "one")
    await take(stream, 1)
    edge.mute = True
    await edge.say("c1", "two")
    await edge.push(Resync(reason="slow reader"))
    assert seqs(await take(stream, 1)) == [("c1", 2)]
    await stream.aclose()


async def test_goodbye_reconnects_and_resumes(edge: FakeEdge, client: ParleyClient) -> None:
    stream = client.events()
    await within(client.connect())
    await edge.say("c1", "one")
    await take(stream, 1)
    edge.mute = True
    await edge.push(Goodbye(reason="draining", reconnect_after_ms=0))
    await edge.say("c1", "two")
    assert seqs(await take(stream, 1)) == [("c1", 2)]
    assert client.connects == 2
    await stream.aclose()


async def test_cursors_given_at_construction_resume_there(edge: FakeEdge) -> None:
    for text in ("one", "two", "three"):
        edge.append("c1", text)
    edge.append("c2", "elsewhere")
    parley = make_client(edge, cursors={"c1": 2}, backfill_new=False)
    try:
        stream = parley.events()
        assert seqs(await take(stream, 1)) == [("c1", 3)]
        assert parley.cursors == {"c1": 3, "c2": 1}  # c2 followed live from its end
        await stream.aclose()
    finally:
        await parley.close()


async def test_new_conversations_are_backfilled_from_seq_1(
    edge: FakeEdge, client: ParleyClient
) -> None:
    edge.append("c1", "one")
    edge.append("c1", "two")
    stream = client.events()
    assert seqs(await take(stream, 2)) == [("c1", 1), ("c1", 2)]
    await stream.aclose()


async def test_a_refused_token_is_reported_not_retried(edge: FakeEdge) -> None:
    parley = ParleyClient(edge.url, "wrong-token")
    try:
        with pytest.raises(UnauthorizedError):
            await within(parley.connect())
        assert parley.state is ConnectionState.IDLE
    finally:
        await parley.close()
    assert edge.connections == 0


async def test_connect_learns_who_the_token_belongs_to(client: ParleyClient) -> None:
    await within(client.connect())
    assert (client.user_id, client.device_id) == ("alice", "d1")


def test_backoff_grows_to_its_ceiling_with_jitter_below_the_base() -> None:
    backoff = Backoff(initial=1.0, maximum=8.0, jitter=0.5, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(6)]
    for delay, base in zip(delays, [1, 2, 4, 8, 8, 8], strict=True):
        assert base / 2 <= delay <= base
    backoff.reset()
    assert backoff.next_delay() <= 1.0


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PARLEY_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("PARLEY_PASSWORD", "secret")
    monkeypatch.delenv("PARLEY_SERVER", raising=False)
    return tmp_path


async def parley(*argv: str) -> int:
    """Run the CLI in a thread: it has its own event loop, and the fake needs this one."""
    return await within(asyncio.to_thread(main, list(argv)))


async def test_cli_login_send_and_history(
    edge: FakeEdge, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await parley("--server", edge.url, "login", "alice") == 0
    assert json.loads((cli_env / "token.json").read_text())["token"] == TOKEN
    assert (cli_env / "token.json").stat().st_mode & 0o077 == 0
    edge.append("c1", "hi alice")
    assert await parley("send", "c1", "hello", "bob") == 0
    assert "sent #2" in capsys.readouterr().out
    assert await parley("history", "c1") == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" ", 2)[0] for line in lines] == ["#1", "#2"]
    assert lines[0].endswith("bob: hi alice")
    assert lines[1].endswith(": hello bob")


async def test_search_pages_with_its_cursor_and_a_refusal_is_an_api_error(
    edge: FakeEdge,
) -> None:
    for i in range(5):
        edge.append("c1", f"budget draft {i}")
    edge.append("c1", "nothing to see")
    async with make_client(edge) as client:
        first = await within(client.search("budget", limit=3))
        assert first.estimated_total == 5 and first.next_cursor is not None
        rest = await within(client.search("budget", limit=3, cursor=first.next_cursor))
        assert rest.next_cursor is None
        found = [h.seq for h in (*first.hits, *rest.hits)]
        assert sorted(found) == [1, 2, 3, 4, 5]
        with pytest.raises(ApiError) as refused:
            await within(client.search("x" * 10_240))
        assert refused.value.code == "invalid"
    frames = [f for f in edge.frames if f["type"] == "search"]
    assert frames[0] == {
        "type": "search",
        "id": frames[0]["id"],
        "query": "budget",
        "limit": 3,
        "order": "relevance",
        "has_link": False,
        "has_file": False,
    }


def test_highlights_count_utf16_units_as_javascript_does() -> None:
    """🎉 is two UTF-16 units: an offset after it is one more than Python's index."""
    hit = SearchHit(
        conversation_id="c",
        seq=1,
        sender="bob",
        sent_at_ms=0,
        edited=False,
        snippet="🎉 party at Café Noir",
        snippet_offset=0,
        highlights=[Highlight(start=3, end=8), Highlight(start=12, end=16)],
    )
    assert highlighted(hit) == "🎉 [party] at [Café] Noir"


async def test_cli_search_prints_hits_with_matches_marked(
    edge: FakeEdge, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await parley("--server", edge.url, "login", "alice") == 0
    edge.append("c1", "the Budget is due")
    edge.append("c1", "lunch?")
    capsys.readouterr()
    assert await parley("search", "budget", "--in", "c1", "--newest") == 0
    out, err = capsys.readouterr()
    [line] = out.splitlines()
    assert line.startswith("c1\t#1 ") and line.endswith("bob: the [Budget] is due")
    assert "about 1 matches" in err
    with pytest.raises(SystemExit) as refused:  # argparse's own exit, before any request
        main(["search", "budget", "--before", "not-a-day"])
    assert refused.value.code == 2
    assert "not a date" in capsys.readouterr().err


async def test_cli_chat_shows_history_and_sends_stdin_lines(
    edge: FakeEdge,
    cli_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert await parley("--server", edge.url, "login", "alice") == 0
    edge.append("c1", "are you there?")
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n\nbye\n"))
    assert await parley("chat", "c1") == 0
    assert "are you there?" in capsys.readouterr().out
    assert edge.texts("c1") == ["are you there?", "yes", "bye"]


async def test_cli_reports_bad_credentials_without_a_traceback(
    edge: FakeEdge,
    cli_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PARLEY_PASSWORD", "wrong")
    assert await parley("--server", edge.url, "login", "alice") == 1
    err = capsys.readouterr().err
    assert "wrong username or password" in err
    assert "Traceback" not in err
    assert not (cli_env / "token.json").exists()


async def test_cli_reports_a_server_that_is_down(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert await parley("--server", f"http://127.0.0.1:{port}", "login", "alice") == 1
    err = capsys.readouterr().err
    assert "cannot reach the server" in err
    assert "Traceback" not in err


async def test_cli_needs_a_login_first(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await parley("send", "c1", "hello") == 1
    assert "not logged in" in capsys.readouterr().err
