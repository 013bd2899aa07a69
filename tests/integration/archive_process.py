"""`python -m tests.integration.archive_process ROOT SPOOL MARKER`: an archive writer in a
process of its own, fed the test's simulated events, that stops dead (sleeps until
SIGKILLed) in the middle of a multipart upload once MARKER is written, so the test can
kill -9 it exactly there."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from projections.archive.cuts import CutLimits
from tests.integration.archive import as_archive, feed_from, new_writer, s3_store, simulated

EVENTS = 140_000
LIMITS = CutLimits(max_records=65_000)
HANG_AT_PART = 1
HANG_IN_UPLOAD = 2
"""A `raw` object of 65,000 events is over 5 MiB (S3's and s3proxy's smallest part), so it
goes up in two parts (its `table` twin, smaller, in one put). The writer hangs after the
first part of the second multipart upload: the first range is whole in S3 (raw and table),
the second range's raw is half uploaded."""


class HangingClient:
    """The real boto3 client, except that it stops for good in the middle of an upload."""

    def __init__(self, client: Any, marker: Path) -> None:
        self._client = client
        self._marker = marker
        self._uploads = 0

    def create_multipart_upload(self, **kwargs: Any) -> Any:
        self._uploads += 1
        return self._client.create_multipart_upload(**kwargs)

    def upload_part(self, **kwargs: Any) -> Any:
        answer = self._client.upload_part(**kwargs)
        if self._uploads == HANG_IN_UPLOAD and kwargs["PartNumber"] == HANG_AT_PART:
            self._marker.write_text(kwargs["Key"])
            while True:
                time.sleep(1)
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def main(root: str, spool: str, marker: str) -> int:
    store = s3_store()
    store.client = HangingClient(store.client, Path(marker))  # type: ignore[assignment]
    writer = new_writer(store, root, Path(spool), limits=LIMITS)
    feed_from(writer, as_archive(simulated(EVENTS, partitions=1, days=1)), range(1))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
