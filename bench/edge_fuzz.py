"""Property-based fuzzing of a running edge (hypothesis, schemathesis): what any client may
send over the WebSocket and REST. A short budget runs in the tests
(tests/e2e/test_fuzz_edge.py); `python -m bench fuzz` runs 10,000 cases per target.

WebSocket: frames from the frame models (every type, its fields filled with valid values
or hostile ones: wrong types, huge integers, lone surrogates, deep nesting, long text) and
beyond them (any JSON, text that is not JSON). The property: every frame under 256 KiB gets
exactly one answer, `response` or `error` with its id when it has a valid request id, one
`error` with `"id": null` when it has none, and the connection stays open.

REST: every operation of ENDPOINTS with any body (JSON of any shape and depth, huge
numbers, bytes that are not UTF-8), any `Content-Type` (charset parameters included) and
with or without the token. The property: never a 5xx, and every error in the documented
shape `{"error": {"code", "message"}}` with a code of `ErrorCode`. Schemathesis adds the
schema-driven cases from /openapi.json (`schemathesis_run`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import aiohttp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.errors import ErrorCode
from edge.protocol import frames as f
from edge.rest import ENDPOINTS

MAX_FRAME = 256 * 1024
ANSWER_S = 30.0
"""How long one frame may take to be answered (a send waits for the log)."""
PUSH_TYPES = {"event", "inbox", "presence", "typing", "resync"}
CODES = {code.value for code in ErrorCode}
FRAME_TYPES = sorted(
    str(get_args(model.model_fields["type"].annotation)[0]) for model in get_args(f.Request)
)

SURROGATES = st.sampled_from(["\ud800", "\udfff", "a\udc00b", "\ud83d"])
HUGE = st.sampled_from([2**63, 2**63 - 1, -(2**63) - 1, 2**64, 10**40, -1, 0])
TEXT = st.one_of(
    st.text(max_size=40), SURROGATES, st.text(min_size=1, max_size=3).map(lambda t: t * 50)
)


def deep(levels: st.SearchStrategy[int]) -> st.SearchStrategy[str]:
    """JSON arrays or objects nested `levels` deep, as text (json.dumps recurses too)."""
    return levels.flatmap(
        lambda n: st.sampled_from(["[" * n + "]" * n, '{"a":' * n + "1" + "}" * n])
    )


JSON_VALUE: st.SearchStrategy[Any] = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), HUGE, st.floats(allow_nan=False), TEXT),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "conversation_id": st.one_of(st.just("dm-nope"), TEXT),
    "client_msg_id": TEXT,
    "token": TEXT,
    "kind": st.sampled_from(["plain", "e2ee", "read", "delivered", "x"]),
    "seq": st.one_of(st.integers(1, 5), HUGE),
    "up_to": st.one_of(st.integers(1, 5), HUGE),
    "before": st.one_of(st.none(), st.integers(1, 5), HUGE),
    "after": st.one_of(st.none(), st.integers(0, 5), HUGE),
    "limit": st.one_of(st.integers(1, 200), HUGE),
    "reply_to": st.one_of(st.none(), HUGE),
    "emoji": st.one_of(TEXT, st.just("🙂" * 33)),
    "scope": st.sampled_from(["for_me", "for_everyone", "x"]),
    "active": st.booleans(),
    "status": st.sampled_from(["online", "away", "x"]),
    "inbox": st.booleans(),
    "user_ids": st.lists(TEXT, max_size=5),
    "cursors": st.dictionaries(TEXT, st.one_of(st.integers(0, 5), HUGE), max_size=4),
    "body": st.one_of(
        st.fixed_dictionaries({"kind": st.just("plain"), "text": st.text(min_size=1)}),
        st.fixed_dictionaries(
            {"kind": st.just("plain"), "text": st.integers(1, 70_000).map(lambda n: "x" * n)}
        ),
        JSON_VALUE,
    ),
}


@st.composite
def model_frame(draw: st.DrawFn) -> dict[str, Any]:
    """A frame of a known type, each field valid, hostile or missing, maybe one extra."""
    kind = draw(st.sampled_from(FRAME_TYPES))
    frame: dict[str, Any] = {"type": kind}
    for name, values in FIELD_VALUES.items():
        if draw(st.integers(0, 3)) == 0:
            frame[name] = draw(st.one_of(values, JSON_VALUE))
    if draw(st.booleans()):
        frame["id"] = draw(st.one_of(TEXT, JSON_VALUE))
    return frame


def frame_texts() -> st.SearchStrategy[str]:
    """The text of a frame: from the models, any JSON, or not JSON at all."""
    return st.one_of(
        model_frame().map(json.dumps),
        model_frame().map(json.dumps),
        JSON_VALUE.map(json.dumps),
        deep(st.integers(100, 5000)),
        deep(st.integers(100, 2000)).map(lambda d: '{"type":"ping","id":' + d + "}"),
        st.text(max_size=200),
    )


def request_id(text: str) -> str | None:
    """The id the edge must answer to, as a client would read it from its own frame."""
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):
        return None
    found = raw.get("id") if isinstance(raw, dict) else None
    if not isinstance(found, str) or not 1 <= len(found) <= f.MAX_REQUEST_ID:
        return None
    try:
        found.encode()
    except UnicodeEncodeError:
        return None
    return found


@dataclass
class Outcomes:
    cases: int = 0
    answers: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def summary(self, target: str, began: float) -> dict[str, Any]:
        return {
            "target": target,
            "cases": self.cases,
            "seconds": round(time.monotonic() - began, 1),
            "answers": dict(self.answers),
            "failures": self.failures[:20],
            "failure_count": len(self.failures),
        }


class FrameChecker:
    """One authenticated socket; each frame is sent with a unique id where it has a valid
    one, followed by a ping, and its answers are counted until both are in."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, outcomes: Outcomes) -> None:
        self.ws = ws
        self.outcomes = outcomes
        self.ids = itertools.count()

    async def check(self, text: str) -> None:
        self.outcomes.cases += 1
        wanted = request_id(text)
        if wanted is not None:  # unique per case, so no answer is mistaken for another's
            wanted = f"z{next(self.ids)}"
            text = json.dumps({**json.loads(text), "id": wanted})
        ping = f"p{next(self.ids)}"
        await self.ws.send_str(text)
        await self.ws.send_str(json.dumps({"type": "ping", "id": ping}))
        answers: list[dict[str, Any]] = []
        anonymous = 0
        ponged = False
        deadline = time.monotonic() + ANSWER_S
        while not ponged or (wanted is not None and not answers):
            message = await self.ws.receive(timeout=max(deadline - time.monotonic(), 0.1))
            if message.type != aiohttp.WSMsgType.TEXT:
                self._fail(f"connection ended ({message.type.name}) after {text[:120]!r}")
                return
            frame = json.loads(message.data)
            kind = frame.get("type")
            if kind in PUSH_TYPES:
                continue
            if frame.get("id") == ping:
                ponged = True
            elif wanted is not None and frame.get("id") == wanted:
                answers.append(frame)
            elif frame.get("id") is None and kind == "error" and not ponged:
                anonymous += 1
                self.outcomes.answers[f"error:{frame.get('code')}"] += 1
            elif frame.get("id") is not None:
                self._fail(f"an answer to nobody's id {frame.get('id')!r} after {text[:120]!r}")
        if wanted is None:
            if anonymous != 1:
                self._fail(f"{anonymous} id-less errors for {text[:120]!r}")
            return
        if len(answers) != 1 or anonymous:
            self._fail(f"{len(answers)} answers and {anonymous} id-less for {text[:120]!r}")
            return
        answer = answers[0]
        if answer["type"] == "error":
            code = answer.get("code")
            self.outcomes.answers[f"error:{code}"] += 1
            if code not in CODES or code == ErrorCode.INTERNAL:
                self._fail(f"error {code!r} for {text[:120]!r}")
        else:
            self.outcomes.answers["response"] += 1

    def _fail(self, what: str) -> None:
        self.outcomes.failures.append(what)


