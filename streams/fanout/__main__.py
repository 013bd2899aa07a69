"""`python -m streams.fanout`: the fan-out process's composition root."""

from __future__ import annotations

import sys

from kafkalog.cold.reader import ArchiveReader
from kafkalog.worker import run_until_signalled
from streams.fanout.memberships import Memberships
from streams.fanout.processor import FanOut, FanOutConfig
from streams.fanout.settings import FanOutSettings
from streams.process import start_process
from streams.store import RocksStore


def main() -> int:
    tracing = start_process("parley-fanout")
    settings = FanOutSettings()
    store = RocksStore(
        settings.state_dir / f"{settings.topic_prefix}-fanout-{settings.fanout_instance}"
    )
    fanout = FanOut(
        FanOutConfig(
            bootstrap=settings.kafka_bootstrap,
            topics=settings.topics(),
            group_id=settings.group,
            instance_id=f"{settings.group}-{settings.fanout_instance}",
        ),
        Memberships(store),
        tracing,
        ArchiveReader.at(settings, settings.topics().events.role),
    )
    return run_until_signalled(fanout, then=store.close, tracing=tracing)


if __name__ == "__main__":
    sys.exit(main())
