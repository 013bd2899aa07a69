"""`python -m streams.sequencer`: the sequencer process's composition root."""

from __future__ import annotations

import sys
from datetime import timedelta

from kafkalog.cold.reader import ArchiveReader
from kafkalog.worker import run_until_signalled
from media.settings import MediaSettings
from streams.process import start_process
from streams.sequencer.media_feed import MediaFeed
from streams.sequencer.rules import Limits
from streams.sequencer.settings import SequencerSettings
from streams.sequencer.state import SequencerState
from streams.sequencer.worker import ConversationSequencer
from streams.store import RocksStore
from streams.transactional import LoopConfig, TransactionalLoop
from streams.watchdog import StuckCallWatchdog

MEDIA_WINDOW_MARGIN = timedelta(hours=1)
"""The book reaches back an hour further than the attach window: clocks disagree."""


def main() -> int:
    tracing = start_process("parley-sequencer")
    settings = SequencerSettings()
    topics = settings.topics()
    store = RocksStore(
        settings.state_dir / f"{settings.topic_prefix}-sequencer-{settings.sequencer_instance}"
    )
    attach_window_s = MediaSettings().unattached_ttl_s
    media = MediaFeed(
        settings.kafka_bootstrap,
        topics.media,
        window=timedelta(seconds=attach_window_s) + MEDIA_WINDOW_MARGIN,
    )
    media.start()
    sequencer = ConversationSequencer(
        bootstrap=settings.kafka_bootstrap,
        topics=topics,
        state=SequencerState(store),
        limits=Limits(attach_window_s=attach_window_s),
        max_command_bytes=settings.max_command_bytes,
        group_id=settings.group,
        media=media,
        archive=ArchiveReader.at(settings, topics.events.role),
    )
    loop = TransactionalLoop(
        LoopConfig(
            bootstrap=settings.kafka_bootstrap,
            input_topic=topics.commands.name,
            group_id=settings.group,
            transactional_id=f"{settings.group}-{settings.sequencer_instance}",
            max_batch=settings.max_batch,
            span_name="sequence",
            kafka_debug=settings.kafka_debug,
        ),
        sequencer,
        StuckCallWatchdog(settings.stuck_after_s),
        tracing,
    )

    def close() -> None:
        media.close()
        store.close()

    return run_until_signalled(loop, then=close, tracing=tracing)


if __name__ == "__main__":
    sys.exit(main())
