"""One archive object being built: rows gathered as Arrow batches, written as zstd Parquet
row groups to local spool files (one per family), so memory stays bounded whatever the
object's size (at most one row group of each family)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from kafkalog.cold.layout import Family
from projections.archive.columns import RAW, TableLayout

BATCH_ROWS = 64 * 1024
"""Python rows become an Arrow batch this often: the rows' memory is the largest part."""
ROW_GROUP_ROWS = {Family.TABLE: 512 * 1024, Family.RAW: 64 * 1024}
"""Rows per Parquet row group. Analysts' queries fetch each column chunk of each row group
with a request of its own, so the `table` family's groups are large (about 75 MB of Arrow
while one gathers: so much per partition being written); a replay reads `raw` objects
whole, in any row groups."""
COMPRESSION: Literal["zstd"] = "zstd"
COMPRESSION_LEVEL = 3


class _Spool:
    """Rows of one family, gathered as Arrow batches and written to a local Parquet file a
    row group at a time."""

    def __init__(self, path: Path, schema: pa.Schema, row_group_rows: int) -> None:
        self.path = path
        self.schema = schema
        self.row_group_rows = row_group_rows
        self.rows: list[Sequence[Any]] = []
        self.batches: list[pa.RecordBatch] = []
        self.gathered = 0
        self.writer: pq.ParquetWriter | None = None

    def spill(self) -> None:
        """The Python rows as one Arrow batch; a row group once enough are gathered."""
        if self.rows:
            columns = list(zip(*self.rows, strict=True))
            self.batches.append(
                pa.RecordBatch.from_arrays(
                    [pa.array(c, type=f.type) for c, f in zip(columns, self.schema, strict=True)],
                    schema=self.schema,
                )
            )
            self.gathered += len(self.rows)
            self.rows = []
        if self.gathered >= self.row_group_rows:
            self._write()

    def _write(self) -> None:
        if not self.batches:
            return
        if self.writer is None:
            self.writer = pq.ParquetWriter(
                self.path,
                self.schema,
                compression=COMPRESSION,
                compression_level=COMPRESSION_LEVEL,
                use_dictionary=True,
                write_statistics=True,
            )
        self.writer.write_table(
            pa.Table.from_batches(self.batches, schema=self.schema),
            row_group_size=self.row_group_rows,
        )
        self.batches = []
        self.gathered = 0

    def finish(self) -> Path:
        self.spill()
        self._write()
        if self.writer is None:
            pq.write_table(self.schema.empty_table(), self.path, compression=COMPRESSION)
        else:
            self.writer.close()
        return self.path

    def discard(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.batches = []
        self.path.unlink(missing_ok=True)


class ObjectBuilder:
    """The two families' files of one object, filled record by record."""

    def __init__(self, spool_dir: Path, stem: str, layout: TableLayout) -> None:
        spool_dir.mkdir(parents=True, exist_ok=True)
        self.layout = layout
        self.table = _Spool(
            spool_dir / f"{stem}.table.parquet", layout.schema, ROW_GROUP_ROWS[Family.TABLE]
        )
        self.raw = _Spool(spool_dir / f"{stem}.raw.parquet", RAW, ROW_GROUP_ROWS[Family.RAW])

    def add(
        self, offset: int, timestamp_ms: int, key: bytes | None, value: bytes
    ) -> tuple[list[Any], str]:
        """Adds the record; its `table` row and event type, for the writer to look at."""
        row, event_type = self.layout.row(offset, timestamp_ms, value)
        self.table.rows.append(row)
        self.raw.rows.append((offset, timestamp_ms, event_type or None, key, value))
        if len(self.raw.rows) >= BATCH_ROWS:
            self.table.spill()
            self.raw.spill()
        return row, event_type

    def finish(self) -> dict[Family, Path]:
        return {Family.TABLE: self.table.finish(), Family.RAW: self.raw.finish()}

    def discard(self) -> None:
        self.table.discard()
        self.raw.discard()
