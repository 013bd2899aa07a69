"""`python -m analytics.docs`: writes the tables' columns into docs/analytics.md, between its
markers, from analytics/tables.py (a test fails when the two differ)."""

from __future__ import annotations

import sys
from pathlib import Path

from analytics.queries import SAVED
from analytics.tables import TABLES

DOC = Path(__file__).resolve().parents[1] / "docs" / "analytics.md"
BEGIN = "<!-- tables:begin (python -m analytics.docs) -->"
END = "<!-- tables:end -->"


def render() -> str:
    parts = []
    for table in TABLES:
        rows = "\n".join(f"| `{c.name}` | `{c.type}` | {c.doc} |" for c in table.columns)
        parts.append(
            f"### `{table.name}`\n\n{table.doc}\n\n| column | type | meaning |\n"
            f"| --- | --- | --- |\n{rows}\n"
        )
    saved = "\n".join(f"| `{q.name}` | {q.title} |" for q in SAVED)
    parts.append(f"### Saved queries\n\n| name | what |\n| --- | --- |\n{saved}\n")
    return "\n".join(parts)


def written(text: str) -> str:
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n\n{render()}\n{END}{tail}"


def main() -> int:
    DOC.write_text(written(DOC.read_text()))
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
