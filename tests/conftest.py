"""Shared fixtures: the real broker must be up for integration tests (a failure, never a skip)."""

from __future__ import annotations

import pytest
from confluent_kafka.admin import AdminClient

from tests.integration.log import BOOTSTRAP


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    try:
        brokers = admin.list_topics(timeout=10).brokers
    except Exception as e:
        pytest.fail(f"Kafka is not reachable at {BOOTSTRAP}: {e}. Run the tests with `make test`.")
    if not brokers:
        pytest.fail(f"Kafka at {BOOTSTRAP} has no brokers. Run the tests with `make test`.")
    return BOOTSTRAP
