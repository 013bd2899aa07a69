"""`python -m streams.sequencer`: the sequencer process's composition root: one lane (a
transactional loop with its own share of the partitions) per `sequencer_lanes`, over one
store and one media book (streams/lanes.py, streams/sequencer/media_feed.py)."""

from __future__ import annotations

import sys
from datetime import timedelta

from kafkalog.cold.reader import ArchiveReader
from kafkalog.worker import run_until_signalled
from media.settings import MediaSettings
from sealing.lifetimes import LifetimeSettings
from streams.lanes import Lanes, lane_id
from streams.process import start_process
from streams.sequencer.media_feed import MediaFeed
from streams.sequencer.rules import Limits
from streams.sequencer.settings import SequencerSettings
from streams.sequencer.state import SequencerState
from streams.sequencer.worker import ConversationSequencer
from streams.store import RocksStore
from streams.transactional import LoopConfig, TransactionalLoop
from streams.watchdog import StuckCallWatchdog
from telemetry.tracing import Tracing

MEDIA_WINDOW_MARGIN = timedelta(hours=1)
"""The book reaches back an hour further than the attach window: clocks disagree."""


def lane(
    settings: SequencerSettings,
    store: RocksStore,
    *,
    media: MediaFeed,
    k: int,
    tracing: Tracing,
    limits: Limits,
) -> TransactionalLoop:
    """Lane `k`; every lane checks attachments against the process's one media book."""
    topics = settings.topics()
    sequencer = ConversationSequencer(
        bootstrap=settings.kafka_bootstrap,
        topics=topics,
        state=SequencerState(store),
        limits=limits,
        max_command_bytes=settings.max_command_bytes,
        group_id=settings.group,
        media=media,
        archive=ArchiveReader.at(settings, topics.events.role),
    )
    return TransactionalLoop(
        LoopConfig(
            bootstrap=settings.kafka_bootstrap,
            input_topic=topics.commands.name,
            group_id=settings.group,
            transactional_id=lane_id(f"{settings.group}-{settings.sequencer_instance}", k),
            max_batch=settings.max_batch,
            span_name="sequence",
            kafka_debug=settings.kafka_debug,
        ),
        sequencer,
        StuckCallWatchdog(settings.stuck_after_s),
        tracing,
    )


def main() -> int:
    tracing = start_process("parley-sequencer")
    settings = SequencerSettings()
    store = RocksStore(
        settings.state_dir / f"{settings.topic_prefix}-sequencer-{settings.sequencer_instance}"
    )
    attach_window_s = MediaSettings().unattached_ttl_s
    media = MediaFeed(
        settings.kafka_bootstrap,
        settings.topics().media,
        window=timedelta(seconds=attach_window_s) + MEDIA_WINDOW_MARGIN,
    )
    media.start()
    limits = Limits(
        attach_window_s=attach_window_s,
        disappearing_choices_ms=LifetimeSettings().disappearing_choices_ms,
    )
    lanes = Lanes(
        [
            lane(settings, store, media=media, k=k, tracing=tracing, limits=limits)
            for k in range(settings.sequencer_lanes)
        ]
    )

    def close() -> None:
        media.close()
        store.close()

    return run_until_signalled(lanes, then=close, tracing=tracing)


if __name__ == "__main__":
    sys.exit(main())
