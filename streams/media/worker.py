"""The media processor's loop: follows the media topic, runs each upload's job, writes the outcome.

At least once: a job's event (MediaProcessed or MediaRejected) is acknowledged by Kafka
before the job's offset is committed, so a crash runs the job again and never loses it. A
second run publishes the same renditions under the same keys and writes a second event that
every reader's fold ignores (media/lifecycle.py). The staging object is deleted only once
the event is durable.

Not a Kafka transaction (streams/transactional.py): a transcode can take minutes, far past
what a transaction or the stuck-call watchdog allow, and its effects are in object storage,
which a transaction could not undo anyway.

Error policy: a record that does not decode goes to the dead-letter topic with its source
topic, partition and offset, and the worker moves on; records other than MediaUploaded, and
jobs of another lane, are passed over; a transient error (object store, scanner, Kafka) is
retried with backoff for as long as it lasts, later jobs of the partition waiting behind it
(unscanned bytes are never served); anything else stops the worker without committing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from confluent_kafka import Consumer, KafkaException, Message, Producer

from kafkalog.dead_letters import DeadLetters
from kafkalog.output import AckedOutput
from media.errors import MediaError
from media.log import MediaLog
from media.storage import ObjectStore
from schemas import codec
from schemas import models as m
from schemas.errors import MalformedRecordError, UnknownSchemaError
from schemas.topics import Topics
from streams import metrics as stream_metrics
from streams.media import metrics
from streams.media.job import MediaJob
from streams.media.scan import ScannerUnavailableError
from streams.media.settings import LANE_KINDS, Lane

log = logging.getLogger("parley.media")
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 60.0
T = TypeVar("T")


@dataclass(frozen=True)
class WorkerConfig:
    bootstrap: str
    topics: Topics
    group_id: str
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
        self.consumer = Consumer(
            {
                "bootstrap.servers": config.bootstrap,
                "group.id": config.group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "max.poll.interval.ms": int(config.max_job_s * 1000) + 60_000,
            }
        )
        self.dead_letters = Producer(
            {"bootstrap.servers": config.bootstrap, "enable.idempotence": True, "acks": "all"}
        )
        self.parked = AckedOutput(self.dead_letters)
        self.parking = DeadLetters(
            config.topics.dead_letters.name, config.group_id, stream_metrics.dead_letters
        )

    def run(self) -> None:
        self.consumer.subscribe([self.config.topics.media.name])
        try:
            while not self.stopping.is_set():
                record = self.consumer.poll(0.5)
                if record is None:
                    continue
                error = record.error()
                if error is not None:
                    if error.fatal():
                        raise KafkaException(error)
                    log.warning("media topic: %s", error)
                    continue
                try:
                    self.handle(record)
                except StoppedError:
                    return
                self.consumer.commit(message=record, asynchronous=False)
        finally:
            self.consumer.close()
            self.dead_letters.flush(30)

    def stop(self) -> None:
        self.stopping.set()

    def handle(self, record: Message) -> None:
        try:
            event = codec.decode(record.value() or b"")
        except (MalformedRecordError, UnknownSchemaError) as e:
            self._dead_letter(record, str(e))
            return
        if not isinstance(event, m.MediaUploaded) or event.kind not in self.kinds:
            return
        began = time.perf_counter()
        outcome = self._retrying(lambda: self.job.run(event))
        if outcome is not None:
            self._retrying(lambda: self.out.append(outcome))
            self._retrying(lambda: self.store.delete(event.object_key))
        name = "gone" if outcome is None else type(outcome).__name__.removeprefix("Media").lower()
        metrics.jobs.labels(event.kind.value, name).observe(time.perf_counter() - began)

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

    def _dead_letter(self, record: Message, reason: str) -> None:
        self.parking.park(self.parked, record, reason)
        self.parked.flush(30)
