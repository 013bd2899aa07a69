"""`python -m streams.fanout`: the fan-out process's composition root."""

from __future__ import annotations

import sys

from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.topics import declare_topics
from streams.fanout.processor import FanOut, FanOutConfig
from streams.process import run_until_signalled, start_process


class FanOutSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:19092"
    topic_prefix: str = "parley"
    partitions: int = 8
    fanout_group: str = "parley-fanout"


def main() -> int:
    tracing = start_process("parley-fanout")
    settings = FanOutSettings()
    fanout = FanOut(
        FanOutConfig(
            bootstrap=settings.kafka_bootstrap,
            topics=declare_topics(settings.topic_prefix, partitions=settings.partitions),
            group_id=f"{settings.topic_prefix}-{settings.fanout_group}",
        ),
        tracing,
    )
    return run_until_signalled(fanout, tracing=tracing)


if __name__ == "__main__":
    sys.exit(main())
