"""`python -m streams.accounts`: the account registry process's composition root."""

from __future__ import annotations

import sys

from kafkalog.cold.reader import ArchiveReader
from kafkalog.worker import run_until_signalled
from streams.accounts.registry import AccountRegistry
from streams.accounts.settings import AccountsSettings
from streams.accounts.state import AccountState
from streams.process import start_process
from streams.store import RocksStore
from streams.transactional import LoopConfig, TransactionalLoop
from streams.watchdog import StuckCallWatchdog


def main() -> int:
    tracing = start_process("parley-accounts")
    settings = AccountsSettings()
    topics = settings.topics()
    store = RocksStore(
        settings.state_dir / f"{settings.topic_prefix}-accounts-{settings.accounts_instance}"
    )
    registry = AccountRegistry(
        bootstrap=settings.kafka_bootstrap,
        topics=topics,
        state=AccountState(store),
        group_id=settings.group,
        archive=ArchiveReader.at(settings, topics.accounts.role),
    )
    loop = TransactionalLoop(
        LoopConfig(
            bootstrap=settings.kafka_bootstrap,
            input_topic=topics.account_commands.name,
            group_id=settings.group,
            transactional_id=f"{settings.group}-{settings.accounts_instance}",
            max_batch=settings.max_batch,
            span_name="account command",
        ),
        registry,
        StuckCallWatchdog(settings.stuck_after_s),
        tracing,
    )
    return run_until_signalled(loop, then=store.close, tracing=tracing)


if __name__ == "__main__":
    sys.exit(main())
