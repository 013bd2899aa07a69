"""`python -m projections.history [rebuild]`: the history view's composition root.

`rebuild` deletes the store first; the view then replays the events topic from offset 0
through the same loop as a live start, and goes on following it.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from types import FrameType

from projections.history import metrics
from projections.history.dead_letters import DeadLetters
from projections.history.follower import FollowerConfig, HistoryFollower
from projections.history.settings import HistorySettings
from projections.history.store import HistoryStore
from schemas.topics import declare_topics
from telemetry.logs import configure_logging

log = logging.getLogger("parley.history")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m projections.history")
    parser.add_argument("command", nargs="?", choices=["follow", "rebuild"], default="follow")
    args = parser.parse_args(argv)
    configure_logging("parley-history")
    settings = HistorySettings()
    metrics.ready.labels(metrics.VIEW).set(0)
    metrics.serve_if_configured()
    topics = declare_topics(settings.topic_prefix, partitions=settings.partitions)
    path = settings.store_path()
    if args.command == "rebuild":
        log.info("rebuild: deleting %s", path)
        HistoryStore.destroy(path)
    store = HistoryStore(path)
    follower = HistoryFollower(
        FollowerConfig(
            bootstrap=settings.kafka_bootstrap,
            events_topic=topics.events.name,
            partitions=topics.events.partitions,
            group_id=settings.group_id(),
            member_id=settings.member_id(),
            max_batch=settings.max_batch,
        ),
        store,
        DeadLetters(settings.kafka_bootstrap, topics.dead_letters.name),
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        follower.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        follower.run()
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
