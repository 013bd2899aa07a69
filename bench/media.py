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
3. Time from `complete` returning to the photo's MediaProcessed event being readable (its
   thumbnail published), p50/p99, through the real media processor process.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from confluent_kafka import Consumer, TopicPartition
from PIL import Image, ImageFilter

from bench.machine import how_busy
from bench.stats import latency_summary
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
OWNER = m.Actor(user_id="bench", device_id="bench-device")


def run(settings: PlatformSettings) -> dict[str, Any]:
    topics = declare_topics(f"benchmedia{uuid.uuid4().hex[:6]}", partitions=settings.partitions)
    ensure_topics(settings.bootstrap, topics)
    store = ObjectStore(connect(settings), settings.s3_bucket)
    busy_before = how_busy()
    print("[media] 1/3 upload throughput, pre-signed vs direct", flush=True)
    upload = upload_throughput(settings, topics, store)
    print(f"[media] {upload['summary']}", flush=True)
    print("[media] 2/3 photos per second on one pinned core", flush=True)
    per_core = photos_per_core()
    print("[media] 3/3 complete -> thumbnail ready through the processor", flush=True)
    latency = complete_to_thumbnail(settings, topics, store)
    return {
        "benchmark": "media",
        "upload": upload,
        "photos_per_core": per_core,
        "complete_to_thumbnail": {k: v for k, v in latency.items() if k != "latencies_ms"},
        "latencies_ms": latency["latencies_ms"],
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


def complete_to_thumbnail(
    settings: PlatformSettings, topics: Topics, store: ObjectStore
) -> dict[str, Any]:
    service = _service(settings, topics, store)
    photos = [photo(1600, 1200, seed) for seed in range(4)]
    digests = [hashlib.sha256(p).hexdigest() for p in photos]
    follower = ProcessedFollower(settings, topics)
    log_path = settings.data_dir / "logs" / "bench-media-processor.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PARLEY_KAFKA_BOOTSTRAP": settings.bootstrap,
        "PARLEY_S3_ENDPOINT": settings.s3_url,
        "PARLEY_TOPIC_PREFIX": topics.media.name.rsplit(".", 1)[0],
        "PARLEY_PARTITIONS": str(settings.partitions),
        "PARLEY_STATE_DIR": str(settings.data_dir / "state"),
    }
    with log_path.open("ab") as log:
        processor = subprocess.Popen(
            [sys.executable, "-m", "streams.media", "process"], env=env, stdout=log, stderr=log
        )
    completed: dict[str, float] = {}
    try:
        began = time.perf_counter()
        for i in range(LATENCY_PHOTOS):
            slot = began + i / LATENCY_RATE_PER_S
            time.sleep(max(0.0, slot - time.perf_counter()))
            data = photos[i % len(photos)]
            request = UploadRequest(
                size_bytes=len(data), sha256=digests[i % len(photos)],
                content_type="image/jpeg", file_name=f"IMG_{i:04}.JPG",
            )  # fmt: skip
            ticket = service.declare(OWNER, request)
            _put(ticket.parts[0], data, ticket.headers)
            service.complete(OWNER.user_id, ticket.media_id)
            completed[ticket.media_id] = time.perf_counter()
        follower.wait_for(set(completed), deadline_s=120)
    finally:
        processor.terminate()
        processor.wait(30)
        follower.stop()
    latencies = [1000 * (follower.seen[i] - t) for i, t in completed.items()]
    return {
        "photos": len(completed),
        "offered_per_s": LATENCY_RATE_PER_S,
        "photo": "1600x1200 JPEG, EXIF orientation 6",
        "jpeg_bytes": len(photos[0]),
        **latency_summary(latencies),
        "latencies_ms": latencies,
    }
