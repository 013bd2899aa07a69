"""`python -m streams.expiry`: the expiry processor's composition root."""

from __future__ import annotations

import sys

from kafkalog.cold.reader import ArchiveReader
from kafkalog.worker import run_until_signalled
from sealing.keystore import SqliteKeyStore
from streams.expiry.book import ExpiryBook
from streams.expiry.processor import ExpiryConfig, ExpiryProcessor
from streams.expiry.settings import ExpirySettings
from streams.process import start_process
from streams.store import RocksStore


def main() -> int:
    tracing = start_process("parley-expiry")
    settings = ExpirySettings()
    store = RocksStore(
        settings.state_dir / f"{settings.topic_prefix}-expiry-{settings.expiry_instance}"
    )
    keys = SqliteKeyStore(settings.key_store_path)
    processor = ExpiryProcessor(
        ExpiryConfig(
            bootstrap=settings.kafka_bootstrap,
            topics=settings.topics(),
            group_id=settings.group,
            instance_id=f"{settings.group}-{settings.expiry_instance}",
            tick_s=settings.expiry_tick_s,
            retry_s=settings.expiry_retry_s,
        ),
        ExpiryBook(store),
        keys,
        archive=ArchiveReader.at(settings, settings.topics().events.role),
    )

    def close() -> None:
        keys.close()
        store.close()

    return run_until_signalled(processor, then=close, tracing=tracing)


if __name__ == "__main__":
    sys.exit(main())