def run_ws(url: str, token: str, cases: int) -> dict[str, Any]:
    """`cases` frames on one socket of a device with `token`, at the edge at `url`."""
    outcomes = Outcomes()
    began = time.monotonic()

    async def session(check: Callable[[FrameChecker], Coroutine[Any, Any, None]]) -> None:
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(
                f"{url}/v1/ws", headers={"Authorization": f"Bearer {token}"}, max_msg_size=0
            )
            await check(FrameChecker(ws, outcomes))
            await ws.close()

    async def all_cases(checker: FrameChecker) -> None:
        texts: list[str] = []

        @settings(max_examples=cases, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(frame_texts())
        def collect(text: str) -> None:
            if len(text.encode()) < MAX_FRAME:
                texts.append(text)

        collect()
        for text in texts:
            await checker.check(text)
            if checker.ws.closed:
                break

    asyncio.run(session(all_cases))
    return outcomes.summary("websocket: any frame under 256 KiB", began)


CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=bogus-9",
        "application/json; charset=latin-1",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "",
    ]
)
BODIES = st.one_of(
    JSON_VALUE.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {"kind": st.sampled_from(["direct", "group"]), "members": st.lists(TEXT, max_size=3)}
    ).map(lambda v: json.dumps(v).encode()),
    deep(st.integers(100, 3000)).map(str.encode),
    st.integers(4000, 5000).map(lambda n: ('{"name":' + "9" * n + "}").encode()),
    st.binary(max_size=300),
    st.just(b""),
)


