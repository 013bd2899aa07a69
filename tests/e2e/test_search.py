"""Search through the real API, on the real broker: every process, two edge nodes, the search
view following the log. A person finds a message only if fetch_history would give it to them
right now (docs/search.md, "Access control"); bad input is `invalid` with a reason, never
`internal`; both edge nodes give the same answer; a message is found soon after it is sent."""

from __future__ import annotations

import json
import uuid
from typing import Any

import aiohttp
import pytest

from edge.protocol.answers import SearchPage
from schemas import models as m
from tests.e2e.cluster import ParleyCluster, eventually
from tests.e2e.people import Person, close_all, create, person
from tests.e2e.ws import send_frame
from tests.integration.log import CommandProducer, command_meta

DEADLINE_S = 30.0


def word() -> str:
    """A word no other test of the module sends, so each test counts only its own hits."""
    return f"zq{uuid.uuid4().hex[:10]}"


async def rest_search(
    http: aiohttp.ClientSession,
    cluster: ParleyCluster,
    who: Person,
    params: dict[str, str],
    node: int = 0,
) -> tuple[int, dict[str, Any]]:
    async with http.get(
        f"{cluster.url(node)}/v1/search",
        params=params,
        headers={"Authorization": f"Bearer {who.tokens[0]}"},
    ) as response:
        return response.status, await response.json()


async def found(
    http: aiohttp.ClientSession, cluster: ParleyCluster, who: Person, query: str, **params: str
) -> list[tuple[str, int]]:
    status, body = await rest_search(http, cluster, who, {"query": query, **params})
    assert status == 200, body
    page = SearchPage.model_validate(body)
    return sorted((hit.conversation_id, hit.seq) for hit in page.hits)


async def until_found(
    http: aiohttp.ClientSession,
    cluster: ParleyCluster,
    who: Person,
    query: str,
    expected: list[tuple[str, int]],
) -> None:
    """Wait for the search view (and the history view behind each hit) to show `expected`."""

    async def holds() -> bool:
        return await found(http, cluster, who, query) == sorted(expected)

    await eventually(holds, f"{who.name} to find {expected} for {query!r}", DEADLINE_S)


async def send(who: Person, cid: str, text: str) -> int:
    answer = await who.devices[0].request(send_frame(cid, text, uuid.uuid4().hex))
    assert answer["type"] == "response", answer
    seq: int = answer["result"]["seq"]
    return seq


async def ask(who: Person, frame: dict[str, Any]) -> dict[str, Any]:
    answer = await who.devices[0].request(frame)
    assert answer["type"] == "response", answer
    result: dict[str, Any] = answer["result"]
    return result


async def members(
    http: aiohttp.ClientSession, cluster: ParleyCluster, owner: Person, cid: str, **change: str
) -> int:
    """Add (`add=user`) or remove (`remove=user`) a member over REST; the change's seq."""
    headers = {"Authorization": f"Bearer {owner.tokens[0]}"}
    base = f"{cluster.url(0)}/v1/conversations/{cid}/members"
    if "add" in change:
        request = http.post(base, json={"user_id": change["add"]}, headers=headers)
    else:
        request = http.delete(f"{base}/{change['remove']}", headers=headers)
    async with request as response:
        body = await response.json()
        assert response.status == 200, body
        seq: int = body["seq"]
        return seq


async def test_a_message_is_found_soon_after_it_is_sent_on_both_nodes(
    cluster: ParleyCluster,
) -> None:
    async with aiohttp.ClientSession() as http:
        alice = await person(http, cluster, "alice")
        bob = await person(http, cluster, "bob")
        cid = (await create(http, cluster, alice, "group", [bob], name="s"))["conversation_id"]
        key = word()
        seq = await send(alice, cid, f"the {key} launch is on Tuesday, see https://parley.example")
        await until_found(http, cluster, bob, key, [(cid, seq)])
        bodies = []
        for node in (0, 1):
            status, body = await rest_search(http, cluster, bob, {"query": f'"{key} launch"'}, node)
            assert status == 200, body
            bodies.append(body)
        assert bodies[0] == bodies[1], "two edge nodes answer one search alike"
        [hit] = SearchPage.model_validate(bodies[0]).hits
        snippet = hit.snippet
        assert [snippet[h.start : h.end] for h in hit.highlights] == [key, "launch"]
        assert hit.sender == alice.name and not hit.edited
        by_frame = await ask(bob, {"type": "search", "query": key, "has_link": True})
        [framed] = SearchPage.model_validate(by_frame).hits
        assert (framed.conversation_id, framed.seq, framed.snippet) == (cid, seq, snippet)
        assert await found(http, cluster, bob, key, has_file="true") == []
        await close_all(alice, bob)


