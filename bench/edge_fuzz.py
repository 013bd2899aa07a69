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
import urllib.parse
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, get_args

import aiohttp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import results
from bench.platform import bench_platform
from bench.services import edge_port, parley_running
from edge.errors import ErrorCode
from edge.protocol import frames as f
from edge.rest import ENDPOINTS

MAX_FRAME = 256 * 1024
MAX_DEPTH = 201
"""Nesting the edge parses (docs/protocol.md; pydantic-core's limit); deeper is `bad_json`."""
PASSWORD = "fuzzing password"
ANSWER_S = 30.0
"""How long one frame may take to be answered (a send waits for the log)."""
PUSH_TYPES = {"event", "inbox", "presence", "typing", "resync"}
CODES = {code.value for code in ErrorCode}

SURROGATES = st.sampled_from(["\ud800", "\udfff", "a\udc00b", "\ud83d"])
HUGE = st.sampled_from([2**63, 2**63 - 1, -(2**63) - 1, 2**64, 10**40, -1, 0])
TEXT = st.one_of(
    st.text(max_size=40), SURROGATES, st.text(min_size=1, max_size=3).map(lambda t: t * 50)
)

DAYS = st.one_of(
    st.dates().map(str), st.sampled_from(["2026-02-30", "0000-01-01", "9999-12-31T23:59"])
)
QUERY_SYNTAX = '"-:*()^~[]{}\\!+?/<>&|'
QUERIES = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=QUERY_SYNTAX + "ab ", max_size=40),
    st.lists(
        st.sampled_from(["in:", "from:", "before:", "after:", "has:link", "has:file", "-", '"']),
        max_size=6,
    ).map("".join),
    st.integers(500, 600).map(lambda n: "w" * n),
    SURROGATES,
)

NUMBER_LITERALS = st.sampled_from(
    ["1e400", "-1e400", "1.5", "1E2", "-0", "0.0", "9" * 30, "1" + "0" * 4301, "2e-400"]
)
"""Number literals json.dumps never writes: the edge reads them as JSON does."""


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
    "sender": TEXT,
    "client_msg_id": TEXT,
    "token": TEXT,
    "kind": st.sampled_from(["plain", "e2ee", "read", "delivered", "x"]),
    "seq": st.one_of(st.integers(1, 5), HUGE),
    "up_to": st.one_of(st.integers(1, 5), HUGE),
    "before": st.one_of(st.none(), st.integers(1, 5), HUGE, DAYS),
    "after": st.one_of(st.none(), st.integers(0, 5), HUGE, DAYS),
    "limit": st.one_of(st.integers(1, 200), HUGE),
    "reply_to": st.one_of(st.none(), HUGE),
    "emoji": st.one_of(TEXT, st.just("🙂" * 33)),
    "scope": st.sampled_from(["for_me", "for_everyone", "x"]),
    "active": st.booleans(),
    "status": st.sampled_from(["online", "away", "x"]),
    "inbox": st.booleans(),
    "user_ids": st.lists(TEXT, max_size=5),
    "cursors": st.dictionaries(TEXT, st.one_of(st.integers(0, 5), HUGE), max_size=4),
    "query": QUERIES,
    "has_link": st.booleans(),
    "has_file": st.booleans(),
    "order": st.sampled_from(["relevance", "newest", "x"]),
    "cursor": st.one_of(TEXT, st.binary(max_size=40).map(lambda b: b.hex())),
    "body": st.one_of(
        st.fixed_dictionaries({"kind": st.just("plain"), "text": st.text(min_size=1)}),
        st.fixed_dictionaries(
            {"kind": st.just("plain"), "text": st.integers(1, 70_000).map(lambda n: "x" * n)}
        ),
        JSON_VALUE,
    ),
}


