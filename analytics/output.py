"""An answer printed for people (an aligned table), for spreadsheets (CSV) or programs (JSON)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from analytics.engine import Answer

FORMATS = ("table", "csv", "json")
WIDEST = 60


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def render(answer: Answer, form: str) -> str:
    if form == "json":
        return json.dumps(
            {
                "columns": list(answer.columns),
                "types": list(answer.types),
                "rows": [[_plain(v) for v in row] for row in answer.rows],
                "truncated": answer.truncated,
                "read_rows": answer.read_rows,
                "elapsed_s": round(answer.elapsed_s, 3),
            }
        )
    if form == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(answer.columns)
        for row in answer.rows:
            writer.writerow(["" if v is None else _plain(v) for v in row])
        return out.getvalue().rstrip("\n")
    return _table(answer)


def _cell(value: Any) -> str:
    text = "NULL" if value is None else str(_plain(value))
    return text if len(text) <= WIDEST else text[: WIDEST - 1] + "…"


def _table(answer: Answer) -> str:
    cells = [[_cell(v) for v in row] for row in answer.rows]
    widths = [
        max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(answer.columns)
    ]
    lines = [
        "  ".join(n.ljust(w) for n, w in zip(answer.columns, widths, strict=True)),
        "  ".join("-" * w for w in widths),
        *("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells),
    ]
    note = f"({len(answer.rows)} rows, {answer.read_rows} read, {answer.elapsed_s:.3f} s)"
    if answer.truncated:
        note += f" TRUNCATED to the first {len(answer.rows)} rows: add a LIMIT or aggregate"
    return "\n".join([*lines, note])
