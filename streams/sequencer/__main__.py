"""`python -m streams.sequencer`: the sequencer process's composition root."""

from __future__ import annotations

import sys

from kafkalog.cold.reader import ArchiveReader
from kafkalog.worker import run_until_signalled
from streams.process import start_process
from streams.sequencer.settings import SequencerSettings
from streams.sequencer.state import SequencerState
from streams.sequencer.worker import ConversationSequencer
from streams.store import RocksStore
from streams.transactional import LoopConfig, TransactionalLoop
from streams.watchdog import StuckCallWatchdog


def main() -> int:
    tracing = start_process("parley-sequencer")
    settings = SequencerSettings()
    topics = settings.topics()
    store = RocksStore(
        settings.state_dir / f"{settings.topic_prefix}-sequencer-{settings.sequencer_instance}"
    )
    sequencer = ConversationSequencer(
        bootstrap=settings.kafka_bootstrap,
        topics=topics,
        state=SequencerState(store),
        max_command_bytes=settings.max_command_bytes,
        group_id=settings.group,
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
    return run_until_signalled(loop, then=store.close, tracing=tracing)


if __name__ == "__main__":
    sys.exit(main())
