"""`python -m streams.media {process|sweep}`: the media processor's composition roots.

`process` runs the jobs of one lane (PARLEY_MEDIA_LANE: all, still or av); `sweep` deletes
uploads no message attached within a day and the media of erased people. Both are safe to
restart at any point.
"""

from __future__ import annotations

import logging
import sys

from kafkalog.worker import run_until_signalled
from media.log import KafkaMediaLog
from media.settings import MediaSettings
from media.storage import ObjectStore
from objectstore.client import connect
from objectstore.settings import S3Settings
from streams.media.av import AvMaker
from streams.media.clamd import ClamdScanner
from streams.media.images import ImageMaker
from streams.media.job import MediaJob
from streams.media.scan import BuiltinScanner, Scanner, Scanners
from streams.media.settings import ProcessorSettings
from streams.media.sweeper import Sweeper
from streams.media.worker import MediaWorker, WorkerConfig
from streams.process import start_process

log = logging.getLogger("parley.media")
COMMANDS = ("process", "sweep")


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in COMMANDS:
        print(f"usage: python -m streams.media {{{'|'.join(COMMANDS)}}}", file=sys.stderr)
        return 2
    command = argv[1]
    service = f"parley-media-{command}"
    settings = ProcessorSettings()
    media = MediaSettings()
    storage = S3Settings()
    topics = settings.topics()
    store = ObjectStore(connect(storage), storage.s3_bucket)
    out = KafkaMediaLog(settings.kafka_bootstrap, topics.media)
    if command == "sweep":
        sweeper = Sweeper(
            bootstrap=settings.kafka_bootstrap,
            topics=topics,
            store=store,
            log_out=out,
            settings=media,
            every_s=settings.media_sweep_every_s,
            erasure_every_s=settings.media_erasure_every_s,
        )
        tracing = start_process(service, ready=sweeper.swept.is_set)
        return run_until_signalled(sweeper, then=out.close, tracing=tracing)
    tracing = start_process(service)
    scanners: list[Scanner] = [BuiltinScanner()]
    if media.clamd:
        scanners.append(ClamdScanner(media.clamd))
    av = AvMaker.find(media)
    if av is None:
        log.warning("no ffmpeg/ffprobe: video and audio are served as uploaded, unprocessed")
    job = MediaJob(
        store=store,
        scanners=Scanners(scanners),
        images=ImageMaker(media),
        av=av,
        work_dir=settings.work_dir,
    )
    cleared = job.clear_leftovers()
    if cleared:
        log.info("cleared %d jobs' files left by a process that did not stop cleanly", cleared)
    config = WorkerConfig(
        bootstrap=settings.kafka_bootstrap,
        topics=topics,
        group_id=settings.group("processor"),
        instance_id=settings.instance_id,
        lane=settings.media_lane,
        max_job_s=3 * media.transcode_timeout_s,
    )
    log.info("media processor: lane %s, scanners %s", settings.media_lane, Scanners(scanners).names)
    return run_until_signalled(
        MediaWorker(config, job, out, store), then=out.close, tracing=tracing
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv))