@dataclass(frozen=True)
class Fuzzer:
    """Who the fuzz runs as: a person with a group conversation holding one message, so
    that frames and requests reach the code past "not a member" too."""

    url: str
    user: str
    token: str
    peer: str
    conversation_id: str

    def valid_values(self) -> dict[str, st.SearchStrategy[Any]]:
        """Values each field takes in a frame the edge accepts (before, after: a fetch's
        seq or a search's day)."""
        return {
            "conversation_id": st.just(self.conversation_id),
            "client_msg_id": st.text(alphabet="abcdef0123", min_size=1, max_size=12),
            "kind": st.sampled_from(["read", "delivered"]),
            "seq": st.integers(1, 3),
            "up_to": st.integers(1, 5),
            "before": st.one_of(st.integers(1, 5), st.dates().map(str)),
            "after": st.one_of(st.integers(0, 5), st.dates().map(str)),
            "limit": st.integers(1, 50),
            "reply_to": st.one_of(st.none(), st.integers(1, 3)),
            "emoji": st.sampled_from(["🙂", "👍🏽", "🙂" * 32, "x"]),
            "scope": st.sampled_from(["for_me", "for_everyone"]),
            "active": st.booleans(),
            "status": st.sampled_from(["online", "away"]),
            "inbox": st.booleans(),
            "user_ids": st.lists(st.sampled_from([self.user, self.peer]), max_size=2),
            "cursors": st.dictionaries(st.just(self.conversation_id), st.integers(0, 5)),
            "query": st.sampled_from(["fuzz", '"fuzz"', "-x fuzz", "from:" + self.user]),
            "sender": st.sampled_from([self.user, self.peer]),
            "order": st.sampled_from(["relevance", "newest"]),
            "body": st.fixed_dictionaries({"kind": st.just("plain"), "text": st.text(min_size=1)}),
        }

    def bodies(self) -> st.SearchStrategy[bytes]:
        """REST bodies the edge may accept, each field valid or hostile."""
        people = st.lists(st.one_of(st.sampled_from([self.peer, self.user]), TEXT), max_size=3)
        names = st.one_of(st.none(), TEXT, st.integers(60, 300).map(lambda n: "n" * n))
        shapes = st.one_of(
            st.fixed_dictionaries(
                {"kind": st.sampled_from(["direct", "group", "x"]), "members": people},
                optional={"name": names},
            ),
            st.fixed_dictionaries({"members": people}),
            st.fixed_dictionaries({}, optional={"display_name": names}),
            st.fixed_dictionaries(
                {"username": st.one_of(st.just(self.user), TEXT), "password": TEXT},
                optional={"device_name": names, "display_name": names},
            ),
        )
        return shapes.map(lambda v: json.dumps(v).encode())

    def field_values(self) -> dict[str, st.SearchStrategy[Any]]:
        """FIELD_VALUES with this person's conversation and its peer among the choices."""
        mine = st.just(self.conversation_id)
        people = st.sampled_from([self.user, self.peer])
        return FIELD_VALUES | {
            "conversation_id": st.one_of(mine, FIELD_VALUES["conversation_id"]),
            "sender": st.one_of(people, TEXT),
            "user_ids": st.lists(st.one_of(people, TEXT), max_size=5),
            "cursors": st.dictionaries(
                st.one_of(mine, TEXT), st.one_of(st.integers(0, 5), HUGE), max_size=4
            ),
        }


async def fuzzer(url: str) -> Fuzzer:
    """Two new people at the edge at `url`, one conversation of theirs, one message in it."""
    user, peer = (f"fz{uuid.uuid4().hex[:10]}" for _ in range(2))
    async with aiohttp.ClientSession() as http:

        async def call(path: str, body: dict[str, Any], token: str | None = None) -> Any:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            async with http.post(url + path, json=body, headers=headers) as response:
                answer = await response.json()
                if response.status >= 400:
                    raise RuntimeError(f"{path}: {response.status} {answer}")
                return answer

        for name in (user, peer):
            await call("/v1/accounts", {"username": name, "password": PASSWORD})
        login = await call("/v1/sessions", {"username": user, "password": PASSWORD})
        token = login["token"]
        created = await call("/v1/conversations", {"kind": "group", "members": [peer]}, token)
        cid = created["conversation_id"]
        ws = await http.ws_connect(f"{url}/v1/ws", headers={"Authorization": f"Bearer {token}"})
        body = {"kind": "plain", "text": "fuzz"}
        await ws.send_json(
            {"type": "send", "id": "s", "conversation_id": cid, "client_msg_id": "s", "body": body}
        )
        while True:
            answer = await ws.receive_json(timeout=ANSWER_S)
            if answer.get("id") == "s":
                break
        await ws.close()
        if answer["type"] != "response":
            raise RuntimeError(f"the first message was refused: {answer}")
    return Fuzzer(url, user, token, peer, cid)


