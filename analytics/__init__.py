"""The analysts' side: ClickHouse SQL over the cold archive, embedded (chdb) or a server.

Not a projection: it keeps no state and follows no log; it reads the Parquet the archive
view (projections/archive) wrote, through clickhouse-connect. See docs/analytics.md.
"""
