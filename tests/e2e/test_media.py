"""Photos, videos and files through the public API, on every real process (the media
processor and sweeper included), the real broker and the real S3 server: uploads straight to
the store and resumed after a cut, messages that attach them, downloads only for members,
every bad input refused with its stable code, and files encrypted end to end."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image
from yarl import URL

from client.errors import ApiError
from client.pending import PendingUploads, file_key
from client.sdk import ParleyClient
from client.sealing import seal, unseal
from edge.protocol.frames import E2EECiphertext
from media.settings import MIB
from tests import media_files as f
from tests.e2e.cli import parley as run_cli
from tests.e2e.cluster import ParleyCluster, eventually
from tests.integration.log import read_committed
from tests.integration.uploader import put_cut_off

CLUSTER_ENV = {
    "PARLEY_MEDIA_PART_BYTES": str(5 * MIB),
    "PARLEY_MEDIA_QUOTA_BYTES_PER_DAY": str(40 * MIB),
    "PARLEY_MEDIA_DOWNLOAD_URL_TTL_S": "3",
}
PASSWORD = "correct horse battery"


@dataclass
class Someone:
    name: str
    client: ParleyClient

    @property
    def token(self) -> str:
        assert self.client.token is not None
        return self.client.token


@pytest.fixture
async def people(cluster: ParleyCluster) -> AsyncIterator[list[Someone]]:
    """Ana (edge 0), Bo (edge 1), in a 1:1; Cy (edge 0), a stranger to it."""
    found = []
    for node, name in ((0, "ana"), (1, "bo"), (0, "cy")):
        user = f"{name}{uuid.uuid4().hex[:6]}"
        client = ParleyClient(cluster.url(node), request_timeout=30.0)
        await client.register(user, PASSWORD)
        await client.login(user, PASSWORD)
        found.append(Someone(user, client))
    try:
        yield found
    finally:
        for who in found:
            await who.client.close()


async def direct(a: Someone, b: Someone) -> str:
    return (await a.client.create_direct(b.name)).conversation_id


async def rest(
    cluster: ParleyCluster,
    token: str,
    method: str,
    path: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    node: int = 0,
    prefer: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """One control-plane call as any client makes it: the status and the JSON answer."""
    headers = {"Authorization": f"Bearer {token}"} | ({"Prefer": prefer} if prefer else {})
    async with aiohttp.ClientSession() as http:
        kwargs: dict[str, Any] = {"data": raw} if raw is not None else {"json": body}
        async with http.request(
            method, cluster.url(node) + path, headers=headers, **kwargs
        ) as answer:
            assert answer.content_type == "application/json", await answer.text()
            return answer.status, await answer.json()


async def declare(
    cluster: ParleyCluster, who: Someone, data: bytes, content_type: str, name: str = "f"
) -> tuple[int, dict[str, Any]]:
    body = {
        "size_bytes": len(data),
        "sha256": f.digest(data),
        "content_type": content_type,
        "file_name": name,
    }
    return await rest(cluster, who.token, "POST", "/v1/media", body)


async def put_all(ticket: dict[str, Any], data: bytes) -> list[int]:
    statuses = []
    async with aiohttp.ClientSession() as http:
        for part in ticket["parts"]:
            start = (part["number"] - 1) * ticket["part_bytes"]
            chunk = data[start : start + part["size_bytes"]]
            url = URL(part["url"], encoded=True)
            async with http.put(url, data=io.BytesIO(chunk), headers=ticket["headers"]) as answer:
                statuses.append(answer.status)
    return statuses


async def uploaded(
    cluster: ParleyCluster, who: Someone, data: bytes, content_type: str, name: str = "f"
) -> tuple[int, dict[str, Any]]:
    """Declared, sent whole and completed through REST: complete's status and answer."""
    status, ticket = await declare(cluster, who, data, content_type, name)
    assert status == 201, ticket
    assert set(await put_all(ticket, data)) == {200}
    return await rest(cluster, who.token, "POST", f"/v1/media/{ticket['media_id']}/complete")


