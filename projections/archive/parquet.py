"""One archive object being built: rows gathered in columns, written as zstd Parquet row
groups to local spool files (one per family), so memory stays bounded whatever the size."""

from __future__ import annotations

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
        self.columns: list[list[Any]] = [[] for _ in schema.names]
        self.rows = 0
        self.writer: pq.ParquetWriter | None = None

    def add(self, values: dict[str, Any]) -> None:
        for name, column in zip(self.schema.names, self.columns, strict=True):
            column.append(values.get(name))
        self.rows += 1

    def spill(self) -> None:
        if not self.columns[0]:
            return
        batch = pa.RecordBatch.from_arrays(
            [pa.array(c, type=f.type) for c, f in zip(self.columns, self.schema, strict=True)],
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
        self.columns = [[] for _ in self.schema.names]

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
        self.spools = {
            Family.TABLE: _Spool(spool_dir / f"{stem}.table.parquet", layout.schema),
            Family.RAW: _Spool(spool_dir / f"{stem}.raw.parquet", RAW),
        }

    def add(self, offset: int, timestamp_ms: int, key: bytes | None, value: bytes) -> None:
        row, event_type = self.layout.row(offset, timestamp_ms, value)
        table, raw = self.spools[Family.TABLE], self.spools[Family.RAW]
        table.add(row)
        raw.add(
            {
                "offset": offset,
                "log_time": timestamp_ms,
                "event_type": event_type or None,
                "key": key,
                "value": value,
            }
        )
        if table.rows % ROW_GROUP_ROWS == 0:
            table.spill()
            raw.spill()

    def finish(self) -> dict[Family, Path]:
        return {family: spool.finish() for family, spool in self.spools.items()}

    def discard(self) -> None:
        for spool in self.spools.values():
            spool.discard()
