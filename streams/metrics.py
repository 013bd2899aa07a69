"""What a log-writing processor counts, served in the Prometheus text format on
PARLEY_METRICS_PORT (127.0.0.1) when that is set.

Rejections and dead letters are counted as they are written, inside the transaction: a
batch whose transaction aborts is counted again when it is retried (rare; see
`parley_transaction_aborts_total`)."""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, Counter, Gauge, Histogram

from telemetry import probes
from telemetry.lag import lag_gauge, sampling_assigned_partitions

TRANSACTION_BUCKETS = (0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
AGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

transactions = Histogram(
    "parley_transaction_seconds",
    "One batch: begin, handle, send offsets, commit",
    ["input"],
    buckets=TRANSACTION_BUCKETS,
)
commits = Histogram(
    "parley_transaction_commit_seconds",
    "commit_transaction alone: the broker writing the commit markers",
    ["input"],
    buckets=TRANSACTION_BUCKETS,
)
records = Counter("parley_records", "Input records committed", ["input"])
aborts = Counter("parley_transaction_aborts", "Transactions aborted and retried", ["input"])
rejections = Counter(
    "parley_rejections", "Commands answered with a rejection, by code", ["input", "code"]
)
dead_letters = Counter(
    "parley_dead_letters", "Input records parked on the dead-letter topic", ["input"]
)
skipped = Counter(
    "parley_records_skipped",
    "Unusable records passed over by a reader that keeps no position (the session feed)",
    ["topic"],
)
kafka_errors = Counter(
    "parley_kafka_errors", "Kafka errors seen and survived, by librdkafka code", ["code"]
)
producer_queue = Gauge(
    "parley_producer_queue", "Records produced and not yet acknowledged by the broker"
)
consumer_lag = lag_gauge()
media_catch_ups = Counter(
    "parley_media_book_catch_ups",
    "Decisions that first read the sequencer's media book up to the topic's end, by outcome",
    ["outcome"],
)
deliveries = Counter("parley_fanout_deliveries", "Delivery records written, by edge node", ["node"])
fanout_flushes = Histogram(
    "parley_fanout_flush_seconds",
    "One batch of events: waiting until its delivery records are acknowledged",
    buckets=TRANSACTION_BUCKETS,
)
fanout_event_age = Histogram(
    "parley_fanout_event_age_seconds",
    "From an event's occurred_at (the sequencer's clock) to the fan-out reading it",
    buckets=AGE_BUCKETS,
)


def serve_if_configured(ready: probes.Check = sampling_assigned_partitions) -> int | None:
    """Metrics, /livez and /readyz (telemetry/probes.py) on PARLEY_METRICS_PORT. Ready by
    default once the loop runs with partitions of its own (for a log writer: after its
    transactions are initialised and its state caught up on assignment)."""
    port = os.environ.get("PARLEY_METRICS_PORT")
    if not port:
        return None
    probes.serve(int(port), REGISTRY, ready=ready)
    return int(port)
expiry_lag = Histogram(
    "parley_expiry_lag_seconds",
    "From a message's expiry time to its MessagesExpired in the log (the sequencer's clock)",
    buckets=(0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0),
)
buckets_destroyed = Counter(
    "parley_expiry_buckets_destroyed", "Expiry bucket keys destroyed after their end"
)
