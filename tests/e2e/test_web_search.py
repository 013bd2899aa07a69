"""The browser client's search box, in headless Chromium against every real process: results
with their matches marked, and a result opening its conversation at that message with the
messages around it loaded (screenshots under .parley/artifacts/web/, see browser.py)."""

from __future__ import annotations

import uuid

import aiohttp
from playwright.async_api import Page, async_playwright, expect

from tests.e2e.browser import conversation_button, launch, log_in, message, new_tab, shot, texts
from tests.e2e.cluster import ParleyCluster, eventually, register_and_login
from tests.e2e.ws import RawDevice, send_frame

COUNT = 150
FOUND_AT = 10
"""The found message is the 10th of 150: far older than the first page (50) shows."""


def unique(name: str) -> str:
    return f"{name}{uuid.uuid4().hex[:6]}"


def line(i: int) -> str:
    return f"orchid protocol approved, item {i:03}" if i == FOUND_AT else f"old {i:03}"


async def conversation_with_history(cluster: ParleyCluster, alice: str, bob: str) -> str:
    """Bob writes to Alice; the search view has indexed it by the time this returns."""
    async with aiohttp.ClientSession() as http:
        await register_and_login(http, cluster.url(0), alice)
        login = await register_and_login(http, cluster.url(0), bob)
        headers = {"Authorization": f"Bearer {login['token']}"}
        async with http.post(
            f"{cluster.url(0)}/v1/conversations",
            json={"kind": "direct", "members": [alice]},
            headers=headers,
        ) as response:
            assert response.status == 201, await response.text()
            cid: str = (await response.json())["conversation_id"]
        device = await RawDevice.connect(http, cluster.url(0), login["token"])
        try:
            for i in range(1, COUNT + 1):
                answer = await device.request(send_frame(cid, line(i), f"m-{i}"))
                assert answer["type"] == "response", answer
        finally:
            await device.close()

        async def indexed() -> bool:
            params = {"query": f"{COUNT:03}"}  # the last message's number
            async with http.get(
                f"{cluster.url(0)}/v1/search", params=params, headers=headers
            ) as response:
                return response.status == 200 and bool((await response.json())["hits"])

        await eventually(indexed, "the conversation to be searchable", 60)
        return cid


async def search_for(page: Page, query: str) -> None:
    box = page.get_by_role("searchbox", name="Search messages")
    await box.fill(query)
    await box.press("Enter")


async def test_a_search_result_opens_the_conversation_at_that_message(
    cluster: ParleyCluster,
) -> None:
    alice, bob = unique("alice"), unique("bob")
    cid = await conversation_with_history(cluster, alice, bob)
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            _, a = await new_tab(browser, cluster.url(0))
            await log_in(a, alice)
            await expect(conversation_button(a, bob)).to_be_visible()
            await search_for(a, "Orchid")
            hits = a.locator("#search-hits button")
            await expect(hits).to_have_count(1)
            await expect(a.locator("#search-status")).to_have_text("1 message found for “Orchid”.")
            await expect(hits.first.locator("mark")).to_have_text("orchid")
            await expect(hits.first).to_contain_text(f"{bob}: orchid protocol approved")
            await expect(a.locator("#conversations")).to_be_hidden()
            await shot(a, "search", "01-results")

            await hits.first.click()
            found = message(a, "orchid protocol approved")
            await expect(found).to_have_count(1)
            await expect(found).to_have_class("msg found")
            await expect(found).to_be_in_viewport()
            assert await a.evaluate("location.hash") == f"#/c/{cid}"
            shown = await texts(a)
            start = shown.index(line(FOUND_AT))
            assert start > 0, "messages before the found one are loaded"
            assert shown[start:] == [line(i) for i in range(FOUND_AT, COUNT + 1)], (
                "from the found message to the latest, every message once and in order"
            )
            await expect(a.locator("#messages li.hole")).to_have_count(0)
            await shot(a, "search", "02-opened-at-the-message")

            await a.locator("#scroller").hover()
            await a.mouse.wheel(0, -20_000)
            await expect(a.locator("#history-start")).to_be_visible()
            assert await texts(a) == [line(i) for i in range(1, COUNT + 1)]

            await search_for(a, '"unbalanced')
            await expect(a.locator("#search-status")).to_contain_text(
                "That search cannot be run: unbalanced quotes"
            )
            await search_for(a, "nowhere to be found")
            await expect(a.locator("#search-status")).to_have_text(
                "No messages found for “nowhere to be found”."
            )
            await shot(a, "search", "03-nothing-found")
            await a.get_by_role("button", name="Back to chats").click()
            await expect(a.locator("#search-results")).to_be_hidden()
            await expect(conversation_button(a, bob)).to_be_visible()
        finally:
            await browser.close()