@dataclass(frozen=True)
class RestCase:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@st.composite
def rest_cases(draw: st.DrawFn) -> RestCase:
    endpoint = draw(st.sampled_from(ENDPOINTS))
    path = re.sub(
        r"\{\w+\}",
        lambda _: draw(st.text(alphabet="abcdefghij-_.%~", min_size=1, max_size=20)),
        endpoint.path,
    )
    headers: dict[str, str] = {}
    content_type = draw(CONTENT_TYPES)
    if content_type:
        headers["Content-Type"] = content_type
    auth = draw(st.sampled_from(["Bearer", "bearer", "Basic", None]))
    if auth is not None:
        headers["Authorization"] = f"{auth} TOKEN"
    if draw(st.booleans()):
        headers["Idempotency-Key"] = draw(st.text(alphabet="abc123-", max_size=200))
    return RestCase(endpoint.method, path, headers, draw(BODIES))


async def check_rest(
    http: aiohttp.ClientSession, base: str, token: str, case: RestCase, outcomes: Outcomes
) -> None:
    outcomes.cases += 1
    headers = {k: v.replace("TOKEN", token) for k, v in case.headers.items()}
    async with http.request(case.method, base + case.path, headers=headers, data=case.body) as r:
        body = await r.read()
        outcomes.answers[str(r.status)] += 1
        what = f"{case.method} {case.path} {case.headers.get('Content-Type')!r} {case.body[:80]!r}"
        if r.status >= 500:
            outcomes.failures.append(f"{r.status} for {what}")
        elif r.status >= 400:
            try:
                error = json.loads(body)["error"]
                ok = error["code"] in CODES and isinstance(error["message"], str)
            except (ValueError, KeyError, TypeError):
                ok = False
            if not ok:
                outcomes.failures.append(f"{r.status} off the error shape {body[:120]!r}: {what}")


def run_rest(url: str, token: str, cases: int) -> dict[str, Any]:
    outcomes = Outcomes()
    began = time.monotonic()
    generated: list[RestCase] = []

    @settings(max_examples=cases, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(rest_cases())
    def collect(case: RestCase) -> None:
        generated.append(case)

    collect()

    async def send_all() -> None:
        async with aiohttp.ClientSession() as http:
            for case in generated:
                await check_rest(http, url, token, case, outcomes)

    asyncio.run(send_all())
    return outcomes.summary("rest: any body, content type and token", began)


def schemathesis_run(url: str, token: str, examples: int, report_dir: Path) -> dict[str, Any]:
    """Schemathesis over /openapi.json: every operation (but revoking a device, which would
    revoke the run's own token), authenticated, its checks for server errors and for every
    answer's status, content type and schema (errors' too)."""
    report_dir.mkdir(parents=True, exist_ok=True)
    report = report_dir / "schemathesis.xml"
    began = time.monotonic()
    command = [
        str(Path(sys.executable).with_name("st")),
        "run",
        f"{url}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,"
        "response_schema_conformance,unsupported_method",
        "--exclude-path-regex",
        "^/v1/devices/",
        "--max-examples",
        str(examples),
        "--workers",
        "1",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
        "--no-color",
        "--suppress-health-check",
        "all",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=3600)
    output = done.stdout + done.stderr
    cases = re.search(r"(\d+) generated", output)
    return {
        "target": "rest: schemathesis over /openapi.json",
        "cases": int(cases.group(1)) if cases else None,
        "seconds": round(time.monotonic() - began, 1),
        "exit_code": done.returncode,
        "summary": output[-3000:],
    }
