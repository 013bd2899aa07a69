"""`python -m projections.archive`: the archive process's composition root.

One consumer in the group `<prefix>-archive` follows the events and accounts topics and
feeds one writer each (follower.py); more instances (PARLEY_ARCHIVE_INSTANCE) share the
partitions. Until SIGTERM, which uploads what is open before it exits.
"""

from __future__ import annotations

import sys

from kafkalog.worker import run_until_signalled
from projections.archive import metrics
from projections.archive.follower import ArchiveConfig, ArchiveFollower
from projections.archive.settings import ARCHIVED_TOPICS, ArchiveSettings
from projections.archive.writer import ArchiveWriter
from telemetry.logs import configure_logging


def main() -> int:
    configure_logging("parley-archive")
    settings = ArchiveSettings()
    metrics.start(ARCHIVED_TOPICS)
    topics = {spec.role.value: spec for spec in settings.topics().all()}
    store = settings.object_store()
    writers = {
        topics[role].name: ArchiveWriter(
            store,
            role,
            root=settings.archive_prefix,
            limits=settings.limits,
            spool_dir=settings.spool_dir / role,
            compact_bytes=settings.archive_compact_bytes,
            compact_objects=settings.archive_compact_objects,
        )
        for role in ARCHIVED_TOPICS
    }
    follower = ArchiveFollower(
        ArchiveConfig(
            bootstrap=settings.kafka_bootstrap,
            group_id=settings.group_id,
            member_id=f"{settings.group_id}-{settings.archive_instance}",
        ),
        writers,
    )
    return run_until_signalled(follower)


if __name__ == "__main__":
    sys.exit(main())
