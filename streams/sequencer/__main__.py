"""`python -m streams.sequencer`: the sequencer process's composition root: one lane (a
transactional loop with its own share of the partitions) per `sequencer_lanes`, over one
store (streams/lanes.py)."""

from __future__ import annotations

import sys

from kafkalog.cold.reader import ArchiveReader
from kafkalog.worker import run_until_signalled
from streams.lanes import Lanes, lane_id
from streams.process import start_process
from streams.sequencer.settings import SequencerSettings
from streams.sequencer.state import SequencerState
from streams.sequencer.worker import ConversationSequencer
from streams.store import RocksStore
from streams.transactional import LoopConfig, TransactionalLoop
from streams.watchdog import StuckCallWatchdog
from telemetry.tracing import Tracing


def lane(
    settings: SequencerSettings, store: RocksStore, k: int, tracing: Tracing
) -> TransactionalLoop:
    topics = settings.topics()
    sequencer = ConversationSequencer(
        bootstrap=settings.kafka_bootstrap,
        topics=topics,
        state=SequencerState(store),
        max_command_bytes=settings.max_command_bytes,
        group_id=settings.group,
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
    lanes = Lanes([lane(settings, store, k, tracing) for k in range(settings.sequencer_lanes)])
    return run_until_signalled(lanes, then=store.close, tracing=tracing)


if __name__ == "__main__":
    sys.exit(main())