async def settled(cluster: ParleyCluster, who: Someone, media_id: str) -> dict[str, Any]:
    """The media once processed: the server answers when it is (or after 20 s)."""
    info: dict[str, Any] = {}
    for _ in range(6):
        status, info = await rest(
            cluster, who.token, "GET", f"/v1/media/{media_id}", prefer="wait=20"
        )
        assert status == 200, info
        if info["status"] in ("ready", "rejected", "deleted"):
            return info
    raise AssertionError(f"{media_id} was not processed: {info}")


async def get(url: str) -> tuple[int, bytes, dict[str, str]]:
    async with aiohttp.ClientSession() as http, http.get(URL(url, encoded=True)) as answer:
        return answer.status, await answer.read(), dict(answer.headers)


async def test_a_photo_is_sent_processed_attached_and_served_to_members_only(
    cluster: ParleyCluster, people: list[Someone]
) -> None:
    ana, bo, cy = people
    cid = await direct(ana, bo)
    photo = f.camera_jpeg(1600, 1200, orientation=6)
    seq = await ana.client.send_file(cid, photo, caption="the view", file_name="view.jpg")
    page = await bo.client.fetch_history(cid, after=seq - 1, limit=1)
    (event,) = page.events
    sent = event.event
    assert sent.type == "MessageSent" and event.text == "the view"
    (attached,) = sent.attachments  # type: ignore[union-attr]
    assert (attached.kind, attached.file_name) == ("IMAGE", "view.jpg")
    assert (attached.width, attached.height) == (1200, 1600), "orientation applied"
    assert attached.placeholder and len(attached.placeholder) > 6
    assert {v.name for v in attached.variants} == {"ORIGINAL", "PREVIEW", "THUMBNAIL"}

    links = await bo.client.download_links(attached.media_id)
    thumbnail = next(v for v in links.variants if v.name == "THUMBNAIL")
    status, body, headers = await get(thumbnail.url)
    assert status == 200
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert Image.open(io.BytesIO(body)).size == (thumbnail.width, thumbnail.height)
    assert thumbnail.url.split("?")[0].endswith(".webp"), "an immutable content-addressed key"
    assert b"ParleyCam" not in await bo.client.download(attached.media_id), "EXIF stripped"

    with pytest.raises(ApiError) as stranger:
        await cy.client.download_links(attached.media_id)
    assert stranger.value.code == "not_found"
    with pytest.raises(ApiError) as nobody:
        await cy.client.download_links("m" + "0" * 32)
    assert (nobody.value.code, nobody.value.message) == (stranger.value.code, "no such media")
    status, _ = await rest(cluster, cy.token, "GET", f"/v1/media/{attached.media_id}")
    assert status == 404, "the state of someone else's upload is theirs"


async def test_a_deleted_message_stops_its_file_being_served_and_an_old_link_expires(
    cluster: ParleyCluster, people: list[Someone]
) -> None:
    ana, bo, _ = people
    cid = await direct(ana, bo)
    seq = await ana.client.send_file(cid, f.image_bytes("PNG", 300, 200), file_name="a.png")
    page = await bo.client.fetch_history(cid, after=seq - 1, limit=1)
    media_id = page.events[0].event.attachments[0].media_id  # type: ignore[union-attr]
    links = await bo.client.download_links(media_id)
    assert (await get(links.variants[0].url))[0] == 200

    deleted = await ana.client.delete(cid, seq, for_everyone=True)
    assert deleted is not None

    async def in_history() -> bool:
        page = await bo.client.fetch_history(cid, after=deleted - 1, limit=1)
        return any(e.seq == deleted for e in page.events)

    await eventually(in_history, "the deletion in the history view", 30)
    with pytest.raises(ApiError) as gone:
        await bo.client.download_links(media_id)
    assert gone.value.code == "not_found"
    with pytest.raises(ApiError):
        await ana.client.download_links(media_id)

    # A link handed out before works until it expires (3 s in this module), then never.
    await asyncio.sleep(max(0.0, links.expires_at_ms / 1000 - time.time()) + 1.5)
    assert (await get(links.variants[0].url))[0] == 403


