"""The browser client at `/`, in headless Chromium against every real process.

Each test saves screenshots of its steps under .parley/artifacts/web/ (see browser.py).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from typing import Any

import aiohttp
from playwright.async_api import Page, WebSocketRoute, async_playwright, expect

from tests.e2e.browser import (
    PHONE,
    conversation_button,
    launch,
    log_in,
    message,
    new_tab,
    send,
    shot,
    sign_up,
    start_chat,
    texts,
)
from tests.e2e.cluster import ParleyCluster, register_and_login
from tests.e2e.ws import RawDevice, send_frame


def unique(name: str) -> str:
    return f"{name}{uuid.uuid4().hex[:6]}"


async def test_the_page_is_served_with_a_strict_policy(cluster: ParleyCluster) -> None:
    async with aiohttp.ClientSession() as http, http.get(cluster.url(0) + "/") as page:
        assert page.status == 200
        assert "text/html" in page.headers["Content-Type"]
        policy = page.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy
        assert "script-src 'self'" in policy
        assert '<script type="module" src="/web/js/main.js">' in await page.text()
    async with aiohttp.ClientSession() as http, http.get(cluster.url(0) + "/web/js/main.js") as js:
        assert js.status == 200
        assert "javascript" in js.headers["Content-Type"]


async def test_two_people_chat_with_ticks_typing_and_a_reload(cluster: ParleyCluster) -> None:
    """Register, open a 1:1, send (optimistic, then ticks), typing, read, reload resumes."""
    alice, bob = unique("alice"), unique("bob")
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            _, a = await new_tab(browser, cluster.url(0))
            _, b = await new_tab(browser, cluster.url(0))
            errors = watch_errors(a, b)
            await expect(a.get_by_role("heading", name="Log in")).to_be_visible()
            await shot(a, "chat", "00-log-in-form")
            await sign_up(a, alice)
            await sign_up(b, bob)
            await shot(b, "chat", "01-bob-signed-up")
            await first_message_is_delivered_then_read(a, b, alice, bob)
            await typing_and_a_reply(a, b, bob)
            await a.reload()
            await expect(a.get_by_role("heading", name=bob)).to_be_visible()
            await expect(a.locator("#auth")).to_be_hidden()
            await expect(a.locator("#messages li.msg")).to_have_count(2)
            assert await texts(a) == ["Hello Bob", "On my way"]
            await expect(message(a, "Hello Bob")).to_have_attribute("data-status", "read")
            await send(a, "Back after a reload")
            await expect(message(b, "Back after a reload")).to_have_count(1)
            await shot(a, "chat", "07-alice-after-reload")
            assert errors == [], errors
        finally:
            await browser.close()


async def first_message_is_delivered_then_read(a: Page, b: Page, alice: str, bob: str) -> None:
    await start_chat(a, [bob])
    await expect(a.get_by_role("heading", name=bob)).to_be_visible()
    await send(a, "Hello Bob")
    hello = message(a, "Hello Bob")
    await expect(hello).to_have_count(1)
    await expect(hello).to_have_attribute("data-status", re.compile("sent|delivered|read"))

    # Bob's page has the message (so his device acked delivery) but has not opened it.
    chat_with_alice = conversation_button(b, alice)
    await expect(chat_with_alice).to_have_accessible_name(re.compile("1 unread"))
    await expect(chat_with_alice).to_contain_text("Hello Bob")
    await expect(hello).to_have_attribute("data-status", "delivered")
    await expect(hello.get_by_role("img", name="Delivered")).to_be_visible()
    await shot(b, "chat", "02-bob-list-unread")
    await shot(a, "chat", "03-alice-delivered")

    await chat_with_alice.click()
    await expect(message(b, "Hello Bob")).to_have_count(1)
    await expect(hello).to_have_attribute("data-status", "read")
    await expect(chat_with_alice).not_to_have_accessible_name(re.compile("unread"))
    await shot(a, "chat", "04-alice-read")


async def typing_and_a_reply(a: Page, b: Page, bob: str) -> None:
    await expect(a.locator("#chat-subtitle")).to_have_text("online")
    composer = b.get_by_role("textbox", name="Message", exact=True)
    await composer.press_sequentially("On my way")
    await expect(a.locator("#typing")).to_have_text(f"{bob} is typing…")
    await shot(a, "chat", "05-alice-sees-typing")
    await composer.press("Enter")
    await expect(message(a, "On my way")).to_have_count(1)
    await expect(a.locator("#typing")).to_have_text("")
    await expect(message(b, "On my way")).to_have_attribute("data-status", "read")
    await shot(b, "chat", "06-bob-read-by-alice")


async def test_two_tabs_of_one_person_are_two_devices_in_sync(cluster: ParleyCluster) -> None:
    """A second tab logs in as a device of its own; messages, sends and reads of either tab
    show in the other, and a reloaded tab is still the same device."""
    alice, bob = unique("alice"), unique("bob")
    name = "tabs"
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            context, first = await new_tab(browser, cluster.url(0))
            _, b = await new_tab(browser, cluster.url(0))
            await sign_up(first, alice)
            await sign_up(b, bob)
            await start_chat(b, [alice])

            # The first tab holds its device, so the second one asks to log in.
            second = await context.new_page()
            await second.goto(cluster.url(0))
            await log_in(second, alice)
            devices = {await device_of(first), await device_of(second)}
            assert len(devices) == 2, devices

            await send(b, "to both tabs")
            for tab in (first, second):
                await expect(conversation_button(tab, bob)).to_have_accessible_name(
                    re.compile("1 unread")
                )
            await shot(first, name, "01-first-tab-unread")
            await conversation_button(second, bob).click()
            await expect(message(second, "to both tabs")).to_have_count(1)
            # Reading is per person: the other tab's count clears.
            await expect(conversation_button(first, bob)).not_to_have_accessible_name(
                re.compile("unread")
            )
            await send(second, "sent from tab two")
            await conversation_button(first, bob).click()
            mine = message(first, "sent from tab two")
            await expect(mine).to_have_count(1)
            await expect(mine).to_have_class(re.compile(r"\bmine\b"))
            await expect(message(b, "sent from tab two")).to_have_count(1)
            await shot(first, name, "02-first-tab")

            await second.reload()
            await expect(second.locator("body")).to_have_attribute("data-ready", "true")
            assert await device_of(second) in devices - {await device_of(first)}
            await expect(message(second, "sent from tab two")).to_have_count(1)
            await shot(second, name, "03-second-tab-after-reload")
        finally:
            await browser.close()


async def test_a_dropped_edge_shows_a_banner_and_resumes_with_nothing_missed(
    cluster: ParleyCluster,
) -> None:
    """The page's edge node restarts: a banner while it is away; afterwards every message sent
    meanwhile (by another device, on another node) is shown once and in order, and a message
    written while offline is sent once."""
    alice, bob = unique("alice"), unique("bob")
    name = "reconnect"
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        restarted = False
        try:
            _, a = await new_tab(browser, cluster.url(0))
            _, b = await new_tab(browser, cluster.url(0))
            await sign_up(a, alice)
            await sign_up(b, bob)
            cid = await start_chat(a, [bob])
            await send(a, "before the drop")
            await conversation_button(b, alice).click()
            await expect(message(b, "before the drop")).to_have_count(1)

            async with aiohttp.ClientSession() as http:
                login = await register_and_login(http, cluster.url(1), bob, "phone")
                phone = await RawDevice.connect(http, cluster.url(1), login["token"])
                try:
                    await asyncio.to_thread(cluster.stop_process, "edge-0")
                    banner = a.get_by_role("status").filter(has_text="Reconnecting")
                    await expect(banner).to_be_visible()
                    await shot(a, name, "01-alice-reconnecting")
                    await send(a, "written offline")
                    await expect(message(a, "written offline")).to_have_attribute(
                        "data-status", "sending"
                    )
                    missed = [f"missed {i}" for i in range(1, 6)]
                    for i, text in enumerate(missed):
                        answer = await phone.request(send_frame(cid, text, f"phone-{i}"))
                        assert answer["type"] == "response", answer
                    await asyncio.to_thread(cluster.start_edge, 0)
                    restarted = True
                    await expect(banner).to_be_hidden(timeout=60_000)
                    for text in missed:
                        await expect(message(a, text)).to_have_count(1)
                    await expect(message(a, "written offline")).to_have_attribute(
                        "data-status", re.compile("sent|delivered|read")
                    )
                    await expect(message(b, "written offline")).to_have_count(1)
                    for text in missed:  # bob's other device's messages, on bob's page too
                        await expect(message(b, text)).to_have_count(1)
                    assert await texts(a) == ["before the drop", *missed, "written offline"]
                    await shot(a, name, "02-alice-resumed")
                    await shot(b, name, "03-bob-resumed")
                    page = await phone.request(
                        {"type": "fetch_history", "conversation_id": cid, "limit": 200}
                    )
                    sent = [
                        e["event"]["body"]["text"]
                        for e in page["result"]["events"]
                        if e["event"]["type"] == "MessageSent"
                    ]
                    assert sent.count("written offline") == 1, sent
                finally:
                    await phone.close()
        finally:
            if not restarted:
                await asyncio.to_thread(cluster.start_edge, 0)
            await browser.close()


async def test_scrolling_up_pages_in_older_history(cluster: ParleyCluster) -> None:
    """A conversation longer than a page: the page shows the latest, scrolling up brings the
    rest, each message once and in order; the unread count is the inbox view's, exact."""
    alice, bob = unique("alice"), unique("bob")
    count = 80
    async with aiohttp.ClientSession() as http:
        await register_and_login(http, cluster.url(0), alice)
        login = await register_and_login(http, cluster.url(0), bob)
        async with http.post(
            f"{cluster.url(0)}/v1/conversations",
            json={"kind": "direct", "members": [alice]},
            headers={"Authorization": f"Bearer {login['token']}"},
        ) as response:
            assert response.status == 201, await response.text()
            cid = (await response.json())["conversation_id"]
        device = await RawDevice.connect(http, cluster.url(0), login["token"])
        try:
            for i in range(1, count + 1):
                answer = await device.request(send_frame(cid, f"old {i:02}", f"old-{i}"))
                assert answer["type"] == "response", answer
        finally:
            await device.close()
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            _, a = await new_tab(browser, cluster.url(0))
            await log_in(a, alice)
            chat = conversation_button(a, bob)
            await expect(chat).to_have_accessible_name(re.compile(rf"\b{count} unread"))
            await chat.click()
            messages = a.locator("#messages li.msg")
            await expect(messages.last).to_contain_text(f"old {count}")
            assert await messages.count() < count
            start = a.locator("#history-start")
            for _ in range(10):
                if await start.is_visible():
                    break
                first = await messages.first.get_attribute("data-seq")
                await a.locator("#scroller").hover()
                await a.mouse.wheel(0, -20_000)
                await expect(messages.first).not_to_have_attribute("data-seq", first or "")
            await expect(start).to_be_visible()
            assert await texts(a) == [f"old {i:02}" for i in range(1, count + 1)]
            await shot(a, "paging", "01-alice-at-the-start")
            # Read while the latest messages are on screen: back at the bottom.
            await a.locator("#scroller").hover()
            await a.mouse.wheel(0, 200_000)
            await expect(chat).not_to_have_accessible_name(re.compile("unread"))
        finally:
            await browser.close()


