"""The proofs of a redaction and of an erasure, on the real broker with every process and two
edge nodes (docs/compliance.md, "The proof").

A redacted message leaves every device (a push), the history pages, search and every file;
the officer redacts it through the compliance REST, which answers bad input with a clear
error and audits the action; the archive process scrubs the message's archived copy.
An erasure: a person's messages, edit, display name and device name
carry a unique canary, and a file they sent another in its bytes; the person is erased through
the operator's command line (`python -m edge.operator erase`); then every byte of every file
Parley and its platform wrote is scanned for the canaries (UTF-8, UTF-16, base64) and for the
destroyed key: 0 hits (the traces included: every process exports its spans to its log),
while the other person's messages in the same conversations stay
readable. Their files (that erasure asked through the compliance REST): every object of each
of their media leaves the bucket, the media topic says `MediaDeleted(ERASED)`, and nobody gets
a link to them, while another person's file in the same conversation is still served.

What is flushed before the last scan, and how: the processes are stopped (RocksDB closes its
stores, process logs are closed); the search view purged the segments that held the person's
documents when it applied the erasure (projections/search/purge.py). Nothing is compacted
by hand: no plaintext reaches RocksDB or the broker (the bodies and names are sealed before
they become commands), which the scan before the erasure checks too. The archive runs, and
the person's events are in its Parquet objects before the erasure: it keeps them sealed,
and they are not rewritten (their key is destroyed).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from yarl import URL

from client.errors import ApiError
from client.sdk import ParleyClient
from edge.protocol.events import MessageSent
from infra.settings import PlatformSettings
from kafkalog.cold.reader import ArchiveReader
from kafkalog.cold.settings import ArchiveLocation
from media.keys import media_prefix, upload_key
from objectstore.client import connect
from objectstore.settings import S3Settings
from projections.archive.scrub import EMPTY_BODY
from schemas import codec
from schemas import models as m
from schemas.topics import TopicSpec
from sealing.bodies import BodyOpener
from sealing.envelope import Sealer
from sealing.keystore import SqliteKeyStore
from sealing.ring import KeyRing
from tests import media_files as f
from tests.e2e.cluster import ParleyCluster, eventually
from tests.e2e.officers import all_entries, call, officer
from tests.e2e.people import Person, close_all, create, person
from tests.e2e.scan import key_forms, scan, text_forms
from tests.e2e.ws import RawDevice, send_frame
from tests.integration.log import BOOTSTRAP, decoded, read_committed

DEADLINE_S = 60.0
CLUSTER_PROCESSES = ("projections.archive",)
CLUSTER_ENV = {"PARLEY_ARCHIVE_MAX_AGE_S": "1", "PARLEY_TRACE_EXPORTER": "console"}
"""The archive runs too, cutting objects within a second, so that the erased person's events
are in Parquet objects in the S3 server's storage before the erasure; every process exports
its spans to its log, so that the traces are scanned with the rest."""
PASSWORD = "correct horse battery"
Body = m.PlainBody | m.SealedBody | m.EncryptedBody


def canary() -> str:
    """One token to the search view's tokenizer (lowercase letters and digits, under 40)."""
    return f"canary{uuid.uuid4().hex[:24]}"


def canary_forms(secret: str) -> dict[str, bytes]:
    """The forms to scan for: those of the canary's random part. The search index's doc
    store is LZ4-compressed, so a canary whose block holds an earlier canary keeps only its
    random part as a literal ("canary" becomes a back-reference): a scan for the whole
    token would miss it (a false 0 hit) or not find a kept one (seen in a run)."""
    return text_forms(secret.removeprefix("canary"))


def roots(cluster: ParleyCluster) -> list[Path]:
    """Every directory Parley and its platform write: the cluster's state (views, key store)
    and process logs, and the platform's data dir (broker log segments and indexes, the S3
    server's storage, the platform's logs)."""
    return [cluster.work, PlatformSettings().data_dir]


