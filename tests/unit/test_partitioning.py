"""Python's partitioner agrees with Kafka's Java murmur2 partitioner."""

from __future__ import annotations

import pytest

from schemas.partitioning import murmur2, partition_for


@pytest.mark.parametrize(
    ("text", "expected"),
    [  # vectors from Kafka's UtilsTest.testMurmur2
        ("21", -973932308),
        ("foobar", -790332482),
        ("a-little-bit-long-string", -985981536),
        ("a-little-bit-longer-string", -1486304829),
        ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
    ],
)
def test_murmur2_matches_kafka(text: str, expected: int) -> None:
    assert murmur2(text.encode()) == expected


def test_partition_is_stable_and_in_range() -> None:
    seen = {partition_for(f"conv-{i}", 8) for i in range(200)}
    assert seen == set(range(8))
    assert partition_for("conv-1", 8) == partition_for("conv-1", 8)
