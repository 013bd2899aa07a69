"""`python -m streams.fanout`: the fan-out process's composition root."""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType

from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.topics import declare_topics
from streams import metrics
from streams.fanout.processor import FanOut, FanOutConfig


class FanOutSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:19092"
    topic_prefix: str = "parley"
    partitions: int = 8
    fanout_group: str = "parley-fanout"


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    metrics.serve_if_configured()
    settings = FanOutSettings()
    fanout = FanOut(
        FanOutConfig(
            bootstrap=settings.kafka_bootstrap,
            topics=declare_topics(settings.topic_prefix, partitions=settings.partitions),
            group_id=f"{settings.topic_prefix}-{settings.fanout_group}",
        )
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        fanout.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    fanout.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
