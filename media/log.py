"""The media topic's two ends: appending an event (keyed by media id) and waiting until Kafka
has it, and decoding one read back.

The upload service answers a client only once its event is durable (acks=all, idempotent
producer): a declaration the client was told about is never lost, whichever edge node the
client comes back to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from kafkalog.decoding import Decoder, avro_decoder
from kafkalog.presets import IMMEDIATE, producer
from media.errors import MediaError
from media.lifecycle import MEDIA_EVENTS
from schemas import codec
from schemas import models as m
from schemas.models import MediaErrorCode
from schemas.partitioning import partition_for
from schemas.topics import TopicSpec

DELIVERY_TIMEOUT_S = 30.0
decode_media_event: Decoder[m.MediaEvent] = avro_decoder(  # type: ignore[assignment]
    MEDIA_EVENTS, "a media event"
)
"""A record of the media topic, as every reader of it decodes one (kafkalog's decoders)."""


class MediaLog(Protocol):
    def append(self, event: m.MediaEvent) -> tuple[int, int]:
        """Write `event` durably; returns its (partition, offset)."""

    def append_all(self, events: Sequence[m.MediaEvent]) -> list[Message]:
        """Write every one of `events` durably; their records as delivered."""


class KafkaMediaLog:
    def __init__(self, bootstrap: str, topic: TopicSpec) -> None:
        self.topic = topic
        # A client waits for each of these records (idempotent, so acks=all), and is told
        # `unavailable` rather than kept waiting past DELIVERY_TIMEOUT_S.
        self.producer = Producer(
            {
                **producer(bootstrap, IMMEDIATE),
                "message.timeout.ms": int(DELIVERY_TIMEOUT_S * 1000),
            }
        )

    def append(self, event: m.MediaEvent) -> tuple[int, int]:
        record = self.append_all([event])[0]
        return record.partition() or 0, record.offset() or 0

    def append_all(self, events: Sequence[m.MediaEvent]) -> list[Message]:
        """Write every one of `events` durably, in one flush; their records as delivered."""
        delivered: list[Message] = []
        failed: list[KafkaError] = []

        def report(error: KafkaError | None, record: Message) -> None:
            if error is not None:
                failed.append(error)
            else:
                delivered.append(record)

        try:
            for event in events:
                key = event.meta.media_id
                self.producer.produce(
                    self.topic.name,
                    key=key.encode(),
                    value=codec.encode(event),
                    partition=partition_for(key, self.topic.partitions),
                    on_delivery=report,
                )
            self.producer.flush(DELIVERY_TIMEOUT_S)
        except (KafkaException, BufferError) as e:
            raise MediaError(MediaErrorCode.STORAGE_UNAVAILABLE, f"media log: {e}") from e
        if failed or len(delivered) < len(events):
            reason = str(failed[0]) if failed else "no delivery report in time"
            raise MediaError(MediaErrorCode.STORAGE_UNAVAILABLE, f"media log: {reason}")
        return delivered

    def close(self) -> None:
        self.producer.flush(DELIVERY_TIMEOUT_S)
