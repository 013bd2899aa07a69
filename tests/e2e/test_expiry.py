"""Disappearing messages end to end, on the real broker with every process and two edge
nodes (docs/compliance.md, "Retention and disappearing messages").

A member sets disappearing messages; a message sent after it carries its lifetime and is
sealed under a bucket key too; when its time comes it leaves both members' devices (a push),
the history pages, search and every file (the search index purges), and the bucket key is
destroyed, so its copies in the log open no more; a message sent before the setting stays.
A killed expiry processor loses no expiry.

Real lifetimes are 24 h or more, so this module's deployment offers one of 4 s too
(`PARLEY_DISAPPEARING_CHOICES_MS`, an operator setting read by edge and sequencer at start)
and cuts buckets every 5 s. The expiry lag (from a message's time until it is gone from each
place) is printed: `pytest -s` shows it.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
import uuid
from typing import Any

import aiohttp
import pytest

from client.errors import ApiError
from client.sdk import ParleyClient
from schemas import models as m
from sealing.bodies import BodyOpener
from sealing.envelope import Sealer
from sealing.keyids import ContentKeyId, bucket_key_id
from sealing.keystore import SqliteKeyStore
from sealing.ring import KeyRing
from tests.e2e.cluster import ParleyCluster, eventually
from tests.e2e.people import Person, close_all, create, person
from tests.e2e.scan import scan, text_forms
from tests.e2e.test_compliance_erasure import roots
from tests.e2e.ws import RawDevice, send_frame
from tests.integration.log import CommandProducer, command_meta, decoded, read_committed

LIFETIME_MS = 4000
CLUSTER_ENV = {
    "PARLEY_DISAPPEARING_CHOICES_MS": f"[{LIFETIME_MS}, 86400000, 604800000, 7776000000]",
    "PARLEY_EXPIRY_BUCKET_S": "5",
    "PARLEY_RETENTION_DAYS": "30",
}
DAY_MS = 86_400_000
DEADLINE_S = 60.0
EXPIRY = "streams.expiry"


def canary() -> str:
    return f"canary{uuid.uuid4().hex[:24]}"


async def put_disappearing(
    http: aiohttp.ClientSession, base: str, who: Person, cid: str, body: Any
) -> tuple[int, dict[str, Any]]:
    async with http.put(
        f"{base}/v1/conversations/{cid}/disappearing",
        data=json.dumps(body),
        headers={"Authorization": f"Bearer {who.tokens[0]}"},
    ) as response:
        return response.status, await response.json()


async def search(http: aiohttp.ClientSession, base: str, who: Person, query: str) -> int:
    async with http.get(
        f"{base}/v1/search",
        params={"query": query},
        headers={"Authorization": f"Bearer {who.tokens[0]}"},
    ) as response:
        body = await response.json()
        assert response.status == 200, body
        return len(body["hits"])


async def page(device: RawDevice, cid: str) -> str:
    answer = await device.request({"type": "fetch_history", "conversation_id": cid, "limit": 100})
    assert answer["type"] == "response", answer
    return json.dumps(answer)


def pushed(device: RawDevice, kind: str) -> list[dict[str, Any]]:
    events = [p["event"] for p in device.pushes if p["type"] == "event"]
    return [e for e in events if e["type"] == kind]


async def edit(device: RawDevice, cid: str, seq: int, text: str) -> dict[str, Any]:
    frame = {"type": "edit", "conversation_id": cid, "seq": seq}
    changed = await device.request({**frame, "body": {"kind": "plain", "text": text}})
    assert changed["type"] == "response", changed
    return changed


async def no_file(cluster: ParleyCluster, *texts: str) -> bool:
    """No file Parley or its platform wrote holds any of `texts` (UTF-8, UTF-16, base64)."""
    forms = {f"{text} {name}": form for text in texts for name, form in text_forms(text).items()}
    return await asyncio.to_thread(scan, roots(cluster), forms) == []


def told_set(device: RawDevice) -> bool:
    return pushed(device, "DisappearingMessagesSet") != []


def event_in_log(cluster: ParleyCluster, cid: str, seq: int) -> Any:
    records = read_committed(cluster.topics.events.name, expected=0, deadline_s=20)
    for event in decoded(records):
        if event.meta.conversation_id == cid and event.meta.seq == seq:
            return event
    raise AssertionError(f"no event at {cid}#{seq} in the log")


def sent_in_log(cluster: ParleyCluster, cid: str, seq: int) -> m.MessageSent:
    event = event_in_log(cluster, cid, seq)
    assert isinstance(event, m.MessageSent)
    return event


def key_store(cluster: ParleyCluster) -> SqliteKeyStore:
    return SqliteKeyStore(cluster.work / "state" / f"{cluster.prefix}-keys.sqlite")


class Clock:
    """How long after `due_ms` (Unix ms) each place was seen without the message."""

    def __init__(self, due_ms: int) -> None:
        self.due_ms = due_ms
        self.lags: dict[str, float] = {}

    async def gone(self, what: str, check: Any) -> None:
        await eventually(check, what, DEADLINE_S)
        self.lags[what] = time.time() - self.due_ms / 1000


def test_bad_settings_get_clear_answers(cluster: ParleyCluster) -> None:
    asyncio.run(bad_settings(cluster))


async def bad_settings(cluster: ParleyCluster) -> None:
    async with aiohttp.ClientSession() as http:
        base = cluster.url(0)
        ann = await person(http, cluster, "ann")
        bob = await person(http, cluster, "bob")
        zed = await person(http, cluster, "zed")
        cid = (await create(http, cluster, ann, "direct", [bob]))["conversation_id"]
        for body, says in (
            ({"after_ms": 12345}, "after_ms is one of 4 s (4000), 1 d (86400000)"),
            ({}, "after_ms"),
            ({"after_ms": "1d"}, "after_ms"),
            ({"after_ms": True}, "after_ms"),
            ({"after_ms": 4000, "extra": 1}, "extra"),
        ):
            status, answer = await put_disappearing(http, base, ann, cid, body)
            assert status == 400 and answer["error"]["code"] == "invalid", (body, answer)
            assert says in answer["error"]["message"], (body, answer)
        status, answer = await put_disappearing(http, base, zed, cid, {"after_ms": LIFETIME_MS})
        # A stranger learns nothing of the conversation: `not_found`, as for every command.
        assert status == 404 and answer["error"]["code"] == "not_found", answer
        status, answer = await put_disappearing(http, base, ann, cid, {"after_ms": None})
        assert status == 200 and answer == {"seq": None}, answer  # off already: no change
        await close_all(ann, bob, zed)


def test_a_disappearing_message_leaves_devices_pages_search_and_its_key(
    cluster: ParleyCluster,
) -> None:
    asyncio.run(disappearing(cluster))


async def disappearing(cluster: ParleyCluster) -> None:
    kept, secret, edited = canary(), canary(), canary()
    async with aiohttp.ClientSession() as http:
        base = cluster.url(0)
        ann = await person(http, cluster, "ann")
        bob = await person(http, cluster, "bob")
        bob.devices.append(await RawDevice.connect(http, cluster.url(1), bob.tokens[0]))
        cid = (await create(http, cluster, ann, "direct", [bob]))["conversation_id"]
        before = await ann.devices[0].request(send_frame(cid, f"before {kept}", "e1"))
        kept_seq = before["result"]["seq"]

        status, answer = await put_disappearing(http, base, ann, cid, {"after_ms": LIFETIME_MS})
        assert status == 200 and answer["seq"] == kept_seq + 1, answer
        sent = await bob.devices[1].request(send_frame(cid, f"gone soon {secret}", "e2"))
        seq = sent["result"]["seq"]
        changed = await edit(bob.devices[1], cid, seq, f"gone too {edited}")

        logged = await asyncio.to_thread(sent_in_log, cluster, cid, seq)
        assert logged.expires_after_ms == LIFETIME_MS
        first = await asyncio.to_thread(sent_in_log, cluster, cid, kept_seq)
        assert first.expires_after_ms == 30 * DAY_MS  # the deployment's default
        assert isinstance(logged.body, m.SealedBody)
        content_key = ContentKeyId.parse(logged.body.key_id)
        assert content_key.bucket_end_s is not None, logged.body.key_id
        due_ms = int(logged.meta.occurred_at.timestamp() * 1000) + LIFETIME_MS
        assert content_key.bucket_end_s * 1000 >= due_ms + 2000
        assert await asyncio.to_thread(opens, cluster, logged) == f"gone soon {secret}"
        the_edit = await asyncio.to_thread(event_in_log, cluster, cid, changed["result"]["seq"])
        assert isinstance(the_edit, m.MessageEdited) and isinstance(the_edit.body, m.SealedBody)
        edit_bucket = ContentKeyId.parse(the_edit.body.key_id).bucket_end_s
        assert edit_bucket is not None and abs(edit_bucket - content_key.bucket_end_s) <= 5
        for device in (*ann.devices, *bob.devices):
            await device.wait_for(functools.partial(told_set, device))
        assert not pushed(bob.devices[0], "MessagesExpired")

        clock = Clock(due_ms)

        def told(device: RawDevice) -> bool:
            return any(seq in e["seqs"] for e in pushed(device, "MessagesExpired"))

        async def devices_told() -> bool:
            return all(told(d) for d in (*ann.devices, *bob.devices))

        async def off_pages() -> bool:
            pages = [await page(d, cid) for d in (ann.devices[0], bob.devices[1])]
            return all(secret not in shown and edited not in shown for shown in pages)

        async def off_search() -> bool:
            found = [await search(http, base, bob, text) for text in (secret, edited)]
            return found == [0, 0]

        async def key_gone() -> bool:
            live = await asyncio.to_thread(lambda: key_store(cluster).ids("x/"))
            return bucket_key_id(content_key.bucket_end_s or 0) not in live

        await asyncio.gather(
            clock.gone("devices told", devices_told),
            clock.gone("history pages", off_pages),
            clock.gone("search", off_search),
            clock.gone("bucket key destroyed", key_gone),
            clock.gone("no file holds it", functools.partial(no_file, cluster, secret, edited)),
        )
        print(f"\nexpiry lag after the message's time (s): {clock.lags}")
        assert all(lag < 60 for lag in clock.lags.values()), clock.lags
        assert min(clock.lags.values()) > -0.5, f"gone before its time: {clock.lags}"
        assert await asyncio.to_thread(opens, cluster, logged) is None
        assert await asyncio.to_thread(opens, cluster, the_edit) is None
        for device in (ann.devices[0], bob.devices[1]):
            shown = await page(device, cid)
            assert kept in shown and "MessagesExpired" in shown, shown
        assert await search(http, base, bob, kept) == 1
        assert not await no_file(cluster, kept), "the scan finds what stays (so it works)"
        await close_all(ann, bob)


def opens(cluster: ParleyCluster, sent: m.MessageSent | m.MessageEdited) -> str | None:
    """The log's copy of the body, opened with the deployment's key store (None: noise)."""
    opener = BodyOpener(Sealer(KeyRing(key_store(cluster), ttl_s=0.001)))
    return opener.text(sent.body, sent.meta.conversation_id, sent.meta.actor.user_id)


def test_a_killed_expiry_processor_loses_no_expiry(cluster: ParleyCluster) -> None:
    asyncio.run(killed(cluster))


async def killed(cluster: ParleyCluster) -> None:
    """The processor is killed (-9) once the message is in its book, and comes back only after
    the message's time: the message expires all the same, once."""
    secret = canary()
    async with aiohttp.ClientSession() as http:
        base = cluster.url(0)
        ann = await person(http, cluster, "ann")
        bob = await person(http, cluster, "bob")
        cid = (await create(http, cluster, ann, "direct", [bob]))["conversation_id"]
        status, _ = await put_disappearing(http, base, ann, cid, {"after_ms": LIFETIME_MS})
        assert status == 200
        sent = await ann.devices[0].request(send_frame(cid, f"still goes {secret}", "k1"))
        seq = sent["result"]["seq"]
        await asyncio.to_thread(cluster.kill, EXPIRY)
        logged = await asyncio.to_thread(sent_in_log, cluster, cid, seq)
        due_ms = int(logged.meta.occurred_at.timestamp() * 1000) + LIFETIME_MS
        await asyncio.sleep(max(due_ms / 1000 - time.time(), 0) + 1)  # down past its time
        assert secret in await page(bob.devices[0], cid)
        await asyncio.to_thread(cluster.start_processor, EXPIRY)
        clock = Clock(due_ms)

        def told() -> bool:
            return any(seq in e["seqs"] for e in pushed(bob.devices[0], "MessagesExpired"))

        async def devices_told() -> bool:
            return told()

        await clock.gone("devices told after a restart", devices_told)
        print(f"\nexpiry lag with the processor down until 1 s after: {clock.lags}")
        assert secret not in await page(bob.devices[0], cid)
        expired = [
            e
            for e in decoded(read_committed(cluster.topics.events.name, expected=0))
            if isinstance(e, m.MessagesExpired) and e.meta.conversation_id == cid
        ]
        assert [e.seqs for e in expired] == [(seq,)], expired
        await close_all(ann, bob)