async def test_a_stranger_finds_nothing_and_learns_nothing(cluster: ParleyCluster) -> None:
    async with aiohttp.ClientSession() as http:
        alice = await person(http, cluster, "alice")
        bob = await person(http, cluster, "bob")
        mallory = await person(http, cluster, "mallory")
        cid = (await create(http, cluster, alice, "direct", [bob]))["conversation_id"]
        key = word()
        seq = await send(alice, cid, f"the safe code is {key}")
        await until_found(http, cluster, bob, key, [(cid, seq)])
        assert await found(http, cluster, mallory, key) == []
        status, body = await rest_search(
            http, cluster, mallory, {"query": key, "conversation_id": cid}
        )
        assert (status, body["hits"], body["estimated_total"]) == (200, [], 0)
        await close_all(alice, bob, mallory)


async def test_a_member_finds_only_what_was_sent_during_their_tenures(
    cluster: ParleyCluster,
) -> None:
    """Added later: nothing from before. Removed: nothing after. Added again: both tenures,
    not the gap. fetch_history agrees with search on every one of them."""
    async with aiohttp.ClientSession() as http:
        alice = await person(http, cluster, "alice")
        bob = await person(http, cluster, "bob")
        carol = await person(http, cluster, "carol")
        cid = (await create(http, cluster, alice, "group", [bob], name="t"))["conversation_id"]
        key = word()
        before = await send(alice, cid, f"{key} before carol")
        await members(http, cluster, alice, cid, add=carol.name)
        first = await send(alice, cid, f"{key} carol's first tenure")
        await members(http, cluster, alice, cid, remove=carol.name)
        gap = await send(alice, cid, f"{key} while carol is away")
        await members(http, cluster, alice, cid, add=carol.name)
        second = await send(alice, cid, f"{key} carol's second tenure")
        everything = [(cid, s) for s in (before, first, gap, second)]
        await until_found(http, cluster, bob, key, everything)
        await until_found(http, cluster, carol, key, [(cid, first), (cid, second)])
        page = await ask(carol, {"type": "fetch_history", "conversation_id": cid, "limit": 200})
        messages = [e["seq"] for e in page["events"] if e["event"]["type"] == "MessageSent"]
        assert messages == [first, second]
        assert min(e["seq"] for e in page["events"]) > before
        await close_all(alice, bob, carol)


async def test_deleted_hidden_redacted_and_edited_messages(cluster: ParleyCluster) -> None:
    async with aiohttp.ClientSession() as http:
        alice = await person(http, cluster, "alice")
        bob = await person(http, cluster, "bob")
        cid = (await create(http, cluster, alice, "group", [bob], name="d"))["conversation_id"]
        key = word()
        gone = await send(alice, cid, f"{key} deleted for everyone")
        hidden = await send(alice, cid, f"{key} hidden by bob")
        redacted = await send(alice, cid, f"{key} redacted by compliance")
        edited = await send(alice, cid, f"{key} original wording")
        kept = await send(alice, cid, f"{key} left alone")
        every = [(cid, s) for s in (gone, hidden, redacted, edited, kept)]
        await until_found(http, cluster, bob, key, every)

        await ask(
            alice, {"type": "delete", "conversation_id": cid, "seq": gone, "scope": "for_everyone"}
        )
        await ask(bob, {"type": "delete", "conversation_id": cid, "seq": hidden, "scope": "for_me"})
        await ask(
            alice,
            {
                "type": "edit",
                "conversation_id": cid,
                "seq": edited,
                "body": {"kind": "plain", "text": f"{key} revised phrasing"},
            },
        )
        redact(cluster, cid, redacted)
        await until_found(http, cluster, bob, key, [(cid, edited), (cid, kept)])
        await until_found(http, cluster, alice, key, [(cid, hidden), (cid, edited), (cid, kept)])
        assert await found(http, cluster, bob, "original wording") == []
        status, body = await rest_search(http, cluster, bob, {"query": f"{key} revised"})
        [hit] = SearchPage.model_validate(body).hits
        assert (status, hit.seq, hit.edited) == (200, edited, True)
        assert hit.snippet == f"{key} revised phrasing"
        await close_all(alice, bob)


def redact(cluster: ParleyCluster, cid: str, seq: int) -> None:
    """Compliance redacts through the log: no client frame does this."""
    out = CommandProducer(cluster.topics)
    meta = command_meta(cid, "compliance:officer")
    out.send(m.RedactMessage(meta=meta, target_seq=seq, reason="court order"))
    out.flush()


