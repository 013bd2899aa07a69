"""`python -m streams.sequencer`: the sequencer process's composition root."""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType

from schemas.topics import declare_topics
from streams import metrics
from streams.sequencer.settings import SequencerSettings
from streams.sequencer.state import SequencerState
from streams.sequencer.store import RocksStore
from streams.sequencer.worker import ConversationSequencer
from streams.transactional import LoopConfig, TransactionalLoop
from streams.watchdog import StuckCallWatchdog


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    metrics.serve_if_configured()
    settings = SequencerSettings()
    topics = declare_topics(settings.topic_prefix, partitions=settings.partitions)
    store = RocksStore(
        settings.state_dir / f"{settings.topic_prefix}-sequencer-{settings.sequencer_instance}"
    )
    sequencer = ConversationSequencer(
        bootstrap=settings.kafka_bootstrap,
        topics=topics,
        state=SequencerState(store),
        max_command_bytes=settings.max_command_bytes,
    )
    loop = TransactionalLoop(
        LoopConfig(
            bootstrap=settings.kafka_bootstrap,
            input_topic=topics.commands.name,
            group_id=settings.group,
            transactional_id=f"{settings.group}-{settings.sequencer_instance}",
            max_batch=settings.max_batch,
            kafka_debug=settings.kafka_debug,
        ),
        sequencer,
        StuckCallWatchdog(settings.stuck_after_s),
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        loop.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        loop.run()
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