def test_retention_and_the_default_bound_what_the_edge_seals(cluster: ParleyCluster) -> None:
    asyncio.run(retention(cluster))


async def retention(cluster: ParleyCluster) -> None:
    """The deployment's default (30 days here), then a conversation's retention set by an
    officer (2 days: a `SetRetention` already in the log, as the compliance REST sends it),
    then disappearing messages on top: each message lives the shortest that applies."""
    async with aiohttp.ClientSession() as http:
        base = cluster.url(0)
        ann = await person(http, cluster, "ann")
        bob = await person(http, cluster, "bob")
        cid = (await create(http, cluster, ann, "direct", [bob]))["conversation_id"]
        device = ann.devices[0]

        async def lifetime_of(text: str) -> int | None:
            sent = await device.request(send_frame(cid, text, uuid.uuid4().hex))
            logged = await asyncio.to_thread(sent_in_log, cluster, cid, sent["result"]["seq"])
            return logged.expires_after_ms

        assert await lifetime_of("by default") == 30 * DAY_MS
        officer = CommandProducer(cluster.topics)
        officer.send(m.SetRetention(meta=command_meta(cid, "compliance:olga"), keep_days=2))
        officer.producer.flush(10)

        async def in_pages() -> bool:
            return "RetentionSet" in await page(device, cid)

        await eventually(in_pages, "the retention in the history view", DEADLINE_S)
        assert await lifetime_of("kept two days") == 2 * DAY_MS
        async with ParleyClient(cluster.url(1), ann.tokens[0]) as sdk:  # the SDK's way
            assert await sdk.set_disappearing(cid, 7 * DAY_MS) is not None
            with pytest.raises(ApiError) as refused:
                await sdk.set_disappearing(cid, 2 * DAY_MS)
            assert refused.value.code == "invalid"
        assert await lifetime_of("still two days") == 2 * DAY_MS
        status, _ = await put_disappearing(http, base, ann, cid, {"after_ms": LIFETIME_MS})
        assert status == 200
        assert await lifetime_of("four seconds") == LIFETIME_MS
        await close_all(ann, bob)
