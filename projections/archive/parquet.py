"""One archive object being built: rows gathered in columns, written as zstd Parquet row
groups to local spool files (one per family), so memory stays bounded whatever the size."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from projections.archive.columns import RAW, TableLayout
from projections.archive.layout import Family

ROW_GROUP_ROWS = 64 * 1024
COMPRESSION: Literal["zstd"] = "zstd"
COMPRESSION_LEVEL = 3


class _Spool:
    """Rows of one family, flushed to a local Parquet file a row group at a time."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.schema = schema
        self.rows: list[Sequence[Any]] = []
        self.writer: pq.ParquetWriter | None = None

    def spill(self) -> None:
        if not self.rows:
            return
        columns = list(zip(*self.rows, strict=True))
        batch = pa.RecordBatch.from_arrays(
            [pa.array(c, type=f.type) for c, f in zip(columns, self.schema, strict=True)],
            schema=self.schema,
        )
        if self.writer is None:
            self.writer = pq.ParquetWriter(
                self.path,
                self.schema,
                compression=COMPRESSION,
                compression_level=COMPRESSION_LEVEL,
                use_dictionary=True,
                write_statistics=True,
            )
        self.writer.write_batch(batch, row_group_size=ROW_GROUP_ROWS)
        self.rows = []

    def finish(self) -> Path:
        self.spill()
        if self.writer is None:
            pq.write_table(self.schema.empty_table(), self.path, compression=COMPRESSION)
        else:
            self.writer.close()
        return self.path

    def discard(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.path.unlink(missing_ok=True)


class ObjectBuilder:
    """The two families' files of one object, filled record by record."""

    def __init__(self, spool_dir: Path, stem: str, layout: TableLayout) -> None:
        spool_dir.mkdir(parents=True, exist_ok=True)
        self.layout = layout
        self.table = _Spool(spool_dir / f"{stem}.table.parquet", layout.schema)
        self.raw = _Spool(spool_dir / f"{stem}.raw.parquet", RAW)

    def add(self, offset: int, timestamp_ms: int, key: bytes | None, value: bytes) -> None:
        row, event_type = self.layout.row(offset, timestamp_ms, value)
        self.table.rows.append(row)
        self.raw.rows.append((offset, timestamp_ms, event_type or None, key, value))
        if len(self.raw.rows) >= ROW_GROUP_ROWS:
            self.table.spill()
            self.raw.spill()

    def finish(self) -> dict[Family, Path]:
        return {Family.TABLE: self.table.finish(), Family.RAW: self.raw.finish()}

    def discard(self) -> None:
        self.table.discard()
        self.raw.discard()
