"""The analysts' settings, from PARLEY_* environment variables."""

from __future__ import annotations

from pydantic import Field

from kafkalog.cold.settings import ArchiveLocation


class AnalyticsSettings(ArchiveLocation):
    clickhouse_url: str | None = Field(
        default=None,
        description="A ClickHouse server (http://user:password@host:8123/parley); unset: "
        "the embedded engine (chdb) in the analyst's own process",
    )
    analytics_database: str = "parley"
    analytics_define_tables: bool = Field(
        default=True,
        description="Create or replace the views on connecting. On a server, an operator does "
        "it once (`parley-analytics define`) and analysts, without DDL rights, set it to 0",
    )
    analytics_max_execution_s: float = Field(default=60.0, gt=0)
    analytics_max_rows_to_read: int = Field(default=2_000_000_000, ge=1)
    analytics_max_result_rows: int = Field(default=100_000, ge=1)
    analytics_max_memory_bytes: int = Field(default=4 * 1024**3, ge=1)

    def objects_url(self, family: str, topic: str) -> str:
        """The glob of one family's Parquet objects of one topic, for the s3 function."""
        return (
            f"{self.s3_url.rstrip('/')}/{self.s3_bucket}/{self.archive_prefix}/{family}/{topic}"
            "/*/*/*.parquet"
        )
