"""What the media processor counts (Prometheus, on PARLEY_METRICS_PORT like every processor)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

JOB_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

jobs = Histogram(
    "parley_media_job_seconds",
    "One upload: download, verify, scan, render, publish; by kind and outcome",
    ["kind", "outcome"],
    buckets=JOB_BUCKETS,
)
retries = Counter(
    "parley_media_job_retries", "Jobs retried after a transient error (store, scanner)", ["error"]
)
swept = Counter(
    "parley_media_swept", "Media deleted by the sweeper, by the state they were in", ["status"]
)
erased = Counter("parley_media_erased", "Media deleted because their owner was erased")
