"""The page against a scripted edge that has protocol v1's `sync`, `inbox`, `edit` and
`search`: the page uses them (the other browser tests show it against the real edge, and
doing without them against an older one). No server runs: Playwright answers the page's
requests, with the protocol's own models (edge/protocol/), so the script says only what an
edge may."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest_asyncio
from playwright.async_api import Page, Route, WebSocketRoute, async_playwright, expect
from pydantic import BaseModel, TypeAdapter

from edge.protocol import events as v
from edge.protocol.answers import (
    ConversationEvent,
    ConversationList,
    ConversationSummary,
    Empty,
    Highlight,
    HistoryPage,
    Identity,
    Inbox,
    InboxEntry,
    PresenceList,
    PresenceStatus,
    Preview,
    Profile,
    SearchHit,
    SearchPage,
    Sequenced,
    SyncAnswer,
    SyncedConversation,
)
from edge.protocol.events import ServerModel
from edge.protocol.pushes import EventPush, InboxPush, Response
from tests.e2e.browser import ORIGIN, conversation_button, launch, message, serve_files, shot

ME, TAB, BOB, CID = "ann", "ann-tab", "bob", "g-book"
NOW = 1_764_300_000_000
EVENT: TypeAdapter[v.EventView] = TypeAdapter(v.EventView)


def event(seq: int, type_: str, user: str, **fields: Any) -> v.EventView:
    device = TAB if user == ME else f"{user}-phone"
    return EVENT.validate_python(
        {
            "type": type_,
            "seq": seq,
            "conversation_id": CID,
            "actor": {"user_id": user, "device_id": device},
            "client_msg_id": f"c{seq}",
            "occurred_at_ms": NOW + seq,
            **fields,
        }
    )


def text(seq: int, user: str, words: str) -> v.EventView:
    return event(seq, "MessageSent", user, body={"kind": "plain", "text": words})


def item(e: v.EventView) -> ConversationEvent:
    return ConversationEvent(conversation_id=CID, seq=e.seq, event=e)


class ScriptedEdge:
    """Answers every frame of the page, records them, and can push or drop the socket."""

    def __init__(self) -> None:
        self.events = [
            event(
                1,
                "ConversationCreated",
                BOB,
                kind="GROUP",
                name=None,
                members=[{"user_id": ME, "role": "MEMBER"}],
            ),
            text(2, ME, "I am halfway"),
            text(3, BOB, "chapter 3?"),
        ]
        self.frames: list[dict[str, Any]] = []
        self.sockets: list[WebSocketRoute] = []
        self.unread = 7
        self.found = SearchPage(hits=[], estimated_total=0)

    def entry(self) -> InboxEntry:
        last = self.events[-1]
        assert isinstance(last, v.Event)
        return InboxEntry(
            conversation_id=CID,
            kind="GROUP",
            name="Book club",
            role="MEMBER",
            last_seq=last.seq,
            last_activity_ms=last.occurred_at_ms,
            preview=Preview(seq=3, sender_id=BOB, kind="plain", text="chapter 3?"),
            unread=self.unread,
            read_up_to=1,
            member_count=2,
        )

    def route(self, ws: WebSocketRoute) -> None:
        self.sockets.append(ws)
        ws.on_message(lambda data: self.answer(ws, json.loads(data)))

    def push(self, frame: BaseModel) -> None:
        self.sockets[-1].send(frame.model_dump_json())

    def answer(self, ws: WebSocketRoute, frame: dict[str, Any]) -> None:
        self.frames.append(frame)
        kind = frame["type"]
        result: ServerModel = Empty()
        if kind == "authenticate":
            result = Identity(user_id=ME, device_id=TAB)
        elif kind == "inbox":
            result = Inbox(entries=[self.entry()])
        elif kind == "fetch_history":
            # As the edge pages: the first `limit` after `after`, else the last before `before`.
            after, before = frame.get("after"), frame.get("before") or 10**9
            between = [e for e in self.events if (after or 0) < e.seq < before]
            limit = frame["limit"]
            page = between[:limit] if after is not None else between[-limit:]
            result = HistoryPage(events=[item(e) for e in page], last_seq=self.events[-1].seq)
        elif kind == "sync":
            cursor = frame["cursors"].get(CID, 0)
            newer = [item(e) for e in self.events if e.seq > cursor]
            last = self.events[-1].seq
            synced = SyncedConversation(conversation_id=CID, events=newer, last_seq=last)
            result = SyncAnswer(conversations=[synced])
        elif kind == "edit":
            seq = len(self.events) + 1
            self.events.append(
                event(seq, "MessageEdited", ME, target_seq=frame["seq"], body=frame["body"])
            )
            result = Sequenced(seq=seq)
        elif kind == "search":
            result = self.found
        elif kind == "subscribe_presence":
            result = PresenceList(presence=[PresenceStatus(user_id=BOB, status="online")])
        elif kind == "ack" and frame["kind"] == "read":
            seq = len(self.events) + 1
            self.events.append(event(seq, "ReadWatermarkAdvanced", ME, up_to_seq=frame["up_to"]))
            self.unread = 0
            result = Sequenced(seq=seq)
        elif kind == "ack":
            result = Sequenced(seq=None)
        ws.send(Response[ServerModel](id=frame["id"], result=result).model_dump_json())
        if kind == "edit" or (kind == "ack" and frame["kind"] == "read"):
            pushed = self.events[-1]
            self.push(EventPush(conversation_id=CID, seq=pushed.seq, event=pushed))
        if kind == "ack" and frame["kind"] == "read":
            self.push(InboxPush(entry=self.entry()))

    def sent(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == kind]


async def rest(route: Route) -> None:
    path = route.request.url.removeprefix(ORIGIN)
    answer: BaseModel
    if path == "/v1/conversations":
        summary = ConversationSummary(conversation_id=CID, members=[BOB, ME], last_seq=3)
        answer = ConversationList(conversations=[summary])
    elif path == "/v1/profile":
        answer = Profile(user_id=ME, display_name="Ann")
    else:
        await serve_files(route)
        return
    await route.fulfill(json=answer.model_dump(mode="json"))


@pytest_asyncio.fixture
async def edge_and_page() -> AsyncIterator[tuple[ScriptedEdge, Page]]:
    edge = ScriptedEdge()
    async with page_on(edge) as page:
        yield edge, page


@asynccontextmanager
async def page_on(edge: ScriptedEdge) -> AsyncIterator[Page]:
    """A browser with ann's device already logged in, its page in front of `edge`."""
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            context = await browser.new_context(viewport={"width": 1000, "height": 700})
            await context.add_init_script(
                "localStorage.setItem('parley.devices', JSON.stringify({'ann-tab': "
                "{user_id: 'ann', device_id: 'ann-tab', token: 'ann-tab.secret', saved_at: 1}}));"
                "sessionStorage.setItem('parley.device', 'ann-tab')"
            )
            page = await context.new_page()
            await page.route(f"{ORIGIN}/**", rest)
            await page.route_web_socket(re.compile(r"/v1/ws$"), edge.route)
            await page.goto(f"{ORIGIN}/")
            yield page
        finally:
            await browser.close()