async def test_an_upload_cut_off_midway_is_resumed_with_only_the_missing_parts(
    cluster: ParleyCluster, people: list[Someone]
) -> None:
    ana, bo, _ = people
    data = os.urandom(12 * MIB)
    status, ticket = await declare(cluster, ana, data, "application/octet-stream", "big.bin")
    assert status == 201 and ticket["multipart"] and len(ticket["parts"]) == 3, ticket
    first, second, _ = ticket["parts"]
    assert await put_all({**ticket, "parts": [first]}, data) == [200]
    start = ticket["part_bytes"]
    await asyncio.to_thread(
        put_cut_off, second["url"], data[start : start + second["size_bytes"]], 2 * MIB
    )
    media_id = ticket["media_id"]
    early: dict[str, Any] = {}

    async def refused() -> bool:
        # s3proxy may still be discarding the part cut off: `unavailable`, try again.
        nonlocal early
        path = f"/v1/media/{media_id}/complete"
        status, early = await rest(cluster, ana.token, "POST", path)
        assert status in (409, 503), early
        return status == 409

    await eventually(refused, "complete to answer once the store settled the cut part", 30)
    assert early["error"]["code"] == "incomplete"

    # On the other edge node, as a client that reconnected elsewhere would; s3proxy answers
    # `unavailable` (try again) while it discards the part cut off.
    again: dict[str, Any] = {}

    async def resumed() -> bool:
        nonlocal again
        path = f"/v1/media/{media_id}/upload"
        status, again = await rest(cluster, ana.token, "GET", path, node=1)
        assert status in (200, 503), again
        return status == 200

    await eventually(resumed, "the store to list the parts it kept", 30)
    assert [p["number"] for p in again["parts"]] == [2, 3]
    assert set(await put_all(again, data)) == {200}
    status, done = await rest(cluster, ana.token, "POST", f"/v1/media/{media_id}/complete")
    assert (status, done["status"]) == (200, "uploaded"), done
    assert (await settled(cluster, ana, media_id))["status"] == "ready"
    cid = await direct(ana, bo)
    await ana.client.send(cid, "", attachments=[media_id])
    assert await bo.client.download(media_id) == data


async def test_the_sdk_resumes_an_upload_it_was_told_to(
    cluster: ParleyCluster, people: list[Someone]
) -> None:
    ana, _, _ = people
    data = os.urandom(11 * MIB)
    status, ticket = await declare(cluster, ana, data, "application/octet-stream", "x.bin")
    assert status == 201
    assert await put_all({**ticket, "parts": ticket["parts"][:1]}, data) == [200]
    sent: list[int] = []
    info = await ana.client.upload_file(
        data, file_name="x.bin", resume=ticket["media_id"], on_progress=lambda d, _: sent.append(d)
    )
    assert info.media_id == ticket["media_id"] and info.status == "ready"
    assert sent[-1] == len(data) and min(sent) > 5 * MIB, "part 1 was not sent again"


@pytest.mark.parametrize(
    ("data", "content_type", "code", "status"),
    [
        (b"not a jpeg at all, just words", "image/jpeg", "type_mismatch", 422),
        (f.image_bytes("JPEG") + f.zip_of({"a.txt": b"x"}), "image/jpeg", "polyglot", 422),
        (f.gif_javascript_polyglot(), "image/gif", "polyglot", 422),
        (b"MZ" + b"\x00" * 200, "application/octet-stream", "dangerous_type", 422),
        (b"<html><script>alert(1)</script></html>", "text/plain", "dangerous_type", 422),
    ],
    ids=["fake-jpeg", "jpeg-zip", "gif-js", "exe", "html"],
)
async def test_bytes_that_are_not_what_they_claim_are_refused_at_complete(  # noqa: PLR0917
    cluster: ParleyCluster,
    people: list[Someone],
    data: bytes,
    content_type: str,
    code: str,
    status: int,
) -> None:
    ana = people[0]
    answered, body = await uploaded(cluster, ana, data, content_type)
    assert (answered, body["error"]["code"]) == (status, code), body


