"""`python -m projections <view> [follow|rebuild]`: runs one view, or rebuilds it.

`rebuild` deletes the view's store first; the view then replays the events topic from
offset 0 through the same loop as a live start, and goes on following it. Where the log's
retention has dropped the oldest events, they come from the archive first, then the log
from where the archive ends (projections/follower.py); the rebuild stops with
`HistoryLostError` if some are in neither. Stop the live
process of that view first (`make stop`, or kill it): one store has one writer.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from kafkalog.cold.reader import ArchiveReader
from kafkalog.worker import run_until_signalled
from projections import metrics
from projections.follower import FollowerConfig, ViewFollower
from projections.history.store import HistoryBatch, HistoryStore
from projections.inbox.store import InboxBatch, InboxStore
from projections.search.store import SEARCH_MAX_BATCH, SearchBatch, SearchStore
from projections.settings import ViewSettings
from projections.store import TrackedStore, ViewKind, ViewStore
from sealing.bodies import BodyOpener
from sealing.settings import SealingSettings
from telemetry.logs import configure_logging

log = logging.getLogger("parley.views")


def open_search(path: Path) -> SearchStore:
    """The search view opens sealed bodies with this host's key store to index them."""
    return SearchStore(path, opener=BodyOpener(SealingSettings().open_sealer()))


VIEWS: dict[str, ViewKind[Any]] = {
    "history": ViewKind(HistoryStore, HistoryBatch, ViewStore.destroy),
    "inbox": ViewKind(InboxStore, InboxBatch, ViewStore.destroy),
    "search": ViewKind(open_search, SearchBatch, SearchStore.destroy, SEARCH_MAX_BATCH),
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
    """Until SIGTERM; a transient Kafka error restarts the process in place, as a supervisor
    would: the store is the position, so a view resumes exactly where its last batch ended."""
    kind = VIEWS[view]
    settings = ViewSettings()
    topics = settings.topics()
    path = settings.store_path(view)
    if rebuild:
        log.info("rebuild of %s: deleting %s", view, path)
        kind.destroy(path)
    store: TrackedStore = kind.open(path)
    follower = ViewFollower(
        FollowerConfig(
            bootstrap=settings.kafka_bootstrap,
            events_topic=topics.events.name,
            partitions=topics.events.partitions,
            group_id=settings.group_id(view),
            member_id=settings.member_id(view),
            dead_letters_topic=topics.dead_letters.name,
            max_batch=settings.max_batch or kind.max_batch,
            view=view,
        ),
        store,
        kind.new_batch,
        ArchiveReader.at(settings, topics.events.role),
    )
    return run_until_signalled(follower, then=store.close)


if __name__ == "__main__":
    sys.exit(main())
