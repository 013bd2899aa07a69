"""How a processor that is no sequencer reads its consumer group: a static member that
commits by itself, and a follower that decodes each record once and parks what it cannot
use in the dead letters (kafkalog's policy), with the metrics every processor reports.
The fan-out, the expiry processor and the media workers read this way."""

from __future__ import annotations

from typing import TypeVar

from confluent_kafka import Consumer

from kafkalog.dead_letters import DeadLetters
from kafkalog.decoding import Decoder
from kafkalog.follower import Follower, Park
from kafkalog.output import AckedOutput
from kafkalog.presets import PROCESSOR, ConsumerPreset, group_consumer
from streams import metrics
from telemetry.lag import LagSampler

T = TypeVar("T")


def parked_member(
    bootstrap: str,
    *,
    group_id: str,
    instance_id: str,
    dead_letters_topic: str,
    parking: AckedOutput,
    decode: Decoder[T],
    preset: ConsumerPreset = PROCESSOR,
) -> tuple[Consumer, Follower[T]]:
    """The group's consumer and its follower; `parking` writes the dead letters."""
    consumer = Consumer(
        group_consumer(bootstrap, preset, group_id=group_id, instance_id=instance_id)
    )
    dead_letters = DeadLetters(dead_letters_topic, group_id, metrics.dead_letters)
    follower = Follower(
        consumer,
        decode,
        Park(dead_letters, parking),
        kafka_errors=metrics.kafka_errors,
        lag=LagSampler(metrics.consumer_lag, group_id),
    )
    return consumer, follower
