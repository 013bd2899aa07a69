"""Photos, videos and files in the browser client, in headless Chromium against every real
process (the media processor included) and the real S3 server: the attach button, drag and
drop, pasting an image, progress, previews (placeholder, then thumbnail), video, download,
and an upload resumed after a reload. Screenshots go to .parley/artifacts/web/."""

from __future__ import annotations

import base64
import os
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from playwright.async_api import FilePayload, Page, Request, Route, async_playwright, expect

from media.settings import MIB
from tests import media_files as f
from tests.e2e.browser import (
    conversation_button,
    launch,
    new_tab,
    shot,
    sign_up,
    start_chat,
)
from tests.e2e.cluster import ParleyCluster
from tests.e2e.test_web_client import watch_errors
from tests.integration.test_media_processing import make_video

CLUSTER_ENV = {"PARLEY_MEDIA_PART_BYTES": str(5 * MIB)}
TEST = "media"
SIGNED_URL = re.compile(r"^http://127\.0\.0\.1:\d+/.+X-Amz-Signature=")
"""A pre-signed URL of the object store."""


def unique(name: str) -> str:
    return f"{name}{uuid.uuid4().hex[:6]}"


def payload(name: str, kind: str, data: bytes) -> FilePayload:
    return {"name": name, "mimeType": kind, "buffer": data}


def attachments(page: Page) -> Any:
    return page.locator("#messages li.msg .attachment, #messages li.msg button.file")


@asynccontextmanager
async def chatting(cluster: ParleyCluster) -> AsyncIterator[tuple[Page, Page, str, str]]:
    """Alice (a tab on edge 0) and Bob (edge 1), signed up, their 1:1 open on both sides."""
    alice, bob = unique("alice"), unique("bob")
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            _, a = await new_tab(browser, cluster.url(0))
            _, b = await new_tab(browser, cluster.url(1))
            await sign_up(a, alice)
            await sign_up(b, bob)
            await start_chat(a, [bob])
            await conversation_button(b, alice).click()
            await expect(b.locator("#chat-main")).to_be_visible()
            yield a, b, alice, bob
        finally:
            await browser.close()


async def file_transfer(page: Page, data: bytes, name: str, kind: str) -> Any:
    """A DataTransfer holding one file, made in the page (what a drop or a paste carries)."""
    return await page.evaluate_handle(
        """([encoded, name, kind]) => {
            const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: kind }));
            return transfer;
        }""",
        [base64.b64encode(data).decode(), name, kind],
    )


async def shown_image(page: Page, index: int) -> None:
    """The attachment at `index` shows its placeholder, painted, and then its thumbnail."""
    figure = page.locator("#messages figure.attachment.image").nth(index)
    await expect(figure).to_have_class("attachment image loaded")
    painted = await figure.locator("canvas.placeholder").evaluate(
        "(c) => c.getContext('2d').getImageData(16, 16, 1, 1).data[3]"
    )
    assert painted == 255, "the BlurHash placeholder is painted"
    width = await figure.locator("img").evaluate("(img) => img.naturalWidth")
    assert 0 < width <= 320, "the thumbnail, not the original"


async def test_photos_video_and_files_by_button_drop_and_paste(
    cluster: ParleyCluster, tmp_path: Path
) -> None:
    async with chatting(cluster) as (a, b, alice, _):
        errors = watch_errors(a, b)
        await a_photo_by_the_attach_button(a, b)
        await images_dropped_and_pasted(a, b)
        await a_video_and_a_document(a, b, tmp_path)
        await expect(attachments(b)).to_have_count(5)
        await expect(attachments(a)).to_have_count(5)
        await shot(b, TEST, "03-everything-arrived")
        # The two files went up side by side: the one processed last is the last message.
        latest = re.compile("📎 (Video|notes.pdf)")
        await expect(conversation_button(b, alice)).to_contain_text(latest)
        assert errors == [], errors