MODEL_ID = '"id": "x"'
"""How a model frame's id reads in its text (json.dumps)."""
FRAME_MODELS = {
    str(get_args(model.model_fields["type"].annotation)[0]): model for model in get_args(f.Request)
}


@st.composite
def model_frame(
    draw: st.DrawFn,
    valid: dict[str, st.SearchStrategy[Any]],
    values: dict[str, st.SearchStrategy[Any]],
) -> dict[str, Any]:
    """A frame of a known type: mostly its own fields (required ones nearly always), each
    valid, or hostile, or any JSON, sometimes another frame's field too."""
    kind = draw(st.sampled_from(sorted(FRAME_MODELS)))
    frame: dict[str, Any] = {"type": kind}
    fields = FRAME_MODELS[kind].model_fields
    for name in fields.keys() - {"type", "id"}:
        if draw(st.integers(0, 9)) < (9 if fields[name].is_required() else 5):
            which = draw(st.integers(0, 9))
            value = valid if which < 6 else values if which < 9 else {}
            frame[name] = draw(value.get(name, JSON_VALUE))
    if draw(st.integers(0, 4)) == 0:
        name = draw(st.sampled_from(sorted(values)))
        frame[name] = draw(values[name])
    if draw(st.integers(0, 9)):
        frame["id"] = "x"  # a valid id: the checker makes it unique
    elif draw(st.booleans()):
        frame["id"] = draw(st.one_of(TEXT, JSON_VALUE))
    return frame


def frame_texts(who: Fuzzer) -> st.SearchStrategy[str]:
    """The text of a frame: from the models, any JSON, or not JSON at all."""
    valid, values = who.valid_values(), who.field_values()
    return st.one_of(
        model_frame(valid, values).map(json.dumps),
        model_frame(valid, values).map(json.dumps),
        st.tuples(model_frame(valid, values).map(json.dumps), NUMBER_LITERALS).map(
            lambda pair: re.sub(r"(?<=: )-?\d+", pair[1], pair[0], count=1)
        ),
        JSON_VALUE.map(json.dumps),
        deep(st.integers(100, 5000)),
        deep(st.integers(100, 2000)).map(lambda d: '{"type":"ping","id":' + d + "}"),
        st.text(max_size=200),
    )


def request_id(text: str) -> str | None:
    """The id the edge must answer to, by docs/protocol.md's rules, as a client would read it
    from its own frame: None when the frame is not JSON as RFC 8259 has it (NaN or
    Infinity, a lone surrogate anywhere, nesting deeper than MAX_DEPTH, a number of more
    digits than Python reads) or its id is not a string of 1 to 64 characters."""
    try:
        raw = json.loads(text, parse_constant=_not_json)
    except (ValueError, RecursionError):
        return None
    if not _strict(raw, 1):
        return None
    found = raw.get("id") if isinstance(raw, dict) else None
    if not isinstance(found, str) or not 1 <= len(found) <= f.MAX_REQUEST_ID:
        return None
    return found


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _strict(value: Any, depth: int) -> bool:
    """No lone surrogate in any string, no nesting deeper than MAX_DEPTH."""
    if isinstance(value, str):
        return _encodes(value)
    if isinstance(value, list | dict):
        if depth > MAX_DEPTH:
            return False
        items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        return all(_strict(item, depth + 1) for item in items)
    return True