async def test_the_page_uses_sync_inbox_and_edit_when_the_server_has_them(
    edge_and_page: tuple[ScriptedEdge, Page],
) -> None:
    edge, page = edge_and_page
    club = conversation_button(page, "Book club")
    # The server's inbox says more than the page could count from one page of events.
    await expect(club).to_have_accessible_name(re.compile("7 unread"))
    edge.unread = 9
    edge.push(InboxPush(entry=edge.entry()))
    await expect(club).to_have_accessible_name(re.compile("9 unread"))

    # The socket drops; meanwhile bob writes. The page resumes with one `sync`.
    edge.events.append(text(4, BOB, "sent while you were away"))
    await edge.sockets[-1].close()
    await expect(page.locator("body")).to_have_attribute("data-connection", "open")
    await club.click()
    await expect(message(page, "sent while you were away")).to_have_count(1)
    await expect(club).not_to_have_accessible_name(re.compile("unread"))
    assert edge.sent("sync")[-1]["cursors"] == {CID: 3}
    assert not [f for f in edge.sent("fetch_history") if f.get("after") is not None]

    mine = message(page, "I am halfway")
    await mine.get_by_role("button", name="Actions for your message “I am halfway”").click()
    await mine.get_by_role("button", name="Edit").click()
    dialog = page.get_by_role("dialog", name="Edit message")
    await dialog.get_by_role("textbox").fill("I am done")
    await dialog.get_by_role("button", name="Save").click()
    await expect(dialog).to_be_hidden()
    edited = message(page, "I am done")
    await expect(edited).to_contain_text("edited")
    await expect(edited).to_have_attribute("data-seq", "2")
    await expect(edited.get_by_role("button", name="Edit")).to_have_count(0)
    assert edge.sent("edit")[-1]["body"] == {"kind": "plain", "text": "I am done"}
    await shot(page, "newer-server", "01-sync-inbox-edit")


async def test_a_search_result_far_back_leaves_a_hole_that_a_button_fills() -> None:
    """Found at seq 100 of 4,500: the page around it is loaded, then the stretch up to the
    latest page in a few pages; the rest is a "Load more messages" button in its place,
    never a silent gap."""
    edge = ScriptedEdge()
    edge.events += [text(seq, BOB, f"line {seq}") for seq in range(4, 4501)]
    hit = SearchHit(
        conversation_id=CID,
        seq=100,
        sender=BOB,
        sent_at_ms=NOW + 100,
        edited=False,
        snippet="line 100",
        snippet_offset=0,
        highlights=[Highlight(start=5, end=8)],
    )
    edge.found = SearchPage(hits=[hit], estimated_total=1)
    async with page_on(edge) as page:
        await expect(conversation_button(page, "Book club")).to_be_visible()
        box = page.get_by_role("searchbox", name="Search messages")
        await box.fill("100")
        await box.press("Enter")
        result = page.locator("#search-hits button")
        await expect(result.locator("mark")).to_have_text("100")
        await result.click()
        found = page.locator('#messages li.msg[data-seq="100"]')
        await expect(found).to_have_class("msg found")
        await expect(found).to_be_in_viewport()
        # Ten pages of 200 after it at once; the latest page (4451..4500) was loaded first.
        hole = page.locator("#messages li.hole")
        await expect(hole).to_have_attribute("data-after", "2100")
        await expect(hole).to_have_attribute("data-before", "4451")
        await shot(page, "newer-server", "02-found-far-back-with-a-hole")
        assert edge.sent("search")[-1]["query"] == "100"
        more = page.get_by_role("button", name="Load more messages")
        await more.click()
        await expect(hole).to_have_attribute("data-after", "4100")
        await more.click()
        await expect(hole).to_have_count(0)
        seqs = await page.locator("#messages li.msg").evaluate_all(
            "items => items.map(li => Number(li.dataset.seq))"
        )
        assert seqs == list(range(min(seqs), 4501)), "one unbroken run to the latest"
        assert min(seqs) <= 100 - 24