async def test_end_to_end_encrypted_messages_are_never_found(cluster: ParleyCluster) -> None:
    async with aiohttp.ClientSession() as http:
        alice = await person(http, cluster, "alice")
        bob = await person(http, cluster, "bob")
        cid = (await create(http, cluster, alice, "direct", [bob]))["conversation_id"]
        key = word()
        frame = send_frame(cid, "", uuid.uuid4().hex)
        frame["body"] = {
            "kind": "e2ee",
            "scheme": "OLM_V1",
            "sender_key": key,
            "session_id": key,
            "ciphertext": "AAAA",
        }
        await ask(alice, frame)
        plain = await send(alice, cid, f"{key} in the clear")
        await until_found(http, cluster, bob, key, [(cid, plain)])
        await close_all(alice, bob)


HUGE = "x" * 10_240


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"query": HUGE}, "at most 512"),
        ({"query": '"unbalanced'}, "unbalanced quotes"),
        ({"query": "*"}, "lone *"),
        ({"query": "the of and"}, "only stop words"),
        ({"query": "bell\x07ring"}, "control characters"),
        ({"query": "hello", "cursor": "bm90IGEgY3Vyc29y"}, "malformed"),
        ({"query": "hello", "before": "yesterday"}, "before"),
        ({"query": "hello", "limit": "0"}, "limit"),
        ({"query": "hello", "order": "oldest"}, "order"),
        ({"query": "hello", "colour": "blue"}, "colour"),
        ({}, "query"),
    ],
)
async def test_bad_rest_searches_are_invalid_with_a_reason(
    cluster: ParleyCluster, params: dict[str, str], reason: str
) -> None:
    async with aiohttp.ClientSession() as http:
        who = await person(http, cluster, "eve")
        status, body = await rest_search(http, cluster, who, params)
        assert (status, body["error"]["code"]) == (400, "invalid"), body
        assert reason in body["error"]["message"]
        await close_all(who)


async def test_bad_search_frames_are_refused_with_their_id_never_internal(
    cluster: ParleyCluster,
) -> None:
    async with aiohttp.ClientSession() as http:
        alice = await person(http, cluster, "alice")
        bob = await person(http, cluster, "bob")
        cid = (await create(http, cluster, alice, "direct", [bob]))["conversation_id"]
        key = word()
        for i in range(3):
            await send(alice, cid, f"{key} page {i}")
        await until_found(http, cluster, alice, key, [(cid, s) for s in (2, 3, 4)])
        first = await ask(alice, {"type": "search", "query": key, "limit": 1})
        assert first["next_cursor"], first
        mine = await ask(
            alice, {"type": "search", "query": key, "limit": 1, "cursor": first["next_cursor"]}
        )
        assert len(mine["hits"]) == 1 and mine["hits"] != first["hits"]
        device = alice.devices[0]
        refused = {
            "foreign cursor": ({"query": "other", "cursor": first["next_cursor"]}, "invalid"),
            "10 KB query": ({"query": HUGE}, "invalid"),
            "control characters": ({"query": "a\x1bb"}, "invalid"),
            "limit over 50": ({"query": key, "limit": 51}, "bad_frame"),
            "a date that is none": ({"query": key, "after": "soon"}, "bad_frame"),
        }
        for what, (fields, code) in refused.items():
            answer = await device.request({"type": "search", "id": what[:60], **fields})
            assert (answer["type"], answer["id"], answer["code"]) == ("error", what[:60], code), (
                what
            )
        # Bob's cursor is not Alice's: bound to the person as well as the search.
        theirs = await bob.devices[0].request(
            {"type": "search", "query": key, "limit": 1, "cursor": first["next_cursor"]}
        )
        assert (theirs["type"], theirs["code"]) == ("error", "invalid"), theirs
        # A lone surrogate can only come as JSON's escape; the raw text goes as sent. It is
        # not JSON as RFC 8259 has it (docs/protocol.md): `bad_json`, with no id to echo.
        raw = json.dumps({"type": "search", "id": "surrogate", "query": "hi \\ud800 there"})
        await device.ws.send_str(raw.replace("\\\\ud800", "\\ud800"))

        def refused_as_json() -> bool:
            return any(p["type"] == "error" and p["code"] == "bad_json" for p in device.pushes)

        await device.wait_for(refused_as_json)
        answer = next(p for p in device.pushes if p["type"] == "error")
        assert answer["id"] is None, answer
        pong = await device.request({"type": "ping"})
        assert pong["type"] == "response", "the connection still serves after every refusal"
        await close_all(alice, bob)


async def test_a_search_needs_a_token(cluster: ParleyCluster) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{cluster.url(0)}/v1/search", params={"query": "x"}) as response:
            body = await response.json()
        assert (response.status, body["error"]["code"]) == (401, "unauthorized")
