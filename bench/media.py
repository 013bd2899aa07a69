"""`python -m bench media`: the media path measured three ways on one platform.

1. A 100 MiB upload through the pre-signed multipart path (declare, parts PUT straight to
   S3, complete with its streamed SHA-256 and type check) against boto3 uploading the same
   bytes to the same server with the same part size and concurrency, in alternating rounds:
   once through boto3's transfer manager (`upload_fileobj`), once as plain `upload_part`
   calls on the same threads as the pre-signed PUTs.
2. Photos per second on one pinned core (os.sched_setaffinity): the processor's whole image
   job (orientation, cleaned original, thumbnail and preview, BlurHash), by photo size, per
   CPU second of the pinned process (what a core sustains) and per wall second (what it got
   on a machine shared with other work, which `cpu_share_of_wall` shows).
3. Time from `complete` answering to the thumbnail being ready, p50/p99, through every real
   process (`make run`'s: the edge, the media processor, ...): a client (the SDK) uploads
   photos at a steady rate, and for each asks the edge for its state with `Prefer: wait`,
   which answers once the edge's media book has the MediaProcessed event. Beside it, when
   that event became readable on the media topic (the processor's own share).
4. The memory a media book (the sequencer's, each edge node's) spends per media of the
   window, measured with tracemalloc over books of real-shaped photo records.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import io
import os
import statistics
import tempfile
import threading
import time
import tracemalloc
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from confluent_kafka import Consumer, TopicPartition
from PIL import Image, ImageFilter

from bench.machine import how_busy
from bench.services import parley_running
from bench.stats import latency_summary
from client.sdk import ParleyClient
from infra.settings import PlatformSettings
from infra.topics import ensure_topics
from media.book import MediaBook
from media.log import KafkaMediaLog
from media.settings import MIB, MediaSettings
from media.storage import ObjectStore
from media.uploads import PartTarget, UploadRequest, UploadService, UploadTicket
from objectstore.client import connect
from schemas import codec
from schemas import models as m
from schemas.topics import Topics, declare_topics
from streams.media.images import ImageMaker
from tests.integration.media_env import scratch_names

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

UPLOAD_BYTES = 100 * MIB
ROUNDS = 5
CONCURRENCY = 4
"""Parts in flight at once, for both paths (boto3's TransferConfig.max_concurrency)."""
PHOTO_SIZES = ((4000, 3000), (1600, 1200))
PIN_CPU_SECONDS = 5.0
LATENCY_PHOTOS = 40
LATENCY_RATE_PER_S = 0.5
"""Below what one processor sustains even with a fifth of a core: the figure is the path's
latency, not a queue's."""
EDGE_PORT = int(os.environ.get("PARLEY_BENCH_MEDIA_EDGE_PORT", "18380"))
BOOK_MEDIA = 20_000
BLURHASH = "LEHV6nWB2yk8pyo0adR*.7kCMdnj"
"""28 characters, as the processor's 4x3 components give."""
OWNER = m.Actor(user_id="bench", device_id="bench-device")


def run(settings: PlatformSettings) -> dict[str, Any]:
    topics = declare_topics(f"benchmedia{uuid.uuid4().hex[:6]}", partitions=settings.partitions)
    ensure_topics(settings.bootstrap, topics)
    store = ObjectStore(connect(settings), settings.s3_bucket)
    busy_before = how_busy()
    print("[media] 1/4 upload throughput, pre-signed vs direct", flush=True)
    upload = upload_throughput(settings, topics, store)
    print(f"[media] {upload['summary']}", flush=True)
    print("[media] 2/4 photos per second on one pinned core", flush=True)
    per_core = photos_per_core()
    print("[media] 3/4 complete -> thumbnail ready, through every process", flush=True)
    latency = complete_to_thumbnail(settings)
    print(
        f"[media] p50 {latency['p50_ms']:.0f} ms, p99 {latency['p99_ms']:.0f} ms "
        f"(on the topic: p50 {latency['on_topic']['p50_ms']:.0f} ms)",
        flush=True,
    )
    print("[media] 4/4 media book memory per media", flush=True)
    book = book_bytes_per_media()
    return {
        "benchmark": "media",
        "upload": upload,
        "photos_per_core": per_core,
        "complete_to_thumbnail": {k: v for k, v in latency.items() if k != "latencies_ms"},
        "latencies_ms": latency["latencies_ms"],
        "book_bytes_per_media": book,
        "busy": [busy_before, how_busy()],
    }


def photo(width: int, height: int, seed: int = 0) -> bytes:
    """A camera-like JPEG: smooth gradients under blurred noise (compresses like a photo, not
    like a flat test card), with EXIF orientation 6 to be applied."""
    noise = Image.effect_noise((width, height), 40 + seed % 7).filter(ImageFilter.GaussianBlur(2))
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.merge("RGB", (noise, gradient, Image.eval(noise, lambda v: 255 - v)))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def _service(settings: PlatformSettings, topics: Topics, store: ObjectStore) -> UploadService:
    return UploadService(
        store=store,
        book=MediaBook(),
        log=KafkaMediaLog(settings.bootstrap, topics.media),
        settings=MediaSettings(quota_bytes_per_day=1 << 40),
        names=scratch_names(),
    )


def _put(target: PartTarget, data: bytes, headers: dict[str, str]) -> None:
    url = urlsplit(target.url)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=300)
    try:
        connection.request("PUT", f"{url.path}?{url.query}", body=data, headers=headers)
        answer = connection.getresponse()
        answer.read()
        if answer.status != 200:
            raise RuntimeError(f"part {target.number}: HTTP {answer.status}")
    finally:
        connection.close()


