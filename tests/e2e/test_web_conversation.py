"""The page's own bookkeeping (edge/web/js/conversation.js) run in Chromium, with no server:
cursors, repeats, gaps, unread counts, ticks, and events applied out of order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from tests.e2e.browser import ORIGIN, launch, serve_files

ME = {"userId": "ann", "deviceId": "ann-laptop"}


pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await launch(playwright)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context()
    try:
        tab = await context.new_page()
        await tab.route(f"{ORIGIN}/**", serve_files)
        await tab.goto(f"{ORIGIN}/?blank")
        yield tab
    finally:
        await context.close()


async def run(page: Page, body: str) -> Any:
    """Evaluate `body` with `Conversation`, `me` and event builders in scope."""
    script = f"""async (me) => {{
        const {{ Conversation }} = await import("/web/js/conversation.js");
        const at = (seq) => 1764300000000 + seq;
        const actor = (user, device) => ({{ user_id: user, device_id: device ?? user + "-phone" }});
        const sent = (seq, user, text, device) => ({{ type: "MessageSent", seq,
            actor: actor(user, device), client_msg_id: "c" + seq, occurred_at_ms: at(seq),
            body: {{ kind: "plain", text }} }});
        const created = (members, name) => ({{ type: "ConversationCreated", seq: 1,
            actor: actor(members[0]), kind: name ? "GROUP" : "DIRECT", name: name ?? null,
            members: members.slice(1).map((user_id) => ({{ user_id, role: "MEMBER" }})),
            occurred_at_ms: at(1) }});
        const read = (seq, user, upTo) => ({{ type: "ReadWatermarkAdvanced", seq,
            actor: actor(user), up_to_seq: upTo, occurred_at_ms: at(seq) }});
        const delivered = (seq, user, upTo, device) => ({{ type: "DeliveredWatermarkAdvanced",
            seq, actor: actor(user, device), up_to_seq: upTo, occurred_at_ms: at(seq) }});
        {body}
    }}"""
    return await page.evaluate(script, ME)


async def test_pushes_apply_in_order_once_and_wait_for_a_gap(page: Page) -> None:
    result = await run(
        page,
        """
        const c = new Conversation("dm-1", me);
        c.takePage([{ seq: 1, event: created(["ann", "bob"]) }]);
        const inOrder = c.offer(2, sent(2, "bob", "one"));
        const repeat = c.offer(2, sent(2, "bob", "one again"));
        const early = c.offer(4, sent(4, "bob", "three"));
        const gap = c.gap;
        const cursorWhileWaiting = c.cursor;
        c.takePage([{ seq: 3, event: sent(3, "bob", "two") }]);
        c.drain();
        return { inOrder, repeat, early, gap, cursorWhileWaiting, cursor: c.cursor,
                 texts: c.visibleMessages().map((m) => m.text), after: c.gap };
        """,
    )
    assert result == {
        "inOrder": True,
        "repeat": False,
        "early": False,
        "gap": 4,
        "cursorWhileWaiting": 2,
        "cursor": 4,
        "texts": ["one", "two", "three"],
        "after": None,
    }


async def test_seqs_history_will_never_show_are_stepped_over(page: Page) -> None:
    result = await run(
        page,
        """
        const c = new Conversation("g-1", me);
        c.takePage([{ seq: 10, event: sent(10, "bob", "first I may see") }]);
        c.offer(13, sent(13, "bob", "later"));
        c.skipTo(13);
        return { cursor: c.cursor, gap: c.gap, texts: c.visibleMessages().map((m) => m.text) };
        """,
    )
    assert result == {"cursor": 13, "gap": None, "texts": ["first I may see", "later"]}


async def test_unread_counts_messages_of_others_after_my_read_watermark(page: Page) -> None:
    result = await run(
        page,
        """
        const c = new Conversation("dm-1", me);
        c.takePage([
            { seq: 1, event: created(["bob", "ann"]) },
            { seq: 2, event: sent(2, "bob", "hi") },
            { seq: 3, event: sent(3, "ann", "hello") },
            { seq: 4, event: sent(4, "bob", "how are you?") },
        ]);
        const before = c.unread();
        const lastIncoming = c.lastIncoming;
        c.offer(5, read(5, "ann", 4));  // read on another of my devices
        const after = c.unread();
        c.offer(6, delivered(6, "bob", 3));
        return { before, lastIncoming, after, lastIncomingAfter: c.lastIncoming,
                 preview: c.preview().text };
        """,
    )
    assert result == {
        "before": {"count": 2, "atLeast": False},
        "lastIncoming": 4,
        "after": {"count": 0, "atLeast": False},
        "lastIncomingAfter": 4,  # watermark events are never acked: no ack ping-pong
        "preview": "how are you?",
    }


async def test_ticks_wait_for_every_other_member(page: Page) -> None:
    result = await run(
        page,
        """
        const c = new Conversation("g-1", me);
        c.takePage([
            { seq: 1, event: created(["ann", "bob", "cid"], "trip") },
            { seq: 2, event: sent(2, "ann", "plan?", "ann-laptop") },
        ]);
        const states = [c.statusOf(2)];
        c.offer(3, delivered(3, "bob", 2));
        states.push(c.statusOf(2));
        c.offer(4, delivered(4, "cid", 2, "cid-tablet"));
        states.push(c.statusOf(2));
        c.offer(5, read(5, "bob", 2));
        states.push(c.statusOf(2));
        c.offer(6, read(6, "cid", 2));
        states.push(c.statusOf(2));
        return { states, title: c.title(), kind: c.kind };
        """,
    )
    assert result == {
        "states": ["sent", "sent", "delivered", "delivered", "read"],
        "title": "trip",
        "kind": "group",
    }


async def test_edits_deletions_and_reactions_hold_whatever_order_they_come_in(
    page: Page,
) -> None:
    """An older page (scrolling up) brings a message after its edit and reactions."""
    result = await run(
        page,
        """
        const c = new Conversation("dm-1", me);
        c.takePage([
            { seq: 5, event: { type: "MessageEdited", seq: 5, actor: actor("bob"),
                target_seq: 2, body: { kind: "plain", text: "fixed" }, occurred_at_ms: at(5) } },
            { seq: 6, event: { type: "ReactionAdded", seq: 6, actor: actor("ann"),
                target_seq: 2, emoji: "👍", occurred_at_ms: at(6) } },
            { seq: 7, event: { type: "ReactionAdded", seq: 7, actor: actor("bob"),
                target_seq: 3, emoji: "👍", occurred_at_ms: at(7) } },
            { seq: 8, event: { type: "ReactionRemoved", seq: 8, actor: actor("bob"),
                target_seq: 3, emoji: "👍", occurred_at_ms: at(8) } },
            { seq: 9, event: { type: "MessageDeleted", seq: 9, actor: actor("ann"),
                target_seq: 4, scope: "FOR_ME", occurred_at_ms: at(9) } },
        ]);
        for (const [seq, event] of [[2, sent(2, "bob", "tpyo")], [3, sent(3, "bob", "x")],
                                    [4, sent(4, "bob", "hidden for me")]]) c.apply(seq, event);
        return c.visibleMessages().map((m) => ({ seq: m.seq, text: m.text, edited: m.edited,
            reactions: [...m.reactions] }));
        """,
    )
    assert result == [
        {"seq": 2, "text": "fixed", "edited": True, "reactions": [["👍", ["ann"]]]},
        {"seq": 3, "text": "x", "edited": False, "reactions": []},
    ]


async def test_expired_messages_leave_the_view_whenever_the_push_comes(page: Page) -> None:
    """`MessagesExpired` drops its seqs from view, before or after the messages arrive (an
    older page may bring them after the push); the others stay, and count no more as
    unread."""
    result = await run(
        page,
        """
        const c = new Conversation("dm-1", me);
        c.apply(1, created(["ann", "bob"]));
        c.apply(2, sent(2, "bob", "gone soon"));
        c.apply(3, sent(3, "bob", "stays"));
        c.apply(5, { type: "MessagesExpired", seq: 5, actor: actor("compliance:expiry"),
            seqs: [2, 4], occurred_at_ms: at(5) });
        c.apply(4, sent(4, "bob", "gone too, arriving late"));
        return { shown: c.visibleMessages().map((m) => m.text), unread: c.unread().count };
        """,
    )
    assert result == {"shown": ["stays"], "unread": 1}
