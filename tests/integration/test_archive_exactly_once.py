"""The archive holds every event exactly once in real S3 (s3proxy) after kill -9 in the middle
of a multipart upload, an S3 server restart mid-run, injected S3 errors and throttling, and
a compaction cut short; and reads back in order."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from infra.objectstore import LocalObjectStore
from kafkalog.cold.layout import Family, family_prefix
from kafkalog.cold.reader import ArchiveReader
from projections.archive.compaction import compact_day
from projections.archive.cuts import CutLimits
from projections.archive.writer import ArchiveWriter
from tests.integration.archive import (
    as_archive,
    assert_exactly_once,
    feed_from,
    fresh_root,
    incomplete_uploads,
    new_writer,
    platform,
    s3_store,
    simulated,
)
from tests.integration.archive_process import EVENTS, LIMITS
from tests.integration.processes import wait_until


def test_archive_reads_back_in_order_and_ignores_records_fed_twice(tmp_path: Path) -> None:
    store, root = s3_store(), fresh_root()
    fed = as_archive(simulated(6_000, partitions=3, days=3))
    writer = new_writer(store, root, tmp_path, limits=CutLimits(max_records=700))
    positions = writer.open(range(3))
    assert positions == {0: None, 1: None, 2: None}
    for record in fed[:4_000] + fed[3_000:]:  # a follower that re-reads 1,000 records
        writer.add(record)
    writer.flush()
    assert writer.stats.skipped == 1_000
    assert_exactly_once(store, root, fed)
    reader = ArchiveReader(store, "events", root=root)
    for partition in range(3):
        mine = [r for r in fed if r.partition == partition]
        assert list(reader.records(partition)) == mine
        middle = mine[len(mine) // 2].offset
        assert list(reader.records(partition, middle)) == [r for r in mine if r.offset >= middle]
        assert reader.end(partition) == mine[-1].offset + 1


@pytest.mark.timeout(900)
def test_kill_9_in_the_middle_of_a_multipart_upload(tmp_path: Path) -> None:
    """The writer dies between parts of a multipart upload; the next writer aborts the
    upload, resumes after the last whole object and archives the rest exactly once."""
    store, root = s3_store(), fresh_root()
    marker = tmp_path / "hung"
    with (tmp_path / "writer.log").open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.integration.archive_process",
                root,
                str(tmp_path),
                str(marker),
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        wait_until(
            lambda: marker.exists() or process.poll() is not None,
            600,
            "the writer to reach the middle of a multipart upload",
        )
        assert process.poll() is None, (tmp_path / "writer.log").read_text()
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    assert incomplete_uploads(store, root) == 1, "the upload the kill interrupted is pending"
    hung_key = marker.read_text()
    assert all(o.key != hung_key for o in store.list_keys(f"{root}/"))
    whole = len(store.list_keys(family_prefix(root, Family.TABLE, "events")))
    assert whole == 1, "the range before the crash is archived whole"

    other = new_writer(store, root, tmp_path / "other", limits=LIMITS)
    assert other.open([1]) == {1: None}
    assert incomplete_uploads(store, root) == 1, "a writer of another partition leaves it"

    fed = as_archive(simulated(EVENTS, partitions=1, days=1))
    writer = new_writer(store, root, tmp_path / "second", limits=LIMITS)
    feed_from(writer, fed, range(1))
    assert writer.stats.uploads_aborted == 1
    assert incomplete_uploads(store, root) == 0
    assert_exactly_once(store, root, fed)


def test_s3_server_restart_in_the_middle_of_a_run(tmp_path: Path) -> None:
    """s3proxy is killed while objects are going up and started again seconds later: the
    writer retries until it answers, and nothing is lost or doubled."""
    store, root = s3_store(), fresh_root()
    fed = as_archive(simulated(12_000, partitions=2, days=1))
    writer = new_writer(store, root, tmp_path, limits=CutLimits(max_records=1_000))
    positions = writer.open(range(2))
    assert positions == {0: None, 1: None}
    half = len(fed) // 2
    for record in fed[:half]:
        writer.add(record)
    server = LocalObjectStore(platform().model_copy(update={"s3_endpoint": None}))
    assert server.process.is_running(), "the test's s3proxy is started by infra (make test)"
    pid = server.process.pid()
    assert pid is not None
    server.process.stop()
    restarted = threading.Event()

    def start_again() -> None:
        server.start()
        restarted.set()

    later = threading.Timer(3.0, start_again)
    later.start()
    try:
        for record in fed[half:]:
            writer.add(record)  # the cuts in here wait for the server to come back
        writer.flush()
    finally:
        later.join()
    assert restarted.is_set()
    assert server.process.pid() != pid
    assert_exactly_once(store, root, fed)


class FlakyClient:
    """The real client, failing as S3 does under load: every third call throttled
    (SlowDown) or refused (500, connection refused) before it reaches the server, and the
    answer to every fourth completed upload lost after the server stored the object (so
    the retry repeats an upload that already landed)."""

    FAILING = ("put_object", "upload_part", "complete_multipart_upload", "create_multipart_upload")

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls = 0
        self.completions = 0
        self.injected = 0
        self.lost = 0

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._client, name)
        if name not in self.FAILING:
            return real

        def call(**kwargs: Any) -> Any:
            self.calls += 1
            if self.calls % 3 == 0:
                self.injected += 1
                raise self._failure()
            answer = real(**kwargs)
            if name in ("complete_multipart_upload", "put_object"):
                self.completions += 1
                if self.completions % 4 == 0:
                    self.lost += 1
                    raise EndpointConnectionError(endpoint_url="lost answer")
            return answer

        return call

    def _failure(self) -> Exception:
        kind = self.calls // 3 % 3
        if kind == 2:
            return EndpointConnectionError(endpoint_url="injected")
        code, status = ("SlowDown", 503) if kind == 0 else ("InternalError", 500)
        answer: Any = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
        return ClientError(answer, "op")


def test_injected_s3_errors_and_throttling(tmp_path: Path) -> None:
    store, root = s3_store(), fresh_root()
    flaky = FlakyClient(store.client)
    store.client = flaky  # type: ignore[assignment]
    store.sleep = lambda seconds: None
    fed = as_archive(simulated(20_000, partitions=2, days=1))
    writer = new_writer(store, root, tmp_path, limits=CutLimits(max_records=4_000))
    feed_from(writer, fed, range(2))
    assert flaky.injected >= 8
    assert flaky.lost >= 4
    store.client = flaky._client
    assert_exactly_once(store, root, fed)
    assert incomplete_uploads(store, root) == 0


@pytest.mark.parametrize("dies_after", ["uploaded raw", "uploaded table", "deleted table"])
def test_compaction_cut_short_leaves_every_event_once(tmp_path: Path, dies_after: str) -> None:
    """Compaction dies after each of its steps; the next writer's start resolves the chain
    (the merged object wins) and deletes the leftovers."""
    store, root = s3_store(), fresh_root()
    fed = as_archive(simulated(3_000, partitions=1, days=1))
    writer = new_writer(store, root, tmp_path, limits=CutLimits(max_records=300))
    feed_from(writer, fed, range(1))
    first_day = writer.partitions[0].manifest.objects[0].day
    that_day = [o for o in writer.partitions[0].manifest.objects if o.day == first_day]
    before = len(store.list_keys(family_prefix(root, Family.TABLE, "events")))
    assert len(that_day) >= 8

    class DiedError(Exception):
        pass

    def crash(step: str) -> None:
        if step == dies_after:
            raise DiedError(step)

    with pytest.raises(DiedError):
        compact_day(
            store,
            root,
            "events",
            0,
            first_day,
            target_bytes=1 << 30,
            spool_dir=tmp_path,
            crash_point=crash,
        )
    again = new_writer(store, root, tmp_path)
    assert again.open(range(1)) == {0: fed[-1].offset + 1}
    assert_exactly_once(store, root, fed)
    after = len(store.list_keys(family_prefix(root, Family.TABLE, "events")))
    merged = 0 if dies_after == "uploaded raw" else len(that_day) - 1
    assert after == before - merged
    assert list(ArchiveReader(store, "events", root=root).records(0)) == fed


def test_the_current_day_is_merged_as_its_objects_pile_up(tmp_path: Path) -> None:
    """Age cuts make an object a minute per partition: without merging the current day,
    a query of today would read hundreds of small objects. Every `compact_objects` uploads
    the day's objects are merged, and every event is still archived once."""
    store, root = s3_store(), fresh_root()
    fed = as_archive(simulated(4_000, partitions=1, days=1))
    writer = ArchiveWriter(
        store,
        "events",
        root=root,
        spool_dir=tmp_path,
        limits=CutLimits(max_records=100),
        compact_bytes=1 << 30,
        compact_objects=10,
    )
    feed_from(writer, fed, range(1))
    assert writer.stats.objects >= 40
    assert writer.stats.merged >= 30
    listed = store.list_keys(family_prefix(root, Family.TABLE, "events"))
    assert len(listed) < 10, [o.key for o in listed]
    assert_exactly_once(store, root, fed)
    assert list(ArchiveReader(store, "events", root=root).records(0)) == fed
