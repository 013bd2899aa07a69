"""The `parley` command: accounts, conversations and messages from a terminal, on the SDK.

Expected failures (server down, bad credentials, a refusal) end with one line on stderr
and exit status 1, never a traceback; `-v` shows the SDK's log for the curious.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import socket
import sys
import threading
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from client.config import DEFAULT_SERVER, StoredLogin, config_dir, load_login, save_login
from client.display import describe, describe_hit
from client.errors import (
    ApiError,
    ParleyError,
    ProtocolError,
    RequestTimeoutError,
    SendFailedError,
    ServerUnavailableError,
    UnauthorizedError,
)
from client.models import ConversationEvent
from client.sdk import ParleyClient, Signal
from edge.protocol.pushes import TypingPush

EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 130


@dataclass(frozen=True, slots=True)
class Context:
    server: str
    config_dir: Path
    env: Mapping[str, str]


Handler = Callable[[argparse.Namespace, Context], Coroutine[None, None, int]]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `parley` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    env = os.environ
    directory = config_dir(env)
    server = _server(args, env, directory)
    if not server.startswith(("http://", "https://")):
        parser.error(f"--server must be an http:// or https:// URL, not {server!r}")
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="parley: %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    handler: Handler = args.handler
    try:
        return asyncio.run(handler(args, Context(server, directory, env)))
    except ParleyError as e:
        print(f"parley: {explain(e, server)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def explain(error: ParleyError, server: str) -> str:
    """One sentence saying what went wrong and what to do about it."""
    if isinstance(error, ServerUnavailableError):
        detail = error.__cause__ or error
        return f"cannot reach the server at {server}: {detail} (is it running? see --server)"
    if isinstance(error, UnauthorizedError):
        return f"not authorised: {error.message}; run `parley login USER` again"
    if isinstance(error, ApiError):
        return f"the server refused: {error.message} ({error.code})"
    if isinstance(error, RequestTimeoutError | SendFailedError):
        return f"no answer from {server}: {error}"
    if isinstance(error, ProtocolError):
        return f"unexpected answer from {server} (is it a Parley server?): {error}"
    return str(error)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--server",
        default=argparse.SUPPRESS,
        help=f"server URL (default: $PARLEY_SERVER, the logged-in server, or {DEFAULT_SERVER})",
    )
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS)
    parser = argparse.ArgumentParser(
        prog="parley",
        description="Parley from a terminal. Log in once; the token is kept in "
        "$PARLEY_CONFIG_DIR or ~/.config/parley. Scripts can set PARLEY_PASSWORD.",
        parents=[common],
    )
    parser.set_defaults(verbose=False)
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    def command(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[common], help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    sub = command("register", register, "create an account (password from PARLEY_PASSWORD)")
    sub.add_argument("user")
    sub.add_argument("--display-name")
    sub = command("login", login, "log this device in and store its token")
    sub.add_argument("user")
    sub.add_argument("--device-name")
    command("chats", chats, "list your conversations, most recent first, with unread counts")
    sub = command("dm", direct, "start a direct conversation with a user (by user id)")
    sub.add_argument("user")
    sub = command("group", group, "create a group with users (by user id)")
    sub.add_argument("name")
    sub.add_argument("users", nargs="+", metavar="USER")
    sub = command("send", send, "send a message")
    sub.add_argument("conversation")
    sub.add_argument("text", nargs="+")
    sub = command("history", history, "show a conversation's latest messages")
    sub.add_argument("conversation")
    sub.add_argument("--limit", type=_page_size, default=50, help="how many (1-200)")
    sub.add_argument("--before", type=_seq, help="only events older than this seq")
    sub = command("chat", chat, "live chat: print incoming messages, send lines from stdin")
    sub.add_argument("conversation")
    sub.add_argument("--history", type=_page_size, default=20, help="earlier events to show")
    sub = command("search", search, "find messages you may read (docs/search.md)")
    sub.add_argument("query", nargs="+", help='words, "phrases", -exclusions, in: from: has:')
    sub.add_argument("--in", dest="conversation", help="only this conversation")
    sub.add_argument("--from", dest="sender", help="only messages this user sent")
    sub.add_argument("--before", type=_day, help="only before this UTC day (YYYY-MM-DD)")
    sub.add_argument("--after", type=_day, help="only after this UTC day (YYYY-MM-DD)")
    sub.add_argument("--has-link", action="store_true", help="only messages with a link")
    sub.add_argument("--has-file", action="store_true", help="only messages with attachments")
    sub.add_argument("--newest", action="store_true", help="newest first, not by relevance")
    sub.add_argument("--limit", type=_hits, default=20, help="hits per page (1-50)")
    sub.add_argument("--cursor", help="the next page: the cursor a previous search printed")
    command("devices", devices, "list your devices")
    sub = command("revoke", revoke, "revoke a device's token")
    sub.add_argument("device_id")
    return parser


async def register(args: argparse.Namespace, ctx: Context) -> int:
    password = _password(ctx.env, confirm=True)
    async with ParleyClient(ctx.server) as client:
        user_id = await client.register(args.user, password, args.display_name)
    print(f"registered {args.user} (user id {user_id}); now run `parley login {args.user}`")
    return EXIT_OK


async def login(args: argparse.Namespace, ctx: Context) -> int:
    password = _password(ctx.env)
    device_name = args.device_name or f"parley-cli@{socket.gethostname()}"
    async with ParleyClient(ctx.server) as client:
        try:
            token = await client.login(args.user, password, device_name)
        except UnauthorizedError as e:
            raise ParleyError("wrong username or password") from e
        if client.user_id is None or client.device_id is None:
            raise ProtocolError("the login answer named no user or device")
        stored = StoredLogin(
            server=ctx.server,
            username=args.user,
            user_id=client.user_id,
            device_id=client.device_id,
            token=token,
        )
    path = save_login(ctx.config_dir, stored)
    print(f"logged in as {args.user} on {ctx.server}; token saved in {path}")
    return EXIT_OK


async def chats(args: argparse.Namespace, ctx: Context) -> int:
    """Most recent first, with unread counts and the last message, from the inbox."""
    stored = _stored(ctx)
    async with _client(ctx, stored) as client:
        entries = await client.inbox()
    for e in entries:
        others = [m for m in e.members or [] if m != stored.user_id]
        label = e.name or ", ".join(others) or "(just you)"
        unread = f"{e.unread}{'+' if e.unread_capped else ''} unread" if e.unread else ""
        preview = e.preview
        last = "" if preview is None else preview.text or f"[{preview.kind}]"
        print(f"{e.conversation_id}\t{e.kind}\t{label}\t{unread}\t{last}".rstrip())
    if not entries:
        print("no conversations yet; start one with `parley dm USER`")
    return EXIT_OK


async def direct(args: argparse.Namespace, ctx: Context) -> int:
    async with _client(ctx) as client:
        created = await client.create_direct(args.user)
    print(created.conversation_id)
    return EXIT_OK


async def group(args: argparse.Namespace, ctx: Context) -> int:
    async with _client(ctx) as client:
        created = await client.create_group(args.name, args.users)
    print(created.conversation_id)
    return EXIT_OK


async def send(args: argparse.Namespace, ctx: Context) -> int:
    async with _client(ctx) as client:
        seq = await client.send(args.conversation, " ".join(args.text))
    print(f"sent #{seq}")
    return EXIT_OK


async def history(args: argparse.Namespace, ctx: Context) -> int:
    async with _client(ctx) as client:
        page = await client.fetch_history(args.conversation, before=args.before, limit=args.limit)
    lines = [line for line in map(describe, page.events) if line is not None]
    print("\n".join(lines) if lines else "no messages yet")
    return EXIT_OK


async def search(args: argparse.Namespace, ctx: Context) -> int:
    """One page of hits, matches in [brackets]; the cursor for the next page on stderr."""
    async with _client(ctx) as client:
        page = await client.search(
            " ".join(args.query),
            conversation_id=args.conversation,
            sender=args.sender,
            before=args.before,
            after=args.after,
            has_link=args.has_link,
            has_file=args.has_file,
            order="newest" if args.newest else "relevance",
            limit=args.limit,
            cursor=args.cursor,
        )
    for hit in page.hits:
        print(describe_hit(hit))
    if not page.hits:
        print("no messages found")
    more = f"; next page: --cursor {page.next_cursor}" if page.next_cursor else ""
    print(f"about {page.estimated_total} matches{more}", file=sys.stderr)
    return EXIT_OK


async def chat(args: argparse.Namespace, ctx: Context) -> int:
    conversation_id = args.conversation

    def show_typing(signal: Signal) -> None:
        if not isinstance(signal, TypingPush) or signal.conversation_id != conversation_id:
            return
        if signal.active:
            print(f"  ({signal.user_id} is typing)", file=sys.stderr, flush=True)

    async with _client(ctx, backfill_new=False, on_signal=show_typing) as client:
        page = await client.fetch_history(conversation_id, limit=args.history)
        for event in page.events:
            _show(event)
        shown = page.events[-1].seq if page.events else (page.last_seq or 0)
        client.track(conversation_id, shown)
        print("-- live; type a message and press Enter, Ctrl-D to leave --", file=sys.stderr)
        printer = asyncio.create_task(_print_incoming(client, conversation_id))
        sender = asyncio.create_task(_send_lines(client, conversation_id))
        done, pending = await asyncio.wait({printer, sender}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            task.result()
    return EXIT_OK


async def devices(args: argparse.Namespace, ctx: Context) -> int:
    stored = _stored(ctx)
    async with _client(ctx, stored) as client:
        listed = await client.list_devices()
    for d in listed:
        note = "\t(this device)" if d.device_id == stored.device_id else ""
        note += "\t(revoked)" if d.revoked else ""
        print(f"{d.device_id}\t{d.device_name}{note}")
    return EXIT_OK


async def revoke(args: argparse.Namespace, ctx: Context) -> int:
    async with _client(ctx) as client:
        await client.revoke_device(args.device_id)
    print(f"revoked {args.device_id}")
    return EXIT_OK


async def _print_incoming(client: ParleyClient, conversation_id: str) -> None:
    async for event in client.events():
        if event.conversation_id == conversation_id:
            _show(event)


async def _send_lines(client: ParleyClient, conversation_id: str) -> None:
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def read_stdin() -> None:
        """Blocking reads live in a daemon thread, so leaving never waits for an Enter."""
        try:
            for line in sys.stdin:
                loop.call_soon_threadsafe(lines.put_nowait, line)
            loop.call_soon_threadsafe(lines.put_nowait, None)
        except RuntimeError:
            return  # the loop is gone: the chat has ended

    threading.Thread(target=read_stdin, name="parley-stdin", daemon=True).start()
    while (line := await lines.get()) is not None:
        if text := line.rstrip("\n"):
            await client.send(conversation_id, text)


def _show(event: ConversationEvent) -> None:
    line = describe(event)
    if line is not None:
        print(line, flush=True)


def _server(args: argparse.Namespace, env: Mapping[str, str], directory: Path) -> str:
    flag: str | None = getattr(args, "server", None)
    if flag:
        return flag.rstrip("/")
    if env.get("PARLEY_SERVER"):
        return env["PARLEY_SERVER"].rstrip("/")
    try:
        stored = load_login(directory)
    except ParleyError:
        stored = None
    return stored.server if stored is not None else DEFAULT_SERVER


def _stored(ctx: Context) -> StoredLogin:
    stored = load_login(ctx.config_dir)
    if stored is None:
        raise ParleyError("not logged in; run `parley login USER` first")
    return stored


def _client(
    ctx: Context,
    stored: StoredLogin | None = None,
    *,
    backfill_new: bool = True,
    on_signal: Callable[[Signal], None] | None = None,
) -> ParleyClient:
    stored = stored or _stored(ctx)
    return ParleyClient(
        ctx.server,
        stored.token,
        backfill_new=backfill_new,
        send_attempts=3,
        send_deadline=30.0,
        on_signal=on_signal,
    )


def _password(env: Mapping[str, str], *, confirm: bool = False) -> str:
    if env.get("PARLEY_PASSWORD"):
        return env["PARLEY_PASSWORD"]
    try:
        password = getpass.getpass("password: ")
        if confirm and getpass.getpass("password again: ") != password:
            raise ParleyError("the passwords differ")
    except EOFError as e:
        raise ParleyError("no password given (scripts can set PARLEY_PASSWORD)") from e
    if not password:
        raise ParleyError("the password is empty")
    return password


def _page_size(text: str) -> int:
    value = _seq(text)
    if value > 200:
        raise argparse.ArgumentTypeError("at most 200")
    return value


def _hits(text: str) -> int:
    value = _seq(text)
    if value > 50:
        raise argparse.ArgumentTypeError("at most 50")
    return value


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from e


def _seq(text: str) -> int:
    try:
        value = int(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from e
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
