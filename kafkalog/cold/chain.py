"""What the archive holds of one partition, from the bucket's listing alone: the source of
truth for "archived up to", so no other record of the position can disagree with it.

Objects are atomic (S3 shows all of one or nothing), and each is a half-open span of
positions. The archive of a partition is the *chain*: spans present in both families that
follow each other without a gap (`next.start == previous.end`) from the lowest start, using
as few objects as possible, so that a compacted object wins over the small ones it
replaced. Everything else is an orphan, always covered by the chain or beyond its end:

- a `raw` object whose `table` twin never went up (the writer died between the two);
- small objects a compaction already replaced (it died before deleting them);
- an object a second writer cut differently over the same records (a zombie after a
  rebalance), when another path covers its records.

Deleting orphans loses nothing: what the chain covers stays, and what lies beyond its end
is written again from the log. Objects that no contiguous path explains (a hole in the
middle) are an `ArchiveGapError`: never resolved silently.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from kafkalog.cold.layout import Family, ObjectKey, Span


class ArchiveGapError(RuntimeError):
    """The archive of a partition has a hole, or overlaps no path resolves."""


@dataclass(frozen=True)
class Chain:
    partition: int
    objects: tuple[ObjectKey, ...]
    """The chain's `table` objects, in offset order (each has its `raw` twin)."""
    orphans: tuple[ObjectKey, ...]

    @property
    def end(self) -> int | None:
        """Where the next object starts; None when nothing is archived."""
        return self.objects[-1].span.end if self.objects else None

    @property
    def start(self) -> int | None:
        return self.objects[0].span.start if self.objects else None


def resolve(partition: int, listed: list[ObjectKey]) -> Chain:
    """The chain and orphans of `partition` among `listed` (both families, any partition)."""
    mine = [k for k in listed if k.partition == partition]
    spans = {family: {k.span: k for k in mine if k.family == family} for family in Family}
    paired = sorted(set(spans[Family.TABLE]) & set(spans[Family.RAW]))
    path = _fewest_objects(paired)
    on_path = set(path)
    if path:
        end = path[-1].end
        unexplained = [s for s in paired if s not in on_path and s.end > end]
        stray_tables = [s for s in spans[Family.TABLE] if s not in on_path and s.end > end]
        if unexplained or stray_tables:
            raise ArchiveGapError(
                f"partition {partition}: the archive holds {sorted(unexplained + stray_tables)} "
                f"beyond its contiguous chain ending at {end}; see docs/archive.md, 'Repair'"
            )
    elif spans[Family.TABLE]:
        raise ArchiveGapError(
            f"partition {partition}: table objects {sorted(spans[Family.TABLE])} have no raw twin"
        )
    orphans = tuple(
        sorted(
            (k for k in mine if k.span not in on_path),
            key=lambda k: (k.span, k.family),
        )
    )
    return Chain(partition, tuple(spans[Family.TABLE][s] for s in path), orphans)


def _fewest_objects(spans: list[Span]) -> list[Span]:
    """A path of spans from the lowest start to the furthest end reachable, with the
    fewest spans among those (breadth first over positions)."""
    if not spans:
        return []
    starting_at: dict[int, list[Span]] = {}
    for span in spans:
        starting_at.setdefault(span.start, []).append(span)
    origin = spans[0].start
    came_by: dict[int, Span | None] = {origin: None}
    queue = deque([origin])
    while queue:
        position = queue.popleft()
        for span in sorted(starting_at.get(position, []), key=lambda s: -s.end):
            if span.end not in came_by:
                came_by[span.end] = span
                queue.append(span.end)
    furthest = max(came_by)
    path: list[Span] = []
    position = furthest
    while (step := came_by[position]) is not None:
        path.append(step)
        position = step.start
    return path[::-1]
