"""The sequencer's settings, from PARLEY_* environment variables."""

from __future__ import annotations

from pydantic import Field

from kafkalog.settings import LogSettings


class SequencerSettings(LogSettings):
    sequencer_instance: str = Field(
        default="0", description="Stable per instance: its transactional id fences its zombie"
    )
    sequencer_group: str = Field(default="", description="Default: <topic_prefix>-sequencer")
    sequencer_lanes: int = Field(
        default=4,
        ge=1,
        description="Transactional loops in this process, each with its share of the "
        "partitions (streams/lanes.py)",
    )
    max_batch: int = Field(default=1000, ge=1)
    kafka_debug: str = Field(default="", description="librdkafka debug contexts, e.g. eos,cgrp")
    stuck_after_s: float = Field(
        default=12.0,
        gt=0,
        description="A Kafka call of a transaction blocked this long (its own timeout is "
        "10 s) restarts the process: streams/watchdog.py",
    )
    max_command_bytes: int = Field(default=256 * 1024, ge=1024)

    @property
    def group(self) -> str:
        """Consumer group and transactional-id stem, per topic set: static membership and
        fencing must never span two deployments sharing a broker."""
        return self.sequencer_group or f"{self.topic_prefix}-sequencer"