@pytest.mark.parametrize(
    ("data", "content_type", "code"),
    [
        (f.png_bomb(10_000), "image/png", "decompression_bomb"),
        (f.EICAR, "application/octet-stream", "malware"),
        (f.zip_of({"readme.txt": b"hi", "eicar.com": f.EICAR}), "application/zip", "malware"),
    ],
    ids=["bomb", "eicar", "eicar-in-zip"],
)
async def test_the_processor_refuses_and_the_file_cannot_be_attached(
    cluster: ParleyCluster, people: list[Someone], data: bytes, content_type: str, code: str
) -> None:
    ana, bo, _ = people
    status, done = await uploaded(cluster, ana, data, content_type)
    assert (status, done["status"]) == (200, "uploaded"), done
    info = await settled(cluster, ana, done["media_id"])
    assert (info["status"], info["error"]["code"]) == ("rejected", code), info
    cid = await direct(ana, bo)
    with pytest.raises(ApiError) as refused:
        await ana.client.send(cid, "look", attachments=[done["media_id"]])
    assert refused.value.code == "not_found"


async def test_bad_declarations_get_their_codes(
    cluster: ParleyCluster, people: list[Someone]
) -> None:
    ana = people[0]
    good = {"size_bytes": 10, "sha256": "0" * 64, "content_type": "image/png", "file_name": "a"}
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"size_bytes": 0}, 400, "empty_file"),
        ({"size_bytes": 200 * MIB}, 413, "too_large"),
        ({"size_bytes": 41 * MIB}, 429, "over_quota"),
        ({"sha256": "xyz"}, 400, "bad_digest"),
        ({"content_type": "application/x-msdownload"}, 415, "unsupported_type"),
        ({"file_name": "../../"}, 400, "bad_file_name"),
        ({"file_name": "a" * 2000}, 400, "bad_file_name"),
        ({"file_name": "a" * 5000}, 400, "invalid"),
        ({"size_bytes": -1}, 400, "invalid"),
        ({"size_bytes": "ten"}, 400, "invalid"),
        ({"extra": True}, 400, "invalid"),
    ]
    for change, status, code in cases:
        answered, body = await rest(cluster, ana.token, "POST", "/v1/media", good | change)
        assert (answered, body["error"]["code"]) == (status, code), (change, body)


async def test_huge_malformed_and_odd_requests_never_fail_the_edge(
    cluster: ParleyCluster, people: list[Someone]
) -> None:
    ana = people[0]
    huge = json.dumps({"size_bytes": 1, "file_name": "x" * 400_000}).encode()
    assert (await rest(cluster, ana.token, "POST", "/v1/media", raw=huge))[0] == 413
    status, body = await rest(cluster, ana.token, "POST", "/v1/media", raw=b"{nope")
    assert (status, body["error"]["code"]) == (400, "bad_json")
    status, body = await rest(cluster, ana.token, "POST", "/v1/media", raw=b"\xff\xfe\x00")
    assert (status, body["error"]["code"]) == (400, "bad_json")
    for path in ("x", "m" + "z" * 32, "m" + "0" * 32, "%2e%2e%2fetc", "m" + "0" * 3000):
        for method, suffix in (("GET", ""), ("GET", "/upload"), ("POST", "/complete")):
            status, body = await rest(cluster, ana.token, method, f"/v1/media/{path}{suffix}")
            assert (status, body["error"]["code"]) == (404, "not_found"), (path, body)
        status, body = await rest(cluster, ana.token, "GET", f"/v1/media/{path}/download")
        assert status == 404, body
    status, body = await rest(cluster, "forged", "POST", "/v1/media", {})
    assert (status, body["error"]["code"]) == (401, "unauthorized")


