"""A real browser for e2e tests: Debian's Chromium driven by Playwright, screenshots saved.

Playwright's own browser download is never used: the executable is `/usr/bin/chromium`
(infra/setup.sh installs Debian's `chromium` package) or `PARLEY_CHROMIUM`. Screenshots go
to `.parley/artifacts/web/` (or `PARLEY_ARTIFACTS_DIR`), which git ignores.
"""

from __future__ import annotations

import mimetypes
import os
import re
from pathlib import Path

from playwright.async_api import Browser, BrowserContext, Page, Playwright, Route, expect

from edge.web_client import WEB_DIR

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("PARLEY_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(os.environ.get("PARLEY_ARTIFACTS_DIR", ROOT / ".parley" / "artifacts")) / "web"
PASSWORD = "correct horse battery"
WAIT_MS = 30_000
DESKTOP = {"width": 1100, "height": 720}
PHONE = {"width": 390, "height": 780}
expect.set_options(timeout=WAIT_MS)  # assertions wait as long as actions: CI machines are slow
ORIGIN = "http://parley.invalid"
"""An origin that never reaches a network: `serve_files` answers for it."""


async def launch(playwright: Playwright) -> Browser:
    if not CHROMIUM.exists():
        raise AssertionError(
            f"no Chromium at {CHROMIUM}: run infra/setup.sh (it installs Debian's chromium) "
            "or set PARLEY_CHROMIUM"
        )
    return await playwright.chromium.launch(executable_path=str(CHROMIUM))


async def new_tab(
    browser: Browser, base: str, viewport: dict[str, int] = DESKTOP
) -> tuple[BrowserContext, Page]:
    """A fresh browser profile (one person's browser) with one tab on the page."""
    context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    context.set_default_timeout(WAIT_MS)
    page = await context.new_page()
    await page.goto(base)
    return context, page


async def shot(page: Page, test: str, step: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{test}-{step}.png"
    await page.screenshot(path=str(path))
    return path


async def sign_up(page: Page, name: str) -> None:
    """Register through the page's form, which then logs in (a new device)."""
    form = page.locator("#auth-form")
    await form.get_by_role("button", name="Create an account").click()
    await form.get_by_label("User name").fill(name)
    await form.get_by_label("Password").fill(PASSWORD)
    await form.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("heading", name="Chats")).to_be_visible()
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")


async def log_in(page: Page, name: str) -> None:
    form = page.locator("#auth-form")
    await expect(form.get_by_role("heading", name="Log in")).to_be_visible()
    await form.get_by_label("User name").fill(name)
    await form.get_by_label("Password").fill(PASSWORD)
    await form.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Chats")).to_be_visible()
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")


async def start_chat(page: Page, members: list[str], group_name: str | None = None) -> str:
    """Start a 1:1 (one member) or a group through the dialog; returns the conversation id."""
    await page.get_by_role("button", name="New chat").click()
    dialog = page.get_by_role("dialog", name="New chat")
    if group_name is not None:
        await dialog.get_by_label("A group").check()
        await dialog.get_by_label("Group name").fill(group_name)
    await dialog.get_by_role("textbox", name=re.compile("^User names?$")).fill(", ".join(members))
    await dialog.get_by_role("button", name="Start chat").click()
    await expect(dialog).to_be_hidden()
    await expect(page.locator("#chat-main")).to_be_visible()
    match = re.match(r"^#/c/(.+)$", await page.evaluate("location.hash"))
    assert match, "the open conversation is in the address"
    return match.group(1)


def conversation_button(page: Page, title: str):  # type: ignore[no-untyped-def]
    return page.locator("#conversations").get_by_role("button", name=re.compile(f"^{title}"))


def message(page: Page, text: str):  # type: ignore[no-untyped-def]
    return page.locator("#messages li.msg").filter(has_text=text)


async def send(page: Page, text: str) -> None:
    composer = page.get_by_role("textbox", name="Message", exact=True)
    await composer.fill(text)
    await composer.press("Enter")
    await expect(composer).to_have_value("")


async def texts(page: Page) -> list[str]:
    result: list[str] = await page.locator("#messages li.msg .text").all_inner_texts()
    return result


async def serve_files(route: Route) -> None:
    """The page's files straight from edge/web/ on ORIGIN: `/` is the real page unless the
    request asks for a blank one (`/?blank`)."""
    path = route.request.url.removeprefix(ORIGIN)
    if path == "/?blank":
        await route.fulfill(body="<!doctype html><title>blank</title>", content_type="text/html")
        return
    file = WEB_DIR / ("index.html" if path == "/" else path.removeprefix("/web/"))
    if not (path == "/" or path.startswith("/web/")) or not file.is_file():
        await route.fulfill(status=404)
        return
    content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    if file.suffix == ".js":
        content_type = "text/javascript"
    await route.fulfill(body=file.read_bytes(), content_type=content_type)