def kafka_hits(hits: list[tuple[str, str]], data_dir: Path) -> list[tuple[str, str]]:
    return [(f, form) for f, form in hits if Path(f).is_relative_to(data_dir)]


async def register(http: aiohttp.ClientSession, base: str, name: str, secret: str) -> Person:
    """A person whose display name and device name hold the secret."""
    async with http.post(
        f"{base}/v1/accounts",
        json={"username": name, "password": PASSWORD, "display_name": f"Ann {secret}"},
    ) as response:
        assert response.status == 201, await response.text()
    async with http.post(
        f"{base}/v1/sessions",
        json={"username": name, "password": PASSWORD, "device_name": f"phone {secret}"},
    ) as response:
        assert response.status == 201, await response.text()
        token = (await response.json())["token"]
    who = Person(name, tokens=[token])
    who.devices.append(await RawDevice.connect(http, base, token))
    return who


async def search(http: aiohttp.ClientSession, base: str, who: Person, query: str) -> list[Any]:
    async with http.get(
        f"{base}/v1/search",
        params={"query": query},
        headers={"Authorization": f"Bearer {who.tokens[0]}"},
    ) as response:
        body = await response.json()
        assert response.status == 200, body
        hits: list[Any] = body["hits"]
        return hits


async def history(device: RawDevice, cid: str) -> str:
    page = await device.request({"type": "fetch_history", "conversation_id": cid, "limit": 100})
    assert page["type"] == "response", page
    return json.dumps(page)


def archived_through(cluster: ParleyCluster, highs: dict[int, int]) -> bool:
    """The archive holds the events topic up to `highs` (the high watermarks once the person's
    events were in; the last offset may be a transaction's commit marker, never archived)."""
    reader = ArchiveReader.at(ArchiveLocation(topic_prefix=cluster.prefix), "events")
    chains = reader.chains(sorted(highs))
    return all(high == 0 or (chains[p].end or 0) >= high - 1 for p, high in highs.items())


def high_watermarks(cluster: ParleyCluster, topic: TopicSpec | None = None) -> dict[int, int]:
    """The end of each partition of `topic` (the events topic unless named)."""
    spec = topic or cluster.topics.events
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": f"{cluster.prefix}-probe"})
    try:
        return {
            p: consumer.get_watermark_offsets(TopicPartition(spec.name, p), timeout=10)[1]
            for p in range(spec.partitions)
        }
    finally:
        consumer.close()


def past_the_media_topics_retention(cluster: ParleyCluster) -> None:
    """The media topic drops every record it holds, as its 7 days of retention would, and
    the media sweeper starts again: nothing it reads knows the media declared so far."""
    ends = high_watermarks(cluster, cluster.topics.media)
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    deleting = admin.delete_records(
        [TopicPartition(cluster.topics.media.name, p, end) for p, end in ends.items()]
    )
    for future in deleting.values():
        future.result(30)
    cluster.stop_process("media-sweep")
    cluster.start_media("media-sweep")


def person_key(cluster: ParleyCluster, user: str) -> bytes:
    path = cluster.work / "state" / f"{cluster.prefix}-keys.sqlite"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        row = db.execute("SELECT material FROM keys WHERE id = ?", (f"p/{user}",)).fetchone()
    assert row is not None and row[0] is not None, f"no live key for {user}"
    key: bytes = row[0]
    return key