async def test_wrong_digest_and_wrong_size_are_refused(
    cluster: ParleyCluster, people: list[Someone]
) -> None:
    ana = people[0]
    data = f.image_bytes("PNG", 40, 30)
    body = {
        "size_bytes": len(data),
        "sha256": f.digest(data[::-1]),
        "content_type": "image/png",
        "file_name": "a.png",
    }
    status, ticket = await rest(cluster, ana.token, "POST", "/v1/media", body)
    assert set(await put_all(ticket, data)) == {200}
    complete = f"/v1/media/{ticket['media_id']}/complete"
    status, refused = await rest(cluster, ana.token, "POST", complete)
    assert (status, refused["error"]["code"]) == (422, "digest_mismatch")
    again = await rest(cluster, ana.token, "POST", complete)
    assert again == (status, refused), "a refusal is final"

    # Declared larger than sent: the store refuses a PUT of any other length than signed.
    status, ticket = await declare(cluster, ana, data + b"more", "image/png", "b.png")
    assert status == 201
    assert await put_all(ticket, data + b"mor") == [403]
    complete = f"/v1/media/{ticket['media_id']}/complete"
    status, short = await rest(cluster, ana.token, "POST", complete)
    assert (status, short["error"]["code"]) == (409, "incomplete")


@pytest.mark.parametrize(
    ("declared", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\photo.png", "photo.png"),
        ("ph\u202eoto\x00\x07.png", "photo.png"),
        ("фото отпуск 🌅.png", "фото отпуск 🌅.png"),
        ("写真.png", "写真.png"),
    ],
)
async def test_file_names_are_cleaned_and_unicode_is_kept_to_the_download(
    cluster: ParleyCluster, people: list[Someone], declared: str, kept: str
) -> None:
    ana, bo, _ = people
    cid = await direct(ana, bo)
    media = await ana.client.upload_file(f.image_bytes("PNG", 20, 20), file_name=declared)
    assert media.file_name == kept
    await ana.client.send(cid, "", attachments=[media.media_id])
    links = await bo.client.download_links(media.media_id)
    assert links.file_name == kept
    original = next(v for v in links.variants if v.name == "ORIGINAL")
    status, _, headers = await get(original.url)
    assert status == 200
    disposition = headers["Content-Disposition"]
    assert disposition.startswith("inline; filename=") and "/" not in disposition.split(";")[1]
    assert "\u202e" not in disposition and "\x00" not in disposition


async def test_a_message_needs_text_or_attachments_and_only_its_senders_ready_media(
    cluster: ParleyCluster, people: list[Someone]
) -> None:
    ana, bo, _ = people
    cid = await direct(ana, bo)
    with pytest.raises(ApiError) as empty:
        await ana.client.send(cid, "")
    assert empty.value.code == "invalid"
    theirs = await bo.client.upload_file(f.image_bytes("PNG"), file_name="bo.png")
    with pytest.raises(ApiError) as stolen:
        await ana.client.send(cid, "mine now", attachments=[theirs.media_id])
    assert stolen.value.code == "not_found"
    pending = await ana.client.upload_file(
        f.image_bytes("PNG", 2000, 1500), file_name="big.png", wait_ready=False
    )
    try:
        await ana.client.send(cid, "", attachments=[pending.media_id])
    except ApiError as e:
        assert e.code == "media_not_ready"  # the processor had not finished in the wait