def _encodes(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


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
        if wanted == "x" and text.count(MODEL_ID) == 1:
            # A model frame's id, made unique per case so that no answer is mistaken for
            # another's; in the text itself, as json.loads and dumps would change the rest
            # (1e400 comes back as Infinity, which is not JSON).
            wanted = f"z{next(self.ids)}"
            text = text.replace(MODEL_ID, json.dumps({"id": wanted})[1:-1])
        ping = f"p{next(self.ids)}"
        await self.ws.send_str(text)
        await self.ws.send_str(json.dumps({"type": "ping", "id": ping}))
        answers: list[dict[str, Any]] = []
        anonymous = 0
        ponged = False
        deadline = time.monotonic() + ANSWER_S
        while not ponged or (wanted is not None and not answers):
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise TimeoutError
                # wait_for, not receive's timeout: aiohttp restarts that at every ping it
                # answers, and the edge pings every 20 s, so it never ran out
                message = await asyncio.wait_for(self.ws.receive(), left)
            except TimeoutError:
                self._fail(f"no answer within {ANSWER_S:.0f} s to {text[:120]!r}")
                return
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


def run_ws(who: Fuzzer, cases: int) -> dict[str, Any]:
    """`cases` frames on one socket of `who`'s device. The frames are drawn before the
    socket opens: drawing 10,000 takes minutes, during which a socket would not answer the
    edge's pings and be closed."""
    outcomes = Outcomes()
    began = time.monotonic()
    texts: list[str] = []

    @settings(
        max_examples=cases, database=None, deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(frame_texts(who))
    def collect(text: str) -> None:
        if len(text.encode()) < MAX_FRAME:
            texts.append(text)

    collect()

    async def session() -> None:
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(
                f"{who.url}/v1/ws",
                headers={"Authorization": f"Bearer {who.token}"},
                max_msg_size=0,
            )
            checker = FrameChecker(ws, outcomes)
            for text in texts:
                await checker.check(text)
                if ws.closed:
                    break
            await ws.close()

    asyncio.run(session())
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


REST_CONCURRENCY = 8
"""Requests in flight at once: a creation or a login waits for the log or for argon2."""
PATH_TEXT = st.text(alphabet="abcdefghij-_.%~", min_size=1, max_size=20)


@st.composite
def rest_cases(draw: st.DrawFn, who: Fuzzer) -> RestCase:
    """Any endpoint, its path parameters this person's conversation and peer or anything."""
    endpoint = draw(st.sampled_from(ENDPOINTS))
    pools = {
        "cid": st.one_of(st.just(who.conversation_id), PATH_TEXT),
        "user_id": st.one_of(st.just(who.peer), PATH_TEXT),
    }
    path = re.sub(
        r"\{(\w+)\}", lambda found: draw(pools.get(found.group(1), PATH_TEXT)), endpoint.path
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
    query = draw(st.dictionaries(st.sampled_from(QUERY_KEYS), st.text(max_size=30), max_size=4))
    if query and endpoint.method == "GET":
        path += "?" + urllib.parse.urlencode(query)
    return RestCase(endpoint.method, path, headers, draw(st.one_of(BODIES, who.bodies())))


QUERY_KEYS = ["query", "limit", "order", "before", "after", "cursor", "has_link", "x", ""]


async def check_rest(
    http: aiohttp.ClientSession, who: Fuzzer, case: RestCase, outcomes: Outcomes
) -> None:
    outcomes.cases += 1
    headers = {k: v.replace("TOKEN", who.token) for k, v in case.headers.items()}
    what = f"{case.method} {case.path} {case.headers.get('Content-Type')!r} {case.body[:80]!r}"
    try:
        async with http.request(
            case.method, who.url + case.path, headers=headers, data=case.body
        ) as r:
            body = await r.read()
            status = r.status
    except TimeoutError:
        outcomes.failures.append(f"no answer within {ANSWER_S:.0f} s: {what}")
        return
    outcomes.answers[str(status)] += 1
    if status >= 500:
        outcomes.failures.append(f"{status} for {what}")
    elif status >= 400 and not documented_error(body):
        outcomes.failures.append(f"{status} off the error shape {body[:120]!r}: {what}")


def documented_error(body: bytes) -> bool:
    """`{"error": {"code", "message"}}` with a code of ErrorCode."""
    try:
        error = json.loads(body)["error"]
        return error["code"] in CODES and isinstance(error["message"], str)
    except (ValueError, KeyError, TypeError):
        return False


def run_rest(who: Fuzzer, cases: int) -> dict[str, Any]:
    outcomes = Outcomes()
    began = time.monotonic()
    generated: list[RestCase] = []

    @settings(
        max_examples=cases, database=None, deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(rest_cases(who))
    def collect(case: RestCase) -> None:
        generated.append(case)

    collect()

    async def send_all() -> None:
        timeout = aiohttp.ClientTimeout(total=ANSWER_S)
        limit = asyncio.Semaphore(REST_CONCURRENCY)
        async with aiohttp.ClientSession(timeout=timeout) as http:

            async def one(case: RestCase) -> None:
                async with limit:
                    await check_rest(http, who, case, outcomes)

            await asyncio.gather(*(one(case) for case in generated))

    asyncio.run(send_all())
    return outcomes.summary("rest: any body, content type, token and query", began)


def schemathesis_run(who: Fuzzer, examples: int, report_dir: Path) -> dict[str, Any]:
    """Schemathesis over /openapi.json: every operation (but revoking a device, which would
    revoke the run's own token), authenticated, its checks for server errors and for every
    answer's status, content type and schema (errors' too)."""
    report_dir.mkdir(parents=True, exist_ok=True)
    report = report_dir / "schemathesis.xml"
    config = report_dir / "schemathesis.toml"
    # The path parameters are this person's conversation and peer, so that the operations
    # on members reach past "not found" (run_rest sends any path).
    config.write_text(
        f'[parameters]\n"path.cid" = "{who.conversation_id}"\n"path.user_id" = "{who.peer}"\n'
    )
    began = time.monotonic()
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(config),
        "run",
        f"{who.url}/openapi.json",
        "--header",
        f"Authorization: Bearer {who.token}",
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
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=3600, cwd=report_dir
    )
    output = done.stdout + done.stderr
    cases = re.search(r"(\d+) generated", output)
    return {
        "target": "rest: schemathesis over /openapi.json",
        "cases": int(cases.group(1)) if cases else None,
        "seconds": round(time.monotonic() - began, 1),
        "exit_code": done.returncode,
        "summary": output[-3000:],
    }


BENCH_CASES = 10_000
FUZZ_SLOT = 3
"""The fuzz's edge ports (bench/services.py `edge_port`: 0 end to end, 1 idle, 2 backfill)."""
SCHEMATHESIS_PER_OPERATION = 900
"""Examples per operation and phase: about 10,000 cases in all over the 11 operations."""


def run(out_dir: Path, cases: int = BENCH_CASES) -> dict[str, Any]:
    """Each edge target with `cases` cases on a platform of its own (bench/platform.py: the
    configured cluster, or a local one), two edges; writes edge-fuzz.json."""
    outcomes = []
    with (
        bench_platform() as settings,
        parley_running(
            settings,
            stem="fuzz",
            edge_nodes=2,
            edge_port=edge_port(FUZZ_SLOT),
        ) as (_, urls),
    ):
        who = asyncio.run(fuzzer(urls[0]))
        print(f"[fuzz] websocket: {cases} frames", flush=True)
        outcomes.append(run_ws(who, cases))
        print(f"[fuzz] rest: {cases} requests", flush=True)
        outcomes.append(run_rest(replace(who, url=urls[1]), cases))
        print(f"[fuzz] schemathesis: about {cases} cases", flush=True)
        outcomes.append(schemathesis_run(who, SCHEMATHESIS_PER_OPERATION, out_dir / "schemathesis"))
    for outcome in outcomes:
        failed = outcome.get("failure_count") or outcome.get("exit_code")
        print(f"[fuzz] {outcome['target']}: {outcome['cases']} cases, failed: {failed}")
    summary = {"benchmark": "edge-fuzz", "cases_per_target": cases, "targets": outcomes}
    results.write(summary, out_dir, "edge-fuzz")
    return summary