async def a_photo_by_the_attach_button(a: Page, b: Page) -> None:
    """What was typed goes as the caption; the receiver sees the placeholder, then the
    thumbnail, upright."""
    composer = a.get_by_role("textbox", name="Message", exact=True)
    await composer.fill("the harbour")
    photo = f.camera_jpeg(1600, 1200, orientation=6)
    await a.get_by_role("button", name="Attach a photo, video or file").click()
    await a.set_input_files("#attach-input", payload("harbour.jpg", "image/jpeg", photo))
    await expect(composer).to_have_value("")
    await shot(a, TEST, "01-uploading")
    await shown_image(b, 0)
    captioned = b.locator("#messages li.msg").filter(has_text="the harbour")
    await expect(captioned).to_have_count(1)
    ratio = await captioned.locator("figure").evaluate("(f) => f.style.aspectRatio")
    assert ratio == "1200 / 1600", "laid out upright before any byte arrives"
    await shot(b, TEST, "02-photo-arrived")


async def images_dropped_and_pasted(a: Page, b: Page) -> None:
    png = f.image_bytes("PNG", 400, 300)
    dropped = await file_transfer(a, png, "drop.png", "image/png")
    await a.dispatch_event("#chat-main", "dragover", {"dataTransfer": dropped})
    await expect(a.locator("#drop-hint")).to_be_visible()
    await a.dispatch_event("#chat-main", "drop", {"dataTransfer": dropped})
    await expect(a.locator("#drop-hint")).to_be_hidden()
    await shown_image(b, 1)
    png = f.image_bytes("PNG", 200, 100)
    pasted = await file_transfer(a, png, "image.png", "image/png")
    composer = a.get_by_role("textbox", name="Message", exact=True)
    await composer.evaluate(
        "(box, data) => box.dispatchEvent(new ClipboardEvent('paste', "
        "{ clipboardData: data, bubbles: true, cancelable: true }))",
        pasted,
    )
    await shown_image(b, 2)


async def a_video_and_a_document(a: Page, b: Page, tmp_path: Path) -> None:
    video = make_video(tmp_path / "clip.mkv")
    document = f.pdf()
    await a.set_input_files(
        "#attach-input",
        files=[
            payload("clip.mkv", "video/x-matroska", video),
            payload("notes.pdf", "application/pdf", document),
        ],
    )
    player = b.locator("#messages figure.attachment.video video")
    await expect(player).to_have_attribute("poster", SIGNED_URL)
    assert ".mp4" in (await player.get_attribute("src") or ""), "the web-playable copy"
    named = f"Download notes.pdf, {len(document)} bytes"
    async with b.expect_download() as downloading:
        await b.get_by_role("button", name=named).click()
    saved = tmp_path / "notes.pdf"
    await (await downloading.value).save_as(saved)
    assert saved.read_bytes() == document


async def test_an_upload_cut_off_by_a_reload_resumes_with_only_the_missing_part(
    cluster: ParleyCluster, tmp_path: Path
) -> None:
    data = os.urandom(6 * MIB)  # two parts: 5 MiB and 1 MiB
    async with chatting(cluster) as (a, b, _, _):
        def second_part(url: str) -> bool:
            return "partNumber=2&" in url

        async def cut(route: Route) -> None:
            await route.abort()

        await a.route(second_part, cut)
        async with a.expect_event(
            "requestfinished", lambda r: "partNumber=1&" in r.url and r.method == "PUT"
        ):
            big = payload("big.bin", "application/octet-stream", data)
            await a.set_input_files("#attach-input", big)
        progress = a.locator("#messages figure.attachment.pending progress")
        await expect(progress).to_be_visible()
        await shot(a, TEST, "04-cut-off")
        await a.unroute(second_part, cut)

        sent_after_reload: list[str] = []

        def record(request: Request) -> None:
            if request.method == "PUT":
                sent_after_reload.append(request.url)

        a.on("request", record)
        await a.reload()
        await expect(a.locator("body")).to_have_attribute("data-ready", "true")
        button = b.get_by_role("button", name="Download big.bin, 6.3 MB")
        await expect(button).to_be_visible(timeout=120_000)
        async with b.expect_download() as downloading:
            await button.click()
        saved = tmp_path / "big.bin"
        await (await downloading.value).save_as(saved)
        assert saved.read_bytes() == data
        assert sent_after_reload, "the upload went on after the reload"
        assert all("partNumber=2&" in url for url in sent_after_reload), sent_after_reload
        await shot(b, TEST, "05-resumed-and-arrived")
