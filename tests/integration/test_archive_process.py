"""The archive process (`python -m projections.archive`) on the real broker and the real S3
server: every record of the log in exactly one object after kill -9 of the process (twice,
while it uploads a backlog) and the S3 server stopped and started again under it; idle
partitions still reach S3; and a clean stop uploads what is open."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from infra.objectstore import LocalObjectStore
from kafkalog.cold.layout import Family, family_prefix
from kafkalog.cold.reader import ArchiveReader
from tests.integration.archive import (
    ArchiveProcess,
    archived_to,
    assert_exactly_once,
    log_records,
    platform,
    produce_transactionally,
    s3_store,
    simulated,
)
from tests.integration.log import fresh_topics
from tests.integration.processes import wait_until

pytestmark = pytest.mark.integration

PARTITIONS = 3
SMALL_OBJECTS = {"PARLEY_ARCHIVE_MAX_RECORDS": "1500", "PARLEY_ARCHIVE_MAX_AGE_S": "2"}
"""Objects of at most 1,500 records, so that the backlog goes up as dozens of objects and
a kill lands among uploads; and an age cut of 2 s, so the tail reaches S3 soon."""


@pytest.mark.timeout(900)
def test_kill_9_of_the_process_and_an_s3_restart_archive_every_record_once(
    tmp_path: Path,
) -> None:
    topics = fresh_topics(partitions=PARTITIONS)
    store = s3_store()
    load = simulated(40_000, partitions=PARTITIONS, days=1, seed=3)
    backlog, tail = load[:30_000], load[30_000:]
    produce_transactionally(topics, backlog)
    archiver = ArchiveProcess(topics, tmp_path / "state", tmp_path / "archive.log", SMALL_OBJECTS)
    events_prefix = family_prefix(archiver.root, Family.TABLE, "events")

    def objects() -> int:
        return len(store.list_keys(events_prefix))

    def more_objects(than: int, what: str) -> None:
        wait_until(lambda: objects() >= than + 3, 300, what)

    archiver.start()
    more_objects(0, "the first objects")
    archiver.kill()
    archiver.start()
    more_objects(objects(), "objects after the first kill")
    server = LocalObjectStore(platform().model_copy(update={"s3_endpoint": None}))
    assert server.process.is_running(), "the test's s3proxy is started by infra (make test)"
    before_restart = objects()
    server.process.stop()
    threading.Timer(3.0, server.start).start()
    more_objects(before_restart, "uploads once the S3 server is back")
    assert archiver.alive(), "the writer waited for S3 rather than stop"
    archiver.kill()
    archiver.start()
    produce_transactionally(topics, tail)

    events = log_records(topics.events.name, sum(1 for r in load if r.topic == "events"))
    accounts = log_records(topics.accounts.name, sum(1 for r in load if r.topic == "accounts"))
    for topic, fed in (("events", events), ("accounts", accounts)):
        ends = {p: max(r.offset for r in fed if r.partition == p) + 1 for p in range(PARTITIONS)}
        wait_until(
            lambda t=topic, e=ends: all(  # type: ignore[misc]
                archived_to(store, archiver.root, t, PARTITIONS)[p] >= e[p] for p in e
            ),
            120,
            f"the archive of {topic} to reach the log's end (idle partitions cut by age)",
        )
    assert archiver.stop() == 0, archiver.log()[-3000:]
    assert "Traceback" not in archiver.log()
    assert_exactly_once(store, archiver.root, events)
    reader = ArchiveReader(store, "accounts", root=archiver.root)
    for partition in range(PARTITIONS):
        assert [(r.offset, r.value) for r in reader.records(partition)] == [
            (r.offset, r.value) for r in accounts if r.partition == partition
        ]
