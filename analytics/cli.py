"""`parley-analytics`: the analysts' command.

    parley-analytics sql "SELECT ..." [--format table|csv|json]
    parley-analytics report [--out DIR] [--format md|html]
    parley-analytics tables            the tables and their columns
    parley-analytics saved [NAME]      the saved queries, or one run
    parley-analytics define            (re)create the tables (an operator, on a server)

Reads the archive through ClickHouse (embedded chdb, or PARLEY_CLICKHOUSE_URL). A query
the engine refuses or stops ends with exit status 2 and `error <code>: <message>` on
stderr; the codes are stable (analytics/engine.py, ERROR_CODES).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analytics import report
from analytics.engine import Analytics, AnalyticsError
from analytics.output import FORMATS, render
from analytics.queries import BY_NAME
from analytics.tables import TABLES

USER_ERROR = 2


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="parley-analytics", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    sql = sub.add_parser("sql", help="run one query")
    sql.add_argument("query")
    sql.add_argument("--format", choices=FORMATS, default="table")
    rep = sub.add_parser("report", help="run the saved queries into a page with charts")
    rep.add_argument("--out", type=Path, default=Path("analytics-report"))
    rep.add_argument("--format", choices=("md", "html"), default="md")
    sub.add_parser("tables", help="list the tables and their columns")
    saved = sub.add_parser("saved", help="list the saved queries, or run one")
    saved.add_argument("name", nargs="?", choices=sorted(BY_NAME))
    saved.add_argument("--format", choices=FORMATS, default="table")
    sub.add_parser("define", help="(re)create the tables' views")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "tables":
        for table in TABLES:
            print(f"{table.name}: {table.doc}")
            for c in table.columns:
                print(f"    {c.name:<20} {c.type:<40} {c.doc}")
        return 0
    if args.command == "saved" and args.name is None:
        for query in BY_NAME.values():
            print(f"{query.name:<22} {query.title}")
        return 0
    try:
        analytics = Analytics()
        try:
            if args.command == "define":
                analytics.define_tables()
                print(f"defined {len(TABLES)} tables in {analytics.settings.analytics_database}")
            elif args.command == "report":
                print(f"wrote {report.write(analytics, args.out, args.format)}")
            else:
                sql = args.query if args.command == "sql" else BY_NAME[args.name].sql
                print(render(analytics.query(sql), args.format))
        finally:
            analytics.close()
    except AnalyticsError as e:
        print(f"error {e.code}: {e}", file=sys.stderr)
        return USER_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
