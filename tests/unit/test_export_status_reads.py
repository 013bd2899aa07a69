"""The export status read outlasts its object being replaced (edge/compliance/exports.py)."""

from __future__ import annotations

from typing import cast

import pytest

from edge.compliance import exports
from edge.compliance.exports import ExportStore
from edge.protocol.compliance import ExportProgress, ExportStatus
from objectstore.store import ObjectStore

EXPORT_ID = "0123456789abcdef0123456789abcdef"
STATUS = ExportStatus(
    export_id=EXPORT_ID,
    case="CASE-1",
    subject="conversation:c1",
    mode="as_of",
    as_of_ms=1,
    state="running",
    progress=ExportProgress(),
    created_at_ms=1,
    updated_at_ms=2,
    expires_at_ms=3,
)


class ReplacedObjects:
    """An object store whose status object is gone, then cut short, then whole: as s3proxy's
    file store serves an object while the job process replaces it."""

    def __init__(self, reads: list[bytes | None]) -> None:
        self.reads = reads
        self.asked = 0

    def get_if_exists(self, key: str) -> bytes | None:
        self.asked += 1
        return self.reads.pop(0) if self.reads else None


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports, "STATUS_REREAD_S", 0.0)


def test_a_status_being_replaced_is_read_again() -> None:
    """Regression (make test): a GET of a running export on the other edge answered 404
    `no such export`, its status object read while the job replaced it."""
    whole = STATUS.model_dump_json().encode()
    objects = ReplacedObjects([None, whole[:20], whole])
    store = ExportStore(cast(ObjectStore, objects), "exports/")
    assert store.status(EXPORT_ID) == STATUS
    assert objects.asked == 3


def test_an_unknown_export_is_none_after_a_few_reads() -> None:
    objects = ReplacedObjects([])
    store = ExportStore(cast(ObjectStore, objects), "exports/")
    assert store.status(EXPORT_ID) is None
    assert objects.asked == exports.STATUS_READS
    assert store.status("not-an-id") is None
    assert objects.asked == exports.STATUS_READS