def _send_parts(ticket: UploadTicket, data: bytes) -> None:
    def one(target: PartTarget) -> None:
        start = (target.number - 1) * ticket.part_bytes
        _put(target, data[start : start + target.size_bytes], ticket.headers)

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(one, ticket.parts))


def _boto3_parts(store: ObjectStore, key: str, data: bytes) -> None:
    """The same parts and threads as the pre-signed path, signed by boto3 itself: what is left
    of the difference is the signing mode, not boto3's transfer manager."""
    part = MediaSettings().part_bytes
    upload_id = store.create_multipart(key, "application/octet-stream")

    def one(number: int) -> CompletedPartTypeDef:
        body = data[(number - 1) * part : number * part]
        answer = store.client.upload_part(
            Bucket=store.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
        )
        return {"PartNumber": number, "ETag": answer["ETag"]}

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        parts = list(pool.map(one, range(1, -(-len(data) // part) + 1)))
    store.client.complete_multipart_upload(
        Bucket=store.bucket,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": parts},
    )


def upload_throughput(
    settings: PlatformSettings, topics: Topics, store: ObjectStore
) -> dict[str, Any]:
    from boto3.s3.transfer import TransferConfig

    data = os.urandom(UPLOAD_BYTES)
    digest = hashlib.sha256(data).hexdigest()
    service = _service(settings, topics, store)
    transfer = TransferConfig(
        multipart_threshold=MediaSettings().part_bytes,
        multipart_chunksize=MediaSettings().part_bytes,
        max_concurrency=CONCURRENCY,
    )
    direct: list[float] = []
    direct_parts: list[float] = []
    presigned: list[dict[str, float]] = []
    for round_ in range(ROUNDS):
        key = f"bench/direct-{uuid.uuid4().hex}"
        began = time.perf_counter()
        store.client.upload_fileobj(io.BytesIO(data), store.bucket, key, Config=transfer)
        direct.append(time.perf_counter() - began)
        store.delete(key)
        began = time.perf_counter()
        _boto3_parts(store, key, data)
        direct_parts.append(time.perf_counter() - began)
        store.delete(key)
        began = time.perf_counter()
        request = UploadRequest(
            size_bytes=len(data), sha256=digest, content_type="application/octet-stream",
            file_name="bench.bin",
        )  # fmt: skip
        ticket = service.declare(OWNER, request)
        declared = time.perf_counter()
        _send_parts(ticket, data)
        sent = time.perf_counter()
        service.complete(OWNER.user_id, ticket.media_id)
        done = time.perf_counter()
        store.delete(f"uploads/{ticket.media_id}")
        presigned.append(
            {
                "declare_s": declared - began,
                "transfer_s": sent - declared,
                "complete_s": done - sent,
            }
        )
        print(
            f"[media]   round {round_ + 1}: boto3 {direct[-1]:.2f} s, boto3 parts "
            f"{direct_parts[-1]:.2f} s, pre-signed "
            f"{done - began:.2f} s (parts {sent - declared:.2f} s, complete {done - sent:.2f} s)",
            flush=True,
        )
    mib = len(data) / MIB
    direct_s = statistics.median(direct)
    total_s = statistics.median(sum(r.values()) for r in presigned)
    transfer_s = statistics.median(r["transfer_s"] for r in presigned)
    complete_s = statistics.median(r["complete_s"] for r in presigned)
    return {
        "bytes": len(data),
        "rounds": ROUNDS,
        "concurrency": CONCURRENCY,
        "part_bytes": MediaSettings().part_bytes,
        "direct_s": [round(v, 3) for v in direct],
        "direct_parts_s": [round(v, 3) for v in direct_parts],
        "direct_parts_mib_per_s": round(mib / statistics.median(direct_parts), 1),
        "ratio_presigned_to_direct_parts_time": round(total_s / statistics.median(direct_parts), 3),
        "presigned": [{k: round(v, 3) for k, v in r.items()} for r in presigned],
        "direct_mib_per_s": round(mib / direct_s, 1),
        "presigned_mib_per_s": round(mib / total_s, 1),
        "presigned_transfer_mib_per_s": round(mib / transfer_s, 1),
        "complete_verify_s": round(complete_s, 3),
        "ratio_presigned_to_direct_time": round(total_s / direct_s, 3),
        "best_s": {
            "direct": round(min(direct), 3),
            "direct_parts": round(min(direct_parts), 3),
            "presigned": round(min(sum(r.values()) for r in presigned), 3),
            "presigned_transfer": round(min(r["transfer_s"] for r in presigned), 3),
            "presigned_complete": round(min(r["complete_s"] for r in presigned), 3),
        },
        "ratio_transfer_only_to_direct_time": round(transfer_s / direct_s, 3),
        "summary": (
            f"100 MiB: direct {mib / direct_s:.0f} MiB/s, pre-signed {mib / total_s:.0f} MiB/s "
            f"end to end ({mib / transfer_s:.0f} MiB/s for the parts alone, complete "
            f"{complete_s:.2f} s); time ratio {total_s / direct_s:.2f}"
        ),
    }


def photos_per_core() -> list[dict[str, Any]]:
    maker = ImageMaker(MediaSettings())
    cpu = min(os.sched_getaffinity(0))
    before = os.sched_getaffinity(0)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.sched_setaffinity(0, {cpu})
        try:
            for width, height in PHOTO_SIZES:
                source = work / f"photo-{width}"
                data = photo(width, height)
                source.write_bytes(data)
                maker.make(source, work)  # warm: codecs loaded, caches filled
                count, wall, cpu_s = 0, 0.0, 0.0
                while cpu_s < PIN_CPU_SECONDS or count < 3:
                    began, began_cpu = time.perf_counter(), time.process_time()
                    maker.make(source, work)
                    wall += time.perf_counter() - began
                    cpu_s += time.process_time() - began_cpu
                    count += 1
                rate = count / cpu_s
                results.append(
                    {
                        "width": width,
                        "height": height,
                        "jpeg_bytes": len(data),
                        "photos": count,
                        "photos_per_s_per_core": round(rate, 2),
                        "cpu_ms_per_photo": round(1000 * cpu_s / count, 1),
                        "photos_per_wall_s": round(count / wall, 2),
                        "cpu_share_of_wall": round(cpu_s / wall, 2),
                    }
                )
                print(
                    f"[media]   {width}x{height}: {rate:.2f} photos per CPU second on cpu {cpu} "
                    f"({count / wall:.2f} per wall second, {cpu_s / wall:.0%} of the core)",
                    flush=True,
                )
        finally:
            os.sched_setaffinity(0, before)
    return results


class ProcessedFollower:
    """Notes when each media's MediaProcessed becomes readable on the media topic."""

    def __init__(self, settings: PlatformSettings, topics: Topics) -> None:
        self.seen: dict[str, float] = {}
        self.changed = threading.Condition()
        self.stopping = threading.Event()
        self.consumer = Consumer(
            {
                "bootstrap.servers": settings.bootstrap,
                "group.id": f"bench-media-{uuid.uuid4()}",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 5,
            }
        )
        name = topics.media.name
        ends = [
            self.consumer.get_watermark_offsets(TopicPartition(name, p), timeout=10)[1]
            for p in range(topics.media.partitions)
        ]
        self.consumer.assign([TopicPartition(name, p, o) for p, o in enumerate(ends)])
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopping.is_set():
            for record in self.consumer.consume(100, timeout=0.1):
                if record.error() is not None:
                    continue
                event = codec.decode(record.value() or b"")
                if isinstance(event, m.MediaProcessed | m.MediaRejected):
                    with self.changed:
                        self.seen.setdefault(event.meta.media_id, time.perf_counter())
                        self.changed.notify_all()

    def wait_for(self, media_ids: set[str], deadline_s: float) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: media_ids <= set(self.seen), deadline_s):
                missing = len(media_ids - set(self.seen))
                raise RuntimeError(f"{missing} photos not processed within {deadline_s} s")

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.consumer.close()


def complete_to_thumbnail(base: PlatformSettings) -> dict[str, Any]:
    photos = [photo(1600, 1200, seed) for seed in range(4)]
    with parley_running(base, stem="benchmedia", edge_nodes=1, edge_port=EDGE_PORT) as (
        settings,
        urls,
    ):
        topics = declare_topics(settings.topic_prefix, partitions=settings.partitions)
        follower = ProcessedFollower(settings, topics)
        try:
            answered = asyncio.run(_client_waits(urls[0], photos))
        finally:
            follower.stop()
    latencies = [1000 * (ready - done) for done, ready, _ in answered]
    on_topic = [1000 * (follower.seen[i] - done) for done, _, i in answered if i in follower.seen]
    return {
        "photos": len(answered),
        "offered_per_s": LATENCY_RATE_PER_S,
        "photo": "1600x1200 JPEG, EXIF orientation 6",
        "jpeg_bytes": len(photos[0]),
        "measured": "complete answered -> GET /v1/media/{id} (Prefer: wait) answers ready",
        **latency_summary(latencies),
        "on_topic": {k: v for k, v in latency_summary(on_topic).items() if k != "latencies_ms"},
        "latencies_ms": latencies,
    }


async def _client_waits(url: str, photos: list[bytes]) -> list[tuple[float, float, str]]:
    """Per photo: when `complete` answered, when the edge said it was ready, its media id."""
    name = f"bench{uuid.uuid4().hex[:8]}"
    async with ParleyClient(url, request_timeout=60.0) as client:
        await client.register(name, "correct horse battery")
        await client.login(name, "correct horse battery")
        loop = asyncio.get_running_loop()
        began = loop.time()

        async def one(i: int) -> tuple[float, float, str]:
            await asyncio.sleep(max(0.0, began + i / LATENCY_RATE_PER_S - loop.time()))
            info = await client.upload_file(
                photos[i % len(photos)],
                file_name=f"IMG_{i:04}.JPG",
                content_type="image/jpeg",
                wait_ready=False,
            )
            done = time.perf_counter()
            await client.wait_ready(info.media_id)
            return done, time.perf_counter(), info.media_id

        return list(await asyncio.gather(*(one(i) for i in range(LATENCY_PHOTOS))))


def book_bytes_per_media(count: int = BOOK_MEDIA) -> dict[str, Any]:
    """Bytes a MediaBook holds per ready photo (declared, uploaded and processed events, three
    renditions, a BlurHash), by tracemalloc: what the sequencer's and every edge node's book
    cost per media of the window."""
    now = datetime.now(UTC)

    def events(i: int) -> list[m.MediaEvent]:
        media_id = f"m{uuid.uuid4().hex}"
        owner = f"user{i % 5000:05}"
        meta = m.MediaEventMeta(
            event_id=str(uuid.uuid4()), media_id=media_id, owner_id=owner, occurred_at=now
        )
        digest = hashlib.sha256(media_id.encode()).hexdigest()
        variants = tuple(
            m.MediaVariant(
                name=name,
                object_key=f"media/{media_id}/{name.value.lower()}-{digest}.{ext}",
                content_type=kind,
                size_bytes=size,
                sha256=digest,
                width=w,
                height=h,
            )
            for name, ext, kind, size, w, h in (
                (m.MediaVariantName.ORIGINAL, "jpg", "image/jpeg", 900_000, 1200, 1600),
                (m.MediaVariantName.PREVIEW, "webp", "image/webp", 120_000, 960, 1280),
                (m.MediaVariantName.THUMBNAIL, "webp", "image/webp", 12_000, 240, 320),
            )
        )
        return [
            m.MediaDeclared(
                meta=meta, device_id=f"d-{owner}", size_bytes=1_500_000, sha256=digest,
                content_type="image/jpeg", file_name=f"IMG_{i:04}.JPG", encrypted=False,
                object_key=f"uploads/{media_id}", part_bytes=1_500_000,
            ),
            m.MediaUploaded(
                meta=meta, object_key=f"uploads/{media_id}", size_bytes=1_500_000,
                sha256=digest, content_type="image/jpeg", kind=m.MediaKind.IMAGE,
            ),
            m.MediaProcessed(
                meta=meta, kind=m.MediaKind.IMAGE, content_type="image/jpeg",
                variants=variants, width=1200, height=1600, placeholder=BLURHASH,
            ),
        ]  # fmt: skip

    made = [events(i) for i in range(count)]  # decoded records, as a reader holds them
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    book = MediaBook()
    for record in made:
        for event in record:
            book.apply(event)
    held_by_book = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del made
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    fresh = [events(i) for i in range(count // 10)]
    per_media_events = (tracemalloc.get_traced_memory()[0] - before) / len(fresh)
    tracemalloc.stop()
    index_bytes = held_by_book / count
    return {
        "media": count,
        "events_bytes_per_media": round(per_media_events),
        "index_bytes_per_media": round(index_bytes),
        "bytes_per_media": round(per_media_events + index_bytes),
        "how": "tracemalloc: three decoded events per photo, plus the book's own dicts and records",
    }
