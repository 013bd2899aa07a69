"""ClickHouse through clickhouse-connect, embedded or a server, with the analysts' tables
defined and every query bounded.

Embedded (default): `clickhouse_connect.get_client(interface='chdb')`, ClickHouse inside
the analyst's process; the tables are views over the `s3` table function, with the archive's
credentials. A server (`PARLEY_CLICKHOUSE_URL`): the same views, reading the same Parquet
through the `s3` table function with a named collection (`parley_archive`) that holds the
credentials on the server, so they never appear in a view's definition. The views read
S3 at query time: no copy to keep in step, and the same SQL on both engines.

Every analysts' query runs with `readonly=2` (nothing can be written or dropped), a time
limit, a bound on rows read and on result rows (the answer is cut, and says so), and a
memory bound: a bad query gets a clear error with a stable code, never a stuck process.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from analytics.settings import AnalyticsSettings
from analytics.tables import ACCOUNT_COLUMNS, EVENT_COLUMNS, HIVE_COLUMNS, TABLES, structure

NAMED_COLLECTION = "parley_archive"
BASE_SOURCES = {
    "events": ("events", EVENT_COLUMNS),
    "account_events": ("accounts", ACCOUNT_COLUMNS),
}

ERROR_CODES = {
    62: "syntax_error",
    60: "unknown_table",
    81: "unknown_database",
    47: "unknown_column",
    46: "unknown_function",
    159: "timeout",
    158: "too_many_rows_to_read",
    396: "too_many_result_rows",
    241: "out_of_memory",
    164: "read_only",
    497: "access_denied",
    53: "type_mismatch",
    43: "illegal_type",
    499: "storage_error",
    394: "cancelled",
}


class AnalyticsError(RuntimeError):
    """A query the engine refused or stopped; `code` is stable, for scripts to match."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Answer:
    columns: tuple[str, ...]
    types: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    truncated: bool
    """The result had more rows than the bound: `rows` is its beginning only."""
    read_rows: int
    elapsed_s: float


def _classify(error: Exception) -> AnalyticsError:
    text = str(error)
    found = re.search(r"Code: (\d+)", text)
    number = int(found.group(1)) if found else -1
    message = text.split("Stack trace", maxsplit=1)[0].strip()
    # chdb appends the query's own FORMAT clause to the text: not the analyst's.
    message = re.sub(r"\s+FORMAT Native\.", ".", message)
    # ... and the limits as a SETTINGS clause (engine.limits): noise in the analyst's error.
    message = re.sub(r"\s+SETTINGS readonly = .*?(\. \([A-Z_]+\)|$)", r"\1", message, flags=re.S)
    return AnalyticsError(ERROR_CODES.get(number, "query_failed"), message)


class Analytics:
    """One connection with the analysts' tables in `settings.analytics_database`."""

    def __init__(self, settings: AnalyticsSettings | None = None) -> None:
        self.settings = settings or AnalyticsSettings()
        self.server = self.settings.clickhouse_url is not None
        self.client = self._connect()
        if self.settings.analytics_define_tables or not self.server:
            self.define_tables()
        else:
            self.client.command(f"USE {self.settings.analytics_database}")

    def _connect(self) -> Client:
        try:
            if self.settings.clickhouse_url:
                return clickhouse_connect.get_client(dsn=self.settings.clickhouse_url)
            return clickhouse_connect.get_client(interface="chdb")
        except ClickHouseError as e:
            raise AnalyticsError("unreachable", f"cannot reach ClickHouse: {e}") from e

    def source(self, topic: str, columns: Sequence[Any]) -> str:
        """The `s3(...)` expression of one topic's `table` family."""
        s = self.settings
        url = s.objects_url("table", topic)
        shape = structure((*columns, *HIVE_COLUMNS)).replace("'", "\\'")
        if self.server:
            return (
                f"s3({NAMED_COLLECTION}, url = '{url}', format = 'Parquet', structure = '{shape}')"
            )
        return f"s3('{url}', '{s.s3_access_key}', '{s.s3_secret_key}', 'Parquet', '{shape}')"

    def define_tables(self) -> None:
        db = self.settings.analytics_database
        self.client.command(f"CREATE DATABASE IF NOT EXISTS {db}")
        for table in TABLES:
            if table.name in BASE_SOURCES:
                topic, columns = BASE_SOURCES[table.name]
                source = self.source(topic, columns)
                select = table.select.format(events=source, accounts=source)
            else:
                select = table.select.format(events=f"{db}.events", accounts=f"{db}.account_events")
            self.client.command(f"CREATE OR REPLACE VIEW {db}.{table.name} AS {select}")
        self.client.command(f"USE {db}")

    def limits(self) -> dict[str, Any]:
        s = self.settings
        return {
            "readonly": 2,
            "max_execution_time": s.analytics_max_execution_s,
            "timeout_overflow_mode": "throw",
            "max_rows_to_read": s.analytics_max_rows_to_read,
            "max_result_rows": s.analytics_max_result_rows,
            "result_overflow_mode": "break",
            "max_memory_usage": s.analytics_max_memory_bytes,
        }

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> Answer:
        """Runs one analysts' query within the limits."""
        if not sql.strip():
            raise AnalyticsError("empty_query", "no SQL given")
        bound = self.settings.analytics_max_result_rows
        try:
            result = self.client.query(sql, parameters=parameters, settings=self.limits())
        except ClickHouseError as e:
            raise _classify(e) from e
        rows = [tuple(r) for r in result.result_rows]
        truncated = len(rows) >= bound
        summary = result.summary or {}
        return Answer(
            columns=tuple(result.column_names),
            types=tuple(t.name for t in result.column_types),
            rows=rows[:bound],
            truncated=truncated,
            read_rows=int(summary.get("read_rows", 0) or 0),
            elapsed_s=int(summary.get("elapsed_ns", 0) or 0) / 1e9,
        )

    def dataframe(self, sql: str) -> Any:
        """The answer as a pandas DataFrame (the notebook path), within the same limits."""
        try:
            return self.client.query_df(sql, settings=self.limits())
        except ClickHouseError as e:
            raise _classify(e) from e

    def close(self) -> None:
        self.client.close()
