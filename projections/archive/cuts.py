"""When the open object of a partition is closed: by size, by date, or by age.

Size and date are functions of the records alone, so a writer that starts again at the
same position cuts at the same offsets. Age is the writer's clock: it closes an object that
has been open `max_age_s` even if no record follows (an idle partition still reaches S3),
and it is safe although a replay would cut differently, because a replay never writes over
a range S3 already holds: it starts after the last archived object (chain.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from kafkalog.cold.layout import DAY_MS


class CutLimits(BaseModel):
    """The bounds of one object. The defaults keep objects large (few files, good
    compression) and the archive at most `max_age_s` plus one upload behind the writer."""

    model_config = ConfigDict(frozen=True)

    max_bytes: int = Field(default=128 * 1024 * 1024, ge=1, description="Avro bytes per object")
    max_records: int = Field(default=1_000_000, ge=1)
    max_age_s: float = Field(default=60.0, gt=0, description="Writer's clock, first record on")


@dataclass(slots=True)
class Filling:
    """What the cut rules need to know of an open object."""

    day: date
    day_start_ms: int
    """The first millisecond of `day`: a record in [day_start_ms, + 1 day) is of the same
    day, a test cheaper than a date per record."""
    records: int
    avro_bytes: int
    opened_at: float
    """The writer's monotonic clock when the object's first record came in."""


def full(filling: Filling, limits: CutLimits) -> bool:
    """The object holds enough: close it before the next record."""
    return filling.avro_bytes >= limits.max_bytes or filling.records >= limits.max_records


def other_day(filling: Filling, timestamp_ms: int) -> bool:
    """The next record belongs under another date: close the object before it."""
    return not 0 <= timestamp_ms - filling.day_start_ms < DAY_MS


def aged(filling: Filling, limits: CutLimits, now: float) -> bool:
    """Open long enough: close it now, whether or not another record comes."""
    return now - filling.opened_at >= limits.max_age_s