def operator(cluster: ParleyCluster, *args: str) -> dict[str, Any]:
    """The operator's command line, as a process of its own."""
    done = subprocess.run(
        [sys.executable, "-m", "edge.operator", *args, "--officer", "op1", "--case", "C-7"],
        env={**cluster.env, "PARLEY_EDGE_NODE": "0"},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_a_redacted_message_leaves_views_search_and_files(cluster: ParleyCluster) -> None:
    asyncio.run(redaction_proof(cluster))


async def redaction_proof(cluster: ParleyCluster) -> None:
    secret, kept = canary(), canary()
    case = f"CASE-{uuid.uuid4().hex[:8]}"
    async with aiohttp.ClientSession() as http:
        base = cluster.url(0)
        _, token = await officer(http, cluster, case)
        ann = await person(http, cluster, "ann")
        bob = await person(http, cluster, "bob")
        cid = (await create(http, cluster, ann, "direct", [bob]))["conversation_id"]
        target = await ann.devices[0].request(send_frame(cid, f"oops {secret}", "r1"))
        seq = target["result"]["seq"]
        after = await ann.devices[0].request(send_frame(cid, f"fine {kept}", "r2"))
        assert after["type"] == "response", after

        async def indexed() -> bool:
            return len(await search(http, base, bob, secret)) == 1

        await eventually(indexed, "the message in search", DEADLINE_S)

        answer = await redacted(http, cluster, (token, case), (cid, seq))
        assert answer["seq"] > seq

        # Every device is told to drop it: the event arrives as a push.
        def told(device: RawDevice) -> bool:
            return any(
                p["type"] == "event"
                and p["event"]["type"] == "MessageRedacted"
                and p["event"]["target_seq"] == seq
                for p in device.pushes
            )

        for device in (ann.devices[0], bob.devices[0]):
            await device.wait_for(functools.partial(told, device), timeout=DEADLINE_S)

        async def gone_from_search() -> bool:
            return await search(http, base, bob, secret) == []

        await eventually(gone_from_search, "the message gone from search", DEADLINE_S)
        assert len(await search(http, base, bob, kept)) == 1
        for device in (ann.devices[0], bob.devices[0]):
            page = await history(device, cid)
            assert secret not in page and kept in page and "MessageRedacted" in page, page

        async def no_file_holds_it() -> bool:
            return await asyncio.to_thread(scan, roots(cluster), canary_forms(secret)) == []

        await eventually(no_file_holds_it, "no file to hold the redacted text", DEADLINE_S)

        # The archive process scrubbed it: its archived send holds an empty sealed body now,
        # the next message its sealed body still (projections/archive/scrub.py).
        async def scrubbed() -> bool:
            bodies = await asyncio.to_thread(archived_bodies, cluster, cid)
            return bodies.get(seq) == EMPTY_BODY and bodies.get(seq + 1) not in (None, EMPTY_BODY)

        await eventually(scrubbed, "the archive to scrub the redacted message", DEADLINE_S)
        await close_all(ann, bob)


def archived_bodies(cluster: ParleyCluster, cid: str) -> dict[int, Body]:
    """The bodies of the messages of `cid` the archive's raw objects hold, by seq."""
    reader = ArchiveReader.at(ArchiveLocation(topic_prefix=cluster.prefix), "events")
    bodies: dict[int, Body] = {}
    for partition in range(cluster.topics.events.partitions):
        for record in reader.records(partition):
            event = codec.decode(record.value)
            if isinstance(event, m.MessageSent) and event.meta.conversation_id == cid:
                bodies[event.meta.seq] = event.body
    return bodies


async def redacted(
    http: aiohttp.ClientSession,
    cluster: ParleyCluster,
    officer_of: tuple[str, str],
    at: tuple[str, int],
) -> dict[str, Any]:
    """The officer redacts `seq` through the REST (node 1), after bad requests that each get a
    clear error, never a 500; the audit holds the redaction, begun and ended."""
    (token, case), (cid, seq) = officer_of, at
    url = f"{cluster.url(1)}/v1/compliance/redactions"
    body = {"case_ref": case, "conversation_id": cid, "seq": seq, "reason": "court order"}
    for bad, answer in (
        ({"conversation_id": "dm-nobody-here"}, (404, "not_found")),
        ({"seq": seq + 1000}, (404, "no_such_message")),
        ({"seq": 0}, (400, "invalid")),
        ({"reason": ""}, (400, "invalid")),
        ({"case_ref": "not a case"}, (400, "invalid")),
    ):
        status, refused = await call(http, "POST", url, token, {**body, **bad})
        assert (status, refused["error"]["code"]) == answer, (bad, refused)
    caseless = {k: v for k, v in body.items() if k != "case_ref"}
    status, refused = await call(http, "POST", url, token, caseless)
    assert (status, refused["error"]["code"]) == (400, "invalid"), refused
    assert "case_ref" in refused["error"]["message"]
    retention = f"{cluster.url(0)}/v1/compliance/retention/{cid}"
    status, kept = await call(http, "PUT", retention, token, {"case_ref": case, "keep_days": 30})
    assert status == 200 and kept["seq"] > seq, kept
    status, again = await call(http, "PUT", retention, token, {"case_ref": case, "keep_days": 30})
    assert (status, again["seq"]) == (200, None), again
    status, answer = await call(http, "POST", url, token, body)
    assert status == 200, answer
    entries = await all_entries(http, cluster.url(0), token, case, target=f"conversation:{cid}")
    assert [
        (e["action"], e["phase"], e.get("outcome"), e["parameters"], e.get("detail"))
        for e in entries
    ] == [
        ("redaction.create", "started", None, {"seq": str(seq + 1000)}, None),
        ("redaction.create", "ended", "failed", {}, "no_such_message"),
        ("retention.set", "started", None, {"keep_days": "30"}, None),
        ("retention.set", "ended", "succeeded", {}, f"seq={kept['seq']}"),
        ("retention.set", "started", None, {"keep_days": "30"}, None),
        ("retention.set", "ended", "succeeded", {}, "seq=None"),
        ("redaction.create", "started", None, {"seq": str(seq)}, None),
        ("redaction.create", "ended", "succeeded", {}, f"seq={answer['seq']}"),
    ], entries
    found: dict[str, Any] = answer
    return found


def test_an_erased_persons_files_are_deleted_and_never_served_again(
    cluster: ParleyCluster,
) -> None:
    asyncio.run(erased_files(cluster))


async def erased_files(cluster: ParleyCluster) -> None:
    """Ann's attached photo (from before the media topic's retention: the topic no longer
    holds it), her upload left half-way (a staging object only) and her upload completed
    but never attached: after her erasure, no object of any of them is in the bucket, the
    media topic says `MediaDeleted(ERASED)` of each, Bo is refused a link to her photo
    (`not_found`) and a link he had before reads nothing; Bo's own photo in the same
    conversation is still served."""
    base = cluster.url(0)
    ann = ParleyClient(base, request_timeout=30.0)
    bo = ParleyClient(cluster.url(1), request_timeout=30.0)
    names = [f"{who}{uuid.uuid4().hex[:6]}" for who in ("ann", "bo")]
    for client, name in zip((ann, bo), names, strict=True):
        await client.register(name, PASSWORD)
        await client.login(name, PASSWORD)
    cid = (await ann.create_direct(names[1])).conversation_id
    hers = await ann.send_file(cid, f.image_bytes("PNG", 300, 200), file_name="hers.png")
    his = await bo.send_file(cid, f.image_bytes("PNG", 200, 100), file_name="his.png")
    (photo,) = await attached(bo, cid, hers)
    (own,) = await attached(bo, cid, his)
    await asyncio.to_thread(past_the_media_topics_retention, cluster)
    unattached = (await ann.upload_file(b"kept aside\n", content_type="text/plain")).media_id
    staged = await half_uploaded(base, ann, b"never completed\n")
    ann_media = {photo, unattached, staged}
    before = await bo.download_links(photo)
    assert (await fetched(before.variants[0].url)) == 200
    for media_id in ann_media:
        assert await asyncio.to_thread(objects_of, media_id), f"{media_id} has objects first"

    token, erasure_id = await officer_erases(cluster, names[0], cid, photo)

    async def erased() -> bool:
        return await asyncio.to_thread(erased_media, cluster) >= ann_media

    await eventually(erased, "MediaDeleted(ERASED) of each of ann's media", DEADLINE_S)

    async def erased_in_history() -> bool:
        page = await bo.fetch_history(cid, after=0, limit=100)
        return any(e.event.type == "SenderContentErased" for e in page.events)

    await eventually(erased_in_history, "the erasure in bo's history", DEADLINE_S)
    for media_id in ann_media:
        assert await asyncio.to_thread(objects_of, media_id) == [], media_id
    with pytest.raises(ApiError) as refused:
        await bo.download_links(photo)
    assert refused.value.code == "not_found"
    assert (await fetched(before.variants[0].url)) == 404, "a link handed out before reads nothing"
    assert own not in await asyncio.to_thread(erased_media, cluster)
    kept = await bo.download_links(own)
    assert {await fetched(v.url) for v in kept.variants} == {200}, "bo's photo is still served"
    await report_reads_clean(cluster, token, erasure_id, bo.token or "")
    await ann.close()
    await bo.close()


async def report_reads_clean(
    cluster: ParleyCluster, token: str, erasure_id: str, bystander: str
) -> None:
    """The erasure's report read back on the other edge node: every store with nothing of
    the person left once the views have applied the erasure and the sweeper deleted the
    files; refused to a caller with no token, a member and an officer of another case,
    `not_found` for an id that names no erasure."""
    async with aiohttp.ClientSession() as http:
        url = f"{cluster.url(0)}/v1/compliance/erasures/{erasure_id}"
        reports: list[Any] = []

        async def complete() -> bool:
            status, report = await call(http, "GET", url, token)
            assert status == 200, report
            reports.append(report)
            return bool(report["complete"])

        await eventually(complete, "the erasure's report complete", DEADLINE_S)
        stores = {s["store"]: (s["found"], s["left"]) for s in reports[-1]["stores"]}
        assert stores.pop("accounts")[0] >= 1, "her devices, all revoked"
        assert stores == {
            "key_store": (1, 0),
            "log": (1, 0),
            "history_view": (1, 0),
            "inbox_view": (1, 0),
            "search_index": (1, 0),
            "media": (1, 0),
            "archive": (1, 0),
        }, reports[-1]
        assert (await call(http, "GET", url))[0] == 401, "no token"
        _, elsewhere = await officer(http, cluster, f"CASE-{uuid.uuid4().hex[:8]}")
        for who in (bystander, elsewhere):
            status, refused = await call(http, "GET", url, who)
            assert (status, refused["error"]["code"]) == (403, "forbidden"), refused
        unknown = f"{cluster.url(0)}/v1/compliance/erasures/erasure-{uuid.uuid4().hex}"
        status, missing = await call(http, "GET", unknown, token)
        assert (status, missing["error"]["code"]) == (404, "not_found"), missing


async def officer_erases(
    cluster: ParleyCluster, user: str, cid: str, photo: str
) -> tuple[str, str]:
    """An officer erases `user` through the REST (bad requests refused first), then again
    with the report's erasure id; both audited. The officer's token and the erasure id."""
    case = f"CASE-{uuid.uuid4().hex[:8]}"
    async with aiohttp.ClientSession() as http:
        _, token = await officer(http, cluster, case)
        url = f"{cluster.url(1)}/v1/compliance/erasures"
        for bad, refused_as in (
            ({"case_ref": case, "user_id": f"nobody{uuid.uuid4().hex[:6]}"}, (400, "invalid")),
            ({"user_id": user}, (400, "invalid")),
            ({"case_ref": case, "user_id": user, "erasure_id": "../x"}, (400, "invalid")),
        ):
            status, refused = await call(http, "POST", url, token, bad)
            assert (status, refused["error"]["code"]) == refused_as, (bad, refused)
        erase = {"case_ref": case, "user_id": user}
        status, report = await call(http, "POST", url, token, erase)
        assert status == 200, report
        assert report["account_seq"] is not None and report["key_destroyed"] is True, report
        assert [c["conversation_id"] for c in report["conversations"]] == [cid], report
        assert report["media"] == [photo], "the files she attached, asked of the sweeper"
        repeat = {"case_ref": case, "user_id": user, "erasure_id": report["erasure_id"]}
        status, again = await call(http, "POST", url, token, repeat)
        assert status == 200, again
        # A repeat does nothing twice: the same events (their seqs), no key left to destroy;
        # it asks again for her files (the sweeper deletes nothing twice).
        assert again == {**report, "key_destroyed": False}, again
        entries = await all_entries(http, cluster.url(0), token, case, target=f"user:{user}")
        assert [(e["action"], e["phase"], e.get("outcome")) for e in entries] == [
            ("erasure.create", "started", None),
            ("erasure.create", "ended", "succeeded"),
        ] * 2, entries
    erasure_id: str = report["erasure_id"]
    return token, erasure_id


async def attached(reader: ParleyClient, cid: str, seq: int) -> list[str]:
    """The media ids the message at `seq` attaches, as `reader` reads it, once the history
    view has it (a send is answered before the view applies it: a run found none yet)."""
    pages: list[Any] = []

    async def shown() -> bool:
        pages.append(await reader.fetch_history(cid, after=seq - 1, limit=1))
        return bool(pages[-1].events)

    await eventually(shown, f"seq {seq} in the history view", DEADLINE_S)
    sent = pages[-1].events[0].event
    assert isinstance(sent, MessageSent), sent
    return [a.media_id for a in sent.attachments]


async def half_uploaded(base: str, who: ParleyClient, data: bytes) -> str:
    """An upload declared and PUT, never completed: its bytes are only in staging."""
    headers = {"Authorization": f"Bearer {who.token}"}
    declaration = {
        "size_bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "content_type": "text/plain",
        "file_name": "draft.txt",
    }
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/v1/media", json=declaration, headers=headers) as answer:
            ticket = await answer.json()
            assert answer.status == 201, ticket
        (part,) = ticket["parts"]
        url = URL(part["url"], encoded=True)
        async with http.put(url, data=data, headers=ticket["headers"]) as answer:
            assert answer.status == 200, await answer.text()
    media_id: str = ticket["media_id"]
    return media_id


async def fetched(url: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(URL(url, encoded=True)) as answer:
        await answer.read()
        return answer.status


def objects_of(media_id: str) -> list[str]:
    """Every object of the media in the bucket: its staging key and what was published."""
    settings = S3Settings()
    client = connect(settings)
    found = []
    for prefix in (upload_key(media_id), media_prefix(media_id)):
        listed = client.list_objects_v2(Bucket=settings.s3_bucket, Prefix=prefix)
        found += [o["Key"] for o in listed.get("Contents", [])]
    return found


def erased_media(cluster: ParleyCluster) -> set[str]:
    """The media the media topic says were deleted for an erasure."""
    events = decoded(read_committed(cluster.topics.media.name, expected=1))
    return {
        e.meta.media_id
        for e in events
        if isinstance(e, m.MediaDeleted) and e.reason == m.MediaDeletionReason.ERASED
    }


def test_an_erased_person_leaves_no_readable_copy_in_any_file(cluster: ParleyCluster) -> None:
    asyncio.run(erasure_proof(cluster))


async def erasure_proof(cluster: ParleyCluster) -> None:
    secret, kept, filed_secret = canary(), canary(), canary()
    data_dir = PlatformSettings().data_dir
    async with aiohttp.ClientSession() as http:
        base = cluster.url(0)
        ann = await register(http, base, f"ann{uuid.uuid4().hex[:6]}", secret)
        bob = await person(http, cluster, "bob")
        direct = (await create(http, cluster, ann, "direct", [bob]))["conversation_id"]
        group = (await create(http, cluster, ann, "group", [bob], name="g"))["conversation_id"]
        sent = []
        for i, cid in enumerate((direct, direct, group)):
            answer = await ann.devices[0].request(send_frame(cid, f"hi {secret} {i}", f"a{i}"))
            assert answer["type"] == "response", answer
            sent.append(answer)
        edit = await ann.devices[0].request(
            {
                "type": "edit",
                "conversation_id": direct,
                "seq": sent[0]["result"]["seq"],
                "body": {"kind": "plain", "text": f"edited {secret}"},
            }
        )
        assert edit["type"] == "response", edit
        for i, cid in enumerate((direct, group)):
            answer = await bob.devices[0].request(send_frame(cid, f"yo {kept} {i}", f"b{i}"))
            assert answer["type"] == "response", answer
        file_id = await file_of(base, (ann, bob), direct, filed_secret, f"id-{secret}.txt")

        # Sealed in the log, opened on the way out: the search view indexed the opened text,
        # bob reads it in plain, and the broker's files never saw it.
        async def indexed() -> bool:
            return len(await search(http, base, bob, secret)) == 3

        await eventually(indexed, "ann's messages in search", DEADLINE_S)
        assert f"hi {secret} 1" in await history(bob.devices[0], direct)
        highs = await asyncio.to_thread(high_watermarks, cluster)

        async def archived() -> bool:
            return await asyncio.to_thread(archived_through, cluster, highs)

        await eventually(archived, "ann's events in the archive's Parquet objects", DEADLINE_S)
        before = await asyncio.to_thread(scan, roots(cluster), canary_forms(secret))
        search_dir = cluster.work / "state" / f"{cluster.prefix}-search"
        assert {f for f, _ in before if Path(f).is_relative_to(search_dir)}, (
            f"the scan finds the canary where it is by design, the search index: {before}"
        )
        assert kafka_hits(before, data_dir) == [], "plaintext reached the broker or S3"
        await asyncio.to_thread(only_in_objects_of, cluster, file_id, filed_secret)
        key = person_key(cluster, ann.name)
        key_files = {f for f, _ in await asyncio.to_thread(scan, roots(cluster), key_forms(key))}
        assert key_files == {str(cluster.work / "state" / f"{cluster.prefix}-keys.sqlite")}

        report = await asyncio.to_thread(operator, cluster, "erase", "--user", ann.name)
        assert report["key_destroyed"] is True
        assert report["account_seq"] is not None
        erased_in = {c["conversation_id"]: c["seq"] for c in report["conversations"]}
        assert set(erased_in) == {direct, group} and all(erased_in.values()), report

        async def gone_from_search() -> bool:
            return await search(http, base, bob, secret) == []

        await eventually(gone_from_search, "ann's messages gone from search", DEADLINE_S)
        await out_of_every_file(cluster, filed_secret, "ann's file deleted from S3's storage")
        assert len(await search(http, base, bob, kept)) == 2, "bob's messages stay"
        for cid in (direct, group):
            page = await history(bob.devices[0], cid)
            assert secret not in page and kept in page, page
        await bob.devices[0].wait_for(
            lambda: any(
                p["type"] == "event" and p["event"]["type"] == "SenderContentErased"
                for p in bob.devices[0].pushes
            ),
            timeout=DEADLINE_S,
        )
        async with http.post(
            f"{base}/v1/sessions",
            json={"username": ann.name, "password": PASSWORD, "device_name": "again"},
        ) as response:
            assert response.status == 401, await response.text()
        async with http.post(
            f"{base}/v1/accounts",
            json={"username": ann.name, "password": PASSWORD, "display_name": "Imposter"},
        ) as response:
            assert response.status == 409, await response.text()
        await close_all(ann, bob)

    cluster.stop()  # RocksDB closes its stores and every process log is closed
    nothing_left(cluster, ann.name, (secret, kept, filed_secret), key, {direct, group})


async def file_of(
    base: str, sender_reader: tuple[Person, Person], cid: str, secret: str, name: str
) -> str:
    """A file named `name` the sender sends to `cid` (with a caption, so that the message
    has a sealed body), whose bytes hold `secret`: its media id, as the reader sees it
    attached, with its name (sealed in the media and events topics, opened by the edge)."""
    sender, reader = sender_reader
    async with (
        ParleyClient(base, sender.tokens[0], request_timeout=30.0) as sending,
        ParleyClient(base, reader.tokens[0], request_timeout=30.0) as reading,
    ):
        data = f"notes {secret}\n".encode()
        seq = await sending.send_file(cid, data, caption="the notes", file_name=name)
        (media_id,) = await attached(reading, cid, seq)
        page = await reading.fetch_history(cid, after=seq - 1, limit=1)
        sent = page.events[0].event
        assert isinstance(sent, MessageSent) and sent.attachments[0].file_name == name, sent
        assert (await reading.download_links(media_id)).file_name == name
    return media_id


async def out_of_every_file(cluster: ParleyCluster, secret: str, what: str) -> None:
    async def gone() -> bool:
        return await asyncio.to_thread(scan, roots(cluster), canary_forms(secret)) == []

    await eventually(gone, what, DEADLINE_S)


def only_in_objects_of(cluster: ParleyCluster, media_id: str, secret: str) -> None:
    """The file's bytes are in its S3 objects (the scan sees them), and nowhere else."""
    found = scan(roots(cluster), canary_forms(secret))
    assert found and all(media_id in path for path, _ in found), found


def nothing_left(
    cluster: ParleyCluster,
    erased: str,
    canaries: tuple[str, str, str],
    key: bytes,
    cids: set[str],
) -> None:
    """Every file scanned once the processes are stopped, then the log read back.
    `canaries`: the erased person's, the other person's, and the one in the erased person's
    file's bytes."""
    secret, kept, filed = canaries
    spans = [p for p in cluster.work.glob("*.log") if '"trace_id"' in p.read_text(errors="replace")]
    assert len(spans) >= 3, f"the traces the scan covers: spans only in {spans}"
    after = scan(roots(cluster), canary_forms(secret))
    assert after == [], f"the canary is still readable in {after}"
    assert scan(roots(cluster), canary_forms(filed)) == [], "the erased person's file is in a file"
    assert scan(roots(cluster), key_forms(key)) == [], "the destroyed key is in a file"
    assert scan(roots(cluster), canary_forms(kept)), "bob's messages stay (the scan still finds)"
    # The log itself: the erased person's sealed bodies no longer open with the host's key
    # store; bob's do.
    opened = log_bodies(cluster, cids)
    assert {text for who, text in opened if who == erased} == {None}
    assert len([who for who, _ in opened if who == erased]) == 5  # 4 sends and an edit
    assert sorted(text or "" for who, text in opened if who != erased) == [
        f"yo {kept} 0",
        f"yo {kept} 1",
    ]


def log_bodies(cluster: ParleyCluster, cids: set[str]) -> list[tuple[str, str | None]]:
    """(sender, text as it opens now) of every send and edit in `cids`, read from the events
    topic; every body must be sealed."""
    events = decoded(read_committed(cluster.topics.events.name, expected=1))
    store = SqliteKeyStore(cluster.work / "state" / f"{cluster.prefix}-keys.sqlite")
    opener = BodyOpener(Sealer(KeyRing(store)))
    found = []
    for event in events:
        message = isinstance(event, m.MessageSent | m.MessageEdited)
        if message and event.meta.conversation_id in cids:
            assert isinstance(event.body, m.SealedBody), event
            sender = event.meta.actor.user_id
            found.append((sender, opener.text(event.body, event.meta.conversation_id, sender)))
    store.close()
    return found
