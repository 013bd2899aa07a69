"""When the view may say it is ready: once it has caught up to the log as it was at start.

The targets are the partitions' end offsets read before consuming. A partition counts as
caught up once the view's next offset reaches its target, or once the consumer reports
the partition's end: with read_committed the last offset of a partition is often a
transaction marker, which no record ever carries, so the end report is what proves it.
"""

from __future__ import annotations


class CatchUp:
    def __init__(self, targets: dict[int, int]) -> None:
        self.targets = dict(targets)
        self.caught_up: set[int] = {p for p, end in targets.items() if end <= 0}

    def advanced(self, partition: int, next_offset: int) -> None:
        if next_offset >= self.targets.get(partition, 0):
            self.caught_up.add(partition)

    def reached_end(self, partition: int) -> None:
        self.caught_up.add(partition)

    def done(self, assigned: set[int]) -> bool:
        """Every partition this view owns has caught up (and it owns some)."""
        return bool(assigned) and assigned <= self.caught_up