class LossyLink:
    """Between the page and the edge: loses the answer to the first attempt of one send and
    the first push of its event, and records every attempt the page makes."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.attempts: list[dict[str, Any]] = []
        self.lost: list[str] = []

    def route(self, ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def from_page(data: str | bytes) -> None:
            frame = json.loads(data)
            if frame.get("type") == "send" and frame["body"].get("text") == self.text:
                self.attempts.append(frame)
            server.send(data)

        def from_server(data: str | bytes) -> None:
            frame = json.loads(data)
            first = self.attempts[0]["id"] if self.attempts else None
            if frame.get("type") == "response" and first and frame.get("id") == first:
                self.lost.append("response")
                return
            event = frame.get("event", {}) if frame.get("type") == "event" else {}
            if event.get("body", {}).get("text") == self.text and "push" not in self.lost:
                self.lost.append("push")
                return
            ws.send(data)

        ws.on_message(from_page)
        server.on_message(from_server)


async def test_a_lost_answer_is_retried_and_never_duplicates(cluster: ParleyCluster) -> None:
    """The first answer to a send and its event push are lost on the way to the page: the
    page retries with the same client_msg_id and still shows the message once, as sent.
    (Bob is offline meanwhile, so no later event can reveal the message before the retry.)"""
    alice, bob = unique("alice"), unique("bob")
    text = "only once, please"
    link = LossyLink(text)
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            context, a = await new_tab(browser, cluster.url(0))
            await context.add_init_script(
                "localStorage.setItem('parley.settings', JSON.stringify({requestTimeoutMs: 3000}))"
            )
            await a.route_web_socket(re.compile(r"/v1/ws$"), link.route)
            await a.reload()
            async with aiohttp.ClientSession() as http:
                await register_and_login(http, cluster.url(0), bob)
            await sign_up(a, alice)
            await start_chat(a, [bob])
            await send(a, text)
            bubble = message(a, text)
            await expect(bubble).to_have_attribute("data-status", re.compile("sent|delivered|read"))
            await expect(bubble).to_have_count(1)
            assert len(link.attempts) >= 2, link.attempts
            assert len({f["client_msg_id"] for f in link.attempts}) == 1, link.attempts
            assert sorted(link.lost) == ["push", "response"], link.lost
            await shot(a, "retry", "01-alice-one-bubble")

            _, b = await new_tab(browser, cluster.url(0))
            await log_in(b, bob)
            await conversation_button(b, alice).click()
            await expect(message(b, text)).to_have_count(1)
            await expect(bubble).to_have_attribute("data-status", "read")
            await expect(bubble).to_have_count(1)
            await shot(a, "retry", "02-alice-read")
        finally:
            await browser.close()


async def test_a_group_at_phone_width_by_keyboard(cluster: ParleyCluster) -> None:
    """Create a group and add a member with the keyboard alone, on a phone-sized screen."""
    alice, bob, carol = unique("alice"), unique("bob"), unique("carol")
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            _, a = await new_tab(browser, cluster.url(0), viewport=PHONE)
            _, b = await new_tab(browser, cluster.url(0), viewport=PHONE)
            _, c = await new_tab(browser, cluster.url(0), viewport=PHONE)
            await sign_up(b, bob)
            await sign_up(c, carol)
            await sign_up(a, alice)
            await shot(a, "group", "01-phone-list")
            await create_group_by_keyboard(a, "Weekend plans", bob)
            await a.keyboard.type("Who is in?")
            await a.keyboard.press("Enter")
            await expect(message(a, "Who is in?")).to_have_count(1)
            await add_member_by_keyboard(a, carol)
            await shot(a, "group", "02-phone-group")

            group = conversation_button(c, "Weekend plans")
            await group.click()
            await expect(c.get_by_role("heading", name="Weekend plans")).to_be_visible()
            await send(c, "Me!")
            await expect(message(a, "Me!")).to_have_count(1)
            await conversation_button(b, "Weekend plans").click()
            await expect(message(b, "Me!")).to_have_count(1)
            await expect(message(b, "Me!").locator(".sender")).to_have_text(f"{carol}:")
            await shot(c, "group", "03-phone-carol")
            await c.get_by_role("button", name="Back to chats").click()
            await expect(conversation_button(c, "Weekend plans")).to_be_visible()
            snapshot = await a.locator("body").aria_snapshot()
            assert 'log "Weekend plans"' in snapshot, snapshot
        finally:
            await browser.close()


async def create_group_by_keyboard(page: Page, title: str, member: str) -> None:
    await page.get_by_role("button", name="New chat").focus()
    await page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="New chat")
    await expect(dialog).to_be_visible()
    await dialog.get_by_label("A group").focus()
    await page.keyboard.press("Space")
    await dialog.get_by_label("Group name").focus()
    await page.keyboard.type(title)
    await dialog.get_by_role("textbox", name="User names").focus()
    await page.keyboard.type(member)
    await page.keyboard.press("Enter")
    await expect(dialog).to_be_hidden()
    await expect(page.get_by_role("textbox", name="Message", exact=True)).to_be_focused()
    await expect(page.get_by_role("heading", name=title)).to_be_visible()


async def add_member_by_keyboard(page: Page, member: str) -> None:
    await page.get_by_role("button", name="Add people").focus()
    await page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Add people")
    await expect(dialog.get_by_role("textbox", name="User names")).to_be_focused()
    await page.keyboard.type(member)
    await page.keyboard.press("Enter")
    await expect(dialog).to_be_hidden()
    await expect(page.locator("#chat-subtitle")).to_contain_text(member)


def watch_errors(*pages: Page) -> list[str]:
    """Uncaught errors and console errors (a violated content policy shows up there)."""
    errors: list[str] = []
    for page in pages:
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.on(
            "console",
            lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None,
        )
    return errors


async def device_of(page: Page) -> str:
    device: str = await page.evaluate("window.parley.messenger.me.deviceId")
    return device
