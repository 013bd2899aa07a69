"""`python -m projections <view> [follow|rebuild]`: runs one view, or rebuilds it.

`rebuild` deletes the view's store first; the view then replays the events topic from
offset 0 through the same loop as a live start, and goes on following it. Stop the live
process of that view first (`make stop`, or kill it): one store has one writer.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from types import FrameType

from confluent_kafka import KafkaException

from projections import metrics
from projections.dead_letters import DeadLetters
from projections.follower import FollowerConfig, ViewFollower
from projections.history.store import HistoryBatch, HistoryStore
from projections.inbox.store import InboxBatch, InboxStore
from projections.settings import ViewSettings
from projections.store import ViewBatch, ViewStore
from schemas.topics import declare_topics
from telemetry.logs import configure_logging

log = logging.getLogger("parley.views")
RESTART_PAUSE_S = 2.0

VIEWS: dict[str, tuple[type[ViewStore], type[ViewBatch]]] = {
    "history": (HistoryStore, HistoryBatch),
    "inbox": (InboxStore, InboxBatch),
}


def main(argv: list[str] | None = None, view: str | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m projections{'.' + view if view else ''}")
    if view is None:
        parser.add_argument("view", choices=sorted(VIEWS))
    parser.add_argument("command", nargs="?", choices=["follow", "rebuild"], default="follow")
    args = parser.parse_args(argv)
    name: str = view or args.view
    configure_logging(f"parley-{name}")
    metrics.start(name)
    return run(name, rebuild=args.command == "rebuild")


def run(view: str, *, rebuild: bool) -> int:
    store_type, batch_type = VIEWS[view]
    settings = ViewSettings()
    topics = declare_topics(settings.topic_prefix, partitions=settings.partitions)
    path = settings.store_path(view)
    if rebuild:
        log.info("rebuild of %s: deleting %s", view, path)
        ViewStore.destroy(path)
    store = store_type(path)
    follower = ViewFollower(
        FollowerConfig(
            bootstrap=settings.kafka_bootstrap,
            events_topic=topics.events.name,
            partitions=topics.events.partitions,
            group_id=settings.group_id(view),
            member_id=settings.member_id(view),
            max_batch=settings.max_batch,
            view=view,
        ),
        store,
        batch_type,
        DeadLetters(settings.kafka_bootstrap, topics.dead_letters.name),
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        follower.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        follower.run()
    except KafkaException as e:
        if e.args[0].fatal() or follower.stopping.is_set():
            raise
        log.error("transient Kafka error, restarting in %.0f s: %s", RESTART_PAUSE_S, e)
        store.close()
        time.sleep(RESTART_PAUSE_S)
        restart_in_place()
    finally:
        store.close()
    return 0


def restart_in_place() -> None:
    """A fresh process, as a supervisor would start: the store is the position, so a view
    resumes exactly where its last batch ended."""
    logging.shutdown()
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
