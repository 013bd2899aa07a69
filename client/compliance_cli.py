"""The `parley-compliance` command: a compliance officer's tool, on the REST API.

A command of its own, not `parley` subcommands: an officer's login is kept apart from any
chat login on the same machine (its own token file, `$PARLEY_COMPLIANCE_CONFIG_DIR` or
~/.config/parley-compliance), so a chat session never carries the role and the role's token
never chats; and the people who chat never see compliance in their command's help.

    parley-compliance login USER
    parley-compliance export --case REF (--conversation ID | --user ID)
                             [--as-of WHEN] [--legal-hold] [--out DIR]
    parley-compliance status EXPORT_ID [--download DIR]
    parley-compliance audit --case REF [--officer U] [--action A] [--about-case REF]
                            [--target T] [--since WHEN] [--until WHEN] [--limit N] [--all]
    parley-compliance erase --case REF --user ID [--erasure-id E]
    parley-compliance erasure ERASURE_ID
    parley-compliance redact --case REF --conversation ID --seq N --reason TEXT
    parley-compliance retention --case REF --conversation ID (--keep-days N | --none)

WHEN is an ISO 8601 instant (2026-01-05T10:00:00Z) or milliseconds since the epoch. An
export is a job on the server: the command shows its progress, then downloads its files
and checks each against its SHA-256 and against the manifest. `erase` prints the erasure's
report as JSON (run it again with its `--erasure-id` to finish an interrupted one);
`erasure` reads that erasure's report back, store by store (exit 0 once nothing is left).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import aiohttp
from pydantic import BaseModel, ValidationError

from client.cli import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, _password, explain
from client.compliance import ComplianceApi, check_manifest, download
from client.config import DEFAULT_SERVER, StoredLogin, load_login, save_login
from client.errors import ParleyError, ProtocolError
from edge.protocol.compliance import (
    AuditQuery,
    ErasureRequest,
    ExportRequest,
    ExportStatus,
    RedactionRequest,
    RetentionRequest,
)

POLL_S = (0.5, 1.0, 2.0, 3.0)
"""Waits between status requests: quick at first, then every 3 s (each is audited)."""
EXPORT_DEADLINE_S = 6 * 3600.0


def config_dir(env: Mapping[str, str]) -> Path:
    if env.get("PARLEY_COMPLIANCE_CONFIG_DIR"):
        return Path(env["PARLEY_COMPLIANCE_CONFIG_DIR"])
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return base / "parley-compliance"


def instant(text: str) -> int:
    """Milliseconds since the epoch, from an ISO 8601 instant or a number of them."""
    if text.isdigit():
        return int(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not an instant: {text!r}") from e
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError("say which time zone (e.g. a trailing Z for UTC)")
    return int(parsed.timestamp() * 1000)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="parley-compliance", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--server", help=f"server URL (default: the logged-in one, else {DEFAULT_SERVER})"
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    sub = commands.add_parser("login", help="log in as an officer and keep the token")
    sub.add_argument("user")
    sub.set_defaults(run=login)
    sub = commands.add_parser("export", help="export history; download and check the files")
    sub.add_argument("--case", required=True)
    subject = sub.add_mutually_exclusive_group(required=True)
    subject.add_argument("--conversation")
    subject.add_argument("--user")
    sub.add_argument("--as-of", type=instant, help="the instant (default: now)")
    sub.add_argument("--legal-hold", action="store_true", help="every version of every event")
    sub.add_argument("--out", type=Path, default=Path("."), help="where the files go")
    sub.set_defaults(run=export)
    sub = commands.add_parser("status", help="an export's state; --download its files")
    sub.add_argument("export_id")
    sub.add_argument("--download", type=Path)
    sub.set_defaults(run=status)
    sub = commands.add_parser("audit", help="read the audit log")
    sub.add_argument("--case", required=True, help="the case you read under")
    for name in ("officer", "action", "about-case", "target"):
        sub.add_argument(f"--{name}")
    sub.add_argument("--since", type=instant)
    sub.add_argument("--until", type=instant)
    sub.add_argument("--limit", type=int, default=100)
    sub.add_argument("--all", action="store_true", help="page on to the end of the log")
    sub.set_defaults(run=audit)
    sub = commands.add_parser("erase", help="erase a person (the right to be forgotten)")
    sub.add_argument("--case", required=True)
    sub.add_argument("--user", required=True)
    sub.add_argument("--erasure-id", help="finish an interrupted erasure")
    sub.set_defaults(run=erase)
    sub = commands.add_parser("erasure", help="an erasure's report: each store, what is left")
    sub.add_argument("erasure_id")
    sub.set_defaults(run=erasure)
    sub = commands.add_parser("redact", help="remove one message's content everywhere")
    sub.add_argument("--case", required=True)
    sub.add_argument("--conversation", required=True)
    sub.add_argument("--seq", required=True, type=int)
    sub.add_argument("--reason", required=True)
    sub.set_defaults(run=redact)
    sub = commands.add_parser("retention", help="how long a conversation's new messages stay")
    sub.add_argument("--case", required=True)
    sub.add_argument("--conversation", required=True)
    days = sub.add_mutually_exclusive_group(required=True)
    days.add_argument("--keep-days", type=int)
    days.add_argument("--none", action="store_true", help="no retention of its own")
    sub.set_defaults(run=retention)
    return parser


Command = Callable[[argparse.Namespace, "Officer"], Awaitable[int]]
RequestT = TypeVar("RequestT", bound=BaseModel)


class Officer:
    """The command's context: where the server is, and the officer's stored login."""

    def __init__(self, server: str | None, env: Mapping[str, str]) -> None:
        self.env = env
        self.directory = config_dir(env)
        self.stored = load_login(self.directory)
        self.server = (server or (self.stored.server if self.stored else DEFAULT_SERVER)).rstrip(
            "/"
        )
        self.http: aiohttp.ClientSession | None = None

    def api(self, *, token: bool = True) -> ComplianceApi:
        if token and self.stored is None:
            raise ParleyError("not logged in; run `parley-compliance login USER` first")
        return ComplianceApi(
            self.server,
            self.session,
            token=self.stored.token if token and self.stored else None,
            timeout=60.0,
        )

    def session(self) -> aiohttp.ClientSession:
        if self.http is None:
            self.http = aiohttp.ClientSession()
        return self.http


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    officer = Officer(args.server, os.environ)

    async def run() -> int:
        try:
            command: Command = args.run
            return await command(args, officer)
        finally:
            if officer.http is not None:
                await officer.http.close()

    try:
        return asyncio.run(run())
    except ParleyError as e:
        print(f"parley-compliance: {explain(e, officer.server)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


async def login(args: argparse.Namespace, officer: Officer) -> int:
    password = _password(officer.env)
    session = await officer.api(token=False).login(
        args.user, password, f"parley-compliance@{socket.gethostname()}"
    )
    stored = StoredLogin(
        server=officer.server,
        username=args.user,
        user_id=session.user_id,
        device_id=session.device_id,
        token=session.token,
    )
    path = save_login(officer.directory, stored)
    print(f"logged in as {args.user} on {officer.server}; token saved in {path}")
    return EXIT_OK


async def export(args: argparse.Namespace, officer: Officer) -> int:
    try:
        request = ExportRequest(
            case=args.case,
            conversation_id=args.conversation,
            user_id=args.user,
            mode="legal_hold" if args.legal_hold else "as_of",
            as_of_ms=args.as_of,
        )
    except ValidationError as e:
        raise ParleyError(f"not a valid export: {e.errors()[0]['msg']}") from e
    api = officer.api()
    started = await api.start_export(request)
    print(f"export {started.export_id} started", file=sys.stderr)
    finished = await wait(api, started.export_id)
    return await fetch(officer, finished, args.out / finished.export_id)


async def status(args: argparse.Namespace, officer: Officer) -> int:
    found = await officer.api().export_status(args.export_id)
    progress = found.progress
    print(
        f"{found.export_id}\t{found.state}\t{found.subject}\t{found.mode}\t"
        f"{progress.percent}%\t{progress.events_written} events"
        + (f"\t{found.error}" if found.error else "")
    )
    if args.download is not None and found.state == "succeeded":
        return await fetch(officer, found, args.download / found.export_id)
    return EXIT_OK if found.state != "failed" else EXIT_ERROR


async def audit(args: argparse.Namespace, officer: Officer) -> int:
    try:
        query = AuditQuery(
            case=args.case,
            officer=args.officer,
            action=args.action,
            about_case=args.about_case,
            target=args.target,
            since_ms=args.since,
            until_ms=args.until,
            limit=args.limit,
        )
    except ValidationError as e:
        raise ParleyError(f"not a valid query: {e.errors()[0]['msg']}") from e
    api = officer.api()
    while True:
        page = await api.audit(query)
        for entry in page.entries:
            when = datetime.fromtimestamp(entry.occurred_at_ms / 1000, UTC).isoformat()
            outcome = entry.outcome or ""
            print(
                f"{entry.cursor}\t{when}\t{entry.phase}\t{entry.action}\t{entry.officer}\t"
                f"{entry.device_id}\t{entry.case_ref}\t{entry.target}\t{outcome}\t"
                f"{entry.detail or ''}".rstrip()
            )
        if not (args.all and page.more):
            return EXIT_OK
        query = query.model_copy(update={"cursor": page.next_cursor})


def valid(model: type[RequestT], what: str, **fields: object) -> RequestT:
    """The request as the server would check it, so a bad one is refused before it is sent."""
    try:
        return model.model_validate(fields)
    except ValidationError as e:
        raise ParleyError(f"not a valid {what}: {e.errors()[0]['msg']}") from e


async def erase(args: argparse.Namespace, officer: Officer) -> int:
    """The erasure id is chosen here and said first, so that an erasure whose answer never
    came (a timeout, a lost connection) can be finished by asking again with it."""
    erasure_id = args.erasure_id or f"erasure-{uuid.uuid4().hex}"
    request = valid(
        ErasureRequest, "erasure", case_ref=args.case, user_id=args.user, erasure_id=erasure_id
    )
    print(f"erasure {erasure_id} (repeat with --erasure-id {erasure_id})", file=sys.stderr)
    report = await officer.api().erase(request)
    print(report.model_dump_json(indent=2))
    return EXIT_OK


async def erasure(args: argparse.Namespace, officer: Officer) -> int:
    """One line per store (found, left, what was done); exit 0 once nothing is left."""
    report = await officer.api().erasure_status(args.erasure_id)
    print(f"{report.erasure_id}\t{report.user_id}\t{report.case_ref}\tcomplete={report.complete}")
    for store in report.stores:
        print(f"{store.store}\tfound {store.found}\tleft {store.left}\t{store.done}")
    return EXIT_OK if report.complete else EXIT_ERROR


async def redact(args: argparse.Namespace, officer: Officer) -> int:
    request = valid(
        RedactionRequest,
        "redaction",
        case_ref=args.case,
        conversation_id=args.conversation,
        seq=args.seq,
        reason=args.reason,
    )
    done = await officer.api().redact(request)
    print(f"redacted {args.conversation} seq {args.seq}: MessageRedacted at seq {done.seq}")
    return EXIT_OK


async def retention(args: argparse.Namespace, officer: Officer) -> int:
    keep = None if args.none else args.keep_days
    request = valid(RetentionRequest, "retention", case_ref=args.case, keep_days=keep)
    done = await officer.api().set_retention(args.conversation, request)
    said = "no retention of its own" if keep is None else f"{keep} days"
    changed = f"RetentionSet at seq {done.seq}" if done.seq else "nothing to change"
    print(f"{args.conversation}: {said} ({changed})")
    return EXIT_OK


async def wait(api: ComplianceApi, export_id: str) -> ExportStatus:
    """Poll until the export ends, showing its progress on stderr."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + EXPORT_DEADLINE_S
    polls = 0
    while True:
        found = await api.export_status(export_id)
        p = found.progress
        print(
            f"\r{found.state}: {p.phase} {p.percent:5.1f}% "
            f"({p.offsets_read}/{p.offsets_total} offsets, {p.events_written} events)",
            end="",
            file=sys.stderr,
            flush=True,
        )
        if found.state != "running":
            print(file=sys.stderr)
            if found.state == "failed":
                raise ParleyError(f"export {export_id} failed: {found.error}")
            return found
        if loop.time() > deadline:
            raise ParleyError(f"export {export_id} still running after {EXPORT_DEADLINE_S} s")
        await asyncio.sleep(POLL_S[min(polls, len(POLL_S) - 1)])
        polls += 1


async def fetch(officer: Officer, finished: ExportStatus, directory: Path) -> int:
    """Download every file, each checked against its digest, then the manifest's."""
    for file in finished.files:
        path = await download(officer.session, file, directory)
        print(f"{path}\t{file.size_bytes} bytes\tsha256 {file.sha256}")
    manifest = check_manifest(directory)
    if [f.name for f in manifest.files] != [f.name for f in finished.files[:-1]]:
        raise ProtocolError("the manifest lists other files than the export")
    print(f"all files match their SHA-256 digests and the manifest ({directory})")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
