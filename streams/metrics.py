"""What a log-writing processor counts, served in the Prometheus text format on
PARLEY_METRICS_PORT (127.0.0.1) when that is set."""

from __future__ import annotations

import os

from prometheus_client import Counter, Histogram, start_http_server

TRANSACTION_BUCKETS = (0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)

transactions = Histogram(
    "parley_transaction_seconds",
    "One batch: begin, handle, send offsets, commit",
    ["input"],
    buckets=TRANSACTION_BUCKETS,
)
records = Counter("parley_records", "Input records committed", ["input"])
aborts = Counter("parley_transaction_aborts", "Transactions aborted and retried", ["input"])
deliveries = Counter("parley_fanout_deliveries", "Delivery records written, by edge node", ["node"])


def serve_if_configured() -> int | None:
    port = os.environ.get("PARLEY_METRICS_PORT")
    if not port:
        return None
    start_http_server(int(port), addr="127.0.0.1")
    return int(port)
