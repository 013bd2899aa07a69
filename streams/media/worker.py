"""The media processor's loop: follows the media topic, runs each upload's job, writes the outcome.

At least once: a job's event (MediaProcessed or MediaRejected) is acknowledged by Kafka
before the job's offset is committed, so a crash runs the job again and never loses it. A
second run publishes the same renditions under the same keys and writes a second event that
every reader's fold ignores (media/lifecycle.py). The staging object is deleted only once
the event is durable.

Not a Kafka transaction (streams/transactional.py): a transcode can take minutes, far past
what a transaction or the stuck-call watchdog allow, and its effects are in object storage,
which a transaction could not undo anyway.

Error policy (kafkalog's, through its follower): a record that does not decode goes to the
dead-letter topic with its source topic, partition and offset, durably before the offset
that passes it is committed, and the worker moves on; records other than MediaUploaded, and
jobs of another lane, are passed over; a transient error (object store, scanner) is retried
with backoff for as long as it lasts, later jobs of the partition waiting behind it
(unscanned bytes are never served); a Kafka error restarts the process in place
(kafkalog/worker.py); anything else stops the worker without committing.

Offsets are committed after each job, so a crash re-runs at most the job it interrupted;
the records a batch passed over are committed with its last offset. A static member
(`group.instance.id`) restarted within the session timeout takes its partitions back at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from confluent_kafka import Producer, TopicPartition

from kafkalog.output import AckedOutput
from kafkalog.presets import JOB, PARKING, producer
from kafkalog.records import next_offsets
from media.errors import MediaError
from media.log import MediaLog, decode_media_event
from media.storage import ObjectStore
from schemas import models as m
from schemas.topics import Topics
from streams.group import parked_member
from streams.media import metrics
from streams.media.job import MediaJob
from streams.media.scan import ScannerUnavailableError
from streams.media.settings import LANE_KINDS, Lane

log = logging.getLogger("parley.media")
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 60.0
BATCH = 50
IDLE_S = 0.5
T = TypeVar("T")


@dataclass(frozen=True)
class WorkerConfig:
    bootstrap: str
    topics: Topics
    group_id: str
    instance_id: str
    lane: Lane = Lane.ALL
    max_job_s: float = 900.0
    """A job may keep the consumer from polling this long before the group evicts it."""


class StoppedError(RuntimeError):
    """Asked to stop while a job was waiting to be retried: its offset stays uncommitted."""


class MediaWorker:
    def __init__(
        self, config: WorkerConfig, job: MediaJob, log_out: MediaLog, store: ObjectStore
    ) -> None:
        self.config = config
        self.job = job
        self.out = log_out
        self.store = store
        self.kinds = LANE_KINDS[config.lane]
        self.stopping = threading.Event()
        preset = replace(JOB, max_poll_interval_ms=int(config.max_job_s * 1000) + 60_000)
        self.parked = AckedOutput(Producer(producer(config.bootstrap, PARKING)))
        self.consumer, self.follower = parked_member(
            config.bootstrap,
            group_id=config.group_id,
            instance_id=config.instance_id,
            dead_letters_topic=config.topics.dead_letters.name,
            parking=self.parked,
            decode=decode_media_event,
            preset=preset,
        )

    def run(self) -> None:
        topic = self.config.topics.media.name
        self.consumer.subscribe([topic])
        try:
            while not self.stopping.is_set():
                records = self.follower.poll(BATCH, idle_s=IDLE_S)
                if not records:
                    continue
                jobs = self.follower.decode(records)
                self.parked.flush()  # the dead letters are durable before any commit
                for item in jobs:
                    try:
                        self.handle(item.value)
                    except StoppedError:
                        return
                    self._commit({item.partition: item.offset + 1})
                self._commit(next_offsets(records))
        finally:
            self.consumer.close()
            self.parked.flush()

    def stop(self) -> None:
        self.stopping.set()

    def handle(self, event: m.MediaEvent) -> None:
        if not isinstance(event, m.MediaUploaded) or event.kind not in self.kinds:
            return
        began = time.perf_counter()
        outcome = self._retrying(lambda: self.job.run(event))
        if outcome is not None:
            self._retrying(lambda: self.out.append(outcome))
            self._retrying(lambda: self.store.delete(event.object_key))
        name = "gone" if outcome is None else type(outcome).__name__.removeprefix("Media").lower()
        metrics.jobs.labels(event.kind.value, name).observe(time.perf_counter() - began)

    def _commit(self, offsets: dict[int, int]) -> None:
        topic = self.config.topics.media.name
        self.consumer.commit(
            offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()], asynchronous=False
        )

    def _retrying(self, action: Callable[[], T]) -> T:
        """`action`'s result, retried with backoff while it fails transiently."""
        backoff = FIRST_BACKOFF_S
        while True:
            try:
                return action()
            except (MediaError, ScannerUnavailableError) as e:
                if isinstance(e, MediaError) and not e.transient:
                    raise
                log.warning("media job waits %.0f s to retry: %s", backoff, e)
                metrics.retries.labels(type(e).__name__).inc()
                if self.stopping.wait(backoff):
                    raise StoppedError(str(e)) from e
                backoff = min(backoff * 2, MAX_BACKOFF_S)
