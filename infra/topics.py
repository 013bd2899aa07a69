"""Creates the declared topics, or checks that existing ones match their declaration."""

from __future__ import annotations

import time

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType

from infra.errors import PlatformError
from schemas.topics import Topics, TopicSpec

CHECKED_CONFIGS = ("cleanup.policy", "retention.ms", "min.insync.replicas")


def ensure_topics(bootstrap: str, topics: Topics, timeout_s: float = 30.0) -> list[str]:
    """Create what is missing, validate what exists; returns the names created."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        existing = admin.list_topics(timeout=timeout_s).topics
    except KafkaException as e:
        raise PlatformError(f"cannot reach Kafka at {bootstrap}: {e}") from e
    missing = [spec for spec in topics.all() if spec.name not in existing]
    if missing:
        futures = admin.create_topics(
            [
                NewTopic(
                    s.name,
                    num_partitions=s.partitions,
                    replication_factor=s.replication_factor,
                    config=s.config(),
                )
                for s in missing
            ],
            operation_timeout=timeout_s,
        )
        for name, future in futures.items():
            try:
                future.result()
            except KafkaException as e:
                if e.args[0].name() != "TOPIC_ALREADY_EXISTS":
                    raise PlatformError(f"cannot create topic {name}: {e}") from e
    for spec in topics.all():
        if spec.name in existing:
            _validate(admin, spec, len(existing[spec.name].partitions), timeout_s)
    _wait_for_leaders(admin, topics, timeout_s)
    return [s.name for s in missing]


def _wait_for_leaders(admin: AdminClient, topics: Topics, timeout_s: float) -> None:
    """Until every partition has a leader: a process started on a topic just created would
    otherwise meet 'leader not available' in its first metadata calls."""
    deadline = time.monotonic() + timeout_s
    while True:
        metadata = admin.list_topics(timeout=timeout_s).topics
        leaderless = [
            f"{spec.name}[{p}]"
            for spec in topics.all()
            for p in range(spec.partitions)
            if spec.name not in metadata
            or p not in metadata[spec.name].partitions
            or metadata[spec.name].partitions[p].leader < 0
            or metadata[spec.name].partitions[p].error is not None
        ]
        if not leaderless:
            return
        if time.monotonic() > deadline:
            raise PlatformError(
                f"no leader after {timeout_s:.0f} s for {', '.join(leaderless[:5])}"
            )
        time.sleep(0.1)


def _validate(admin: AdminClient, spec: TopicSpec, partitions: int, timeout_s: float) -> None:
    if partitions != spec.partitions:
        raise PlatformError(
            f"topic {spec.name} has {partitions} partitions but {spec.partitions} are declared; "
            "a conversation's partition depends on this count, so it is never changed in place; "
            "use another PARLEY_TOPIC_PREFIX, or (local data only) `make stop` and remove "
            "the data directory (.parley by default) to start over"
        )
    resource = ConfigResource(ResourceType.TOPIC, spec.name)
    described = admin.describe_configs([resource])[resource].result(timeout=timeout_s)
    wanted = spec.config()
    wrong = {
        key: (described[key].value, wanted[key])
        for key in CHECKED_CONFIGS
        if key in described and described[key].value != wanted[key]
    }
    if wrong:
        details = ", ".join(f"{k}={have} (declared {want})" for k, (have, want) in wrong.items())
        raise PlatformError(f"topic {spec.name} differs from its declaration: {details}")