async def test_files_encrypted_end_to_end_are_opaque_to_the_server(
    cluster: ParleyCluster, people: list[Someone]
) -> None:
    """The client seals the file and its thumbnail; the keys go inside the encrypted body (a
    stand-in for the group session here: a key Ana and Bo share), never in the log."""
    ana, bo, _ = people
    cid = await direct(ana, bo)
    photo = f.camera_jpeg(800, 600)
    thumb = f.image_bytes("JPEG", 80, 60)
    sealed_photo, sealed_thumb = seal(photo), seal(thumb)
    photo_media = await ana.client.upload_file(
        sealed_photo.ciphertext, file_name="file", encrypted=True
    )
    thumb_media = await ana.client.upload_file(
        sealed_thumb.ciphertext, file_name="file", encrypted=True
    )
    assert photo_media.kind == "ENCRYPTED" and photo_media.placeholder is None
    assert [v.name for v in photo_media.variants] == ["ORIGINAL"]

    inner = json.dumps(
        {
            "text": "our secret beach",
            "file": {"media": photo_media.media_id, "key": sealed_photo.key.hex(), "name": "b.jpg"},
            "thumbnail": {"media": thumb_media.media_id, "key": sealed_thumb.key.hex()},
        }
    ).encode()
    session = seal(inner)  # the stand-in for the conversation's group session
    body = E2EECiphertext(
        scheme="MEGOLM_V1",
        sender_key="ana-device-key",
        session_id="s1",
        ciphertext=base64.b64encode(session.ciphertext).decode(),
    )
    with pytest.raises(ApiError) as plain:
        await ana.client.send(cid, "see", attachments=[photo_media.media_id])
    assert plain.value.code == "invalid"
    seq = await ana.client.send(
        cid, body, attachments=[photo_media.media_id, thumb_media.media_id]
    )

    event = (await bo.client.fetch_history(cid, after=seq - 1, limit=1)).events[0].event
    ciphertext = base64.b64decode(event.body.ciphertext)  # type: ignore[union-attr]
    opened = json.loads(unseal(ciphertext, session.key))
    assert {a.kind for a in event.attachments} == {"ENCRYPTED"}  # type: ignore[union-attr]
    got = await bo.client.download(opened["file"]["media"])
    assert unseal(got, bytes.fromhex(opened["file"]["key"])) == photo
    got = await bo.client.download(opened["thumbnail"]["media"])
    assert unseal(got, bytes.fromhex(opened["thumbnail"]["key"])) == thumb

    log = read_committed(cluster.topics.events.name, expected=1, deadline_s=30)
    everything = b"".join(r.value for r in log)
    assert photo_media.media_id.encode() in everything
    assert sealed_photo.key not in everything and sealed_thumb.key not in everything
    assert sealed_photo.key.hex().encode() not in everything


def test_the_cli_sends_a_file_resumes_it_and_downloads_it(
    cluster: ParleyCluster, tmp_path: Path
) -> None:
    """`parley send-file` keeps the id of an upload it started (here: declared by a run that
    died before sending a byte), so the next run resumes it; `parley history` shows the
    attachment's id, `parley download` saves it under its own name."""
    ann, ben = f"ann{uuid.uuid4().hex[:6]}", f"ben{uuid.uuid4().hex[:6]}"

    def parley(*args: str, user: str, cwd: Path = tmp_path) -> str:
        return run_cli(cluster, tmp_path / user, *args, cwd=cwd)

    for user in (ann, ben):
        parley("register", user, user=user)
        parley("login", user, user=user)
    cid = parley("dm", ben, user=ann).strip()
    document = tmp_path / "report 2026.pdf"
    document.write_bytes(f.pdf())
    login = json.loads((tmp_path / ann / "token.json").read_text())
    status, ticket = asyncio.run(
        rest(cluster, login["token"], "POST", "/v1/media", declaration(document))
    )
    assert status == 201
    pending = PendingUploads(tmp_path / ann)
    pending.started(file_key(document), ticket["media_id"])  # what the died run had kept

    sent = parley("send-file", cid, str(document), "--caption", "the report", user=ann)
    assert sent.startswith("sent #")
    assert pending.media_id(file_key(document)) is None, "finished: forgotten"
    history = parley("history", cid, user=ben)
    assert f"[file report 2026.pdf, 0.1 kB: {ticket['media_id']}]" in history, history
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    saved = parley("download", ticket["media_id"], user=ben, cwd=downloads).strip()
    assert (downloads / saved).read_bytes() == document.read_bytes()
    assert saved == "report 2026.pdf"


def declaration(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    return {
        "size_bytes": len(data),
        "sha256": f.digest(data),
        "content_type": "application/pdf",
        "file_name": path.name,
    }
