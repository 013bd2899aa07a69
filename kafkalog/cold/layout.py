"""Where archive objects live in the bucket, and what an object's key says about it.

    <root>/<family>/<topic>/date=YYYY-MM-DD/partition=N/<from>-<to>.parquet

`family` is `table` (typed columns, no message text: what analysts read) or `raw` (each
record's Avro bytes: what a replay and compliance read). `from`-`to` is the half-open
range of positions the object covers, zero-padded so that names sort like numbers: the
records of that partition with `from <= offset < to`, and `to` is where the next object
starts (a view's stored position has the same meaning). The `date=` and `partition=`
directories are Hive-style, so ClickHouse prunes files by them. One object never spans two
UTC dates of its records' log timestamps (cuts.py), so its date is one fact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

OFFSET_DIGITS = 20
MANIFEST_DIR = "manifest"


class Family(StrEnum):
    TABLE = "table"
    """Typed columns for analysts: no message text, no E2EE bodies, no secrets."""
    RAW = "raw"
    """The records' Avro bytes: for replay and compliance; rewritten or dropped by them."""


_KEY = re.compile(
    r"^(?P<root>.+)/(?P<family>table|raw)/(?P<topic>[^/]+)/date=(?P<date>\d{4}-\d{2}-\d{2})"
    r"/partition=(?P<partition>\d+)/(?P<start>\d{20})-(?P<end>\d{20})\.parquet$"
)


@dataclass(frozen=True, order=True)
class Span:
    """A half-open range of positions of one partition: offsets `start <= o < end`."""

    start: int
    end: int


@dataclass(frozen=True)
class ObjectKey:
    """One archive object, as named in the bucket."""

    root: str
    family: Family
    topic: str
    day: date
    partition: int
    span: Span

    def key(self) -> str:
        return (
            f"{self.root}/{self.family}/{self.topic}/date={self.day.isoformat()}"
            f"/partition={self.partition}/{self.span.start:0{OFFSET_DIGITS}d}"
            f"-{self.span.end:0{OFFSET_DIGITS}d}.parquet"
        )

    def twin(self, family: Family) -> ObjectKey:
        """The same range in the other family."""
        return ObjectKey(self.root, family, self.topic, self.day, self.partition, self.span)

    @classmethod
    def parse(cls, key: str) -> ObjectKey | None:
        """The object a key names, or None for anything else under the root."""
        found = _KEY.match(key)
        if found is None:
            return None
        return cls(
            root=found["root"],
            family=Family(found["family"]),
            topic=found["topic"],
            day=date.fromisoformat(found["date"]),
            partition=int(found["partition"]),
            span=Span(int(found["start"]), int(found["end"])),
        )


def family_prefix(root: str, family: Family, topic: str) -> str:
    return f"{root}/{family}/{topic}/"


def manifest_key(root: str, topic: str, partition: int) -> str:
    return f"{root}/{MANIFEST_DIR}/{topic}/partition={partition}.json"


DAY_MS = 86_400_000


def day_of(timestamp_ms: int) -> date:
    """The UTC date of a log timestamp: the `date=` an object of that record goes under."""
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC).date()


def day_start_ms(timestamp_ms: int) -> int:
    """The first millisecond of its UTC day (days in UTC have no leap seconds in epoch ms)."""
    return timestamp_ms - timestamp_ms % DAY_MS
