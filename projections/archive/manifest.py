"""The manifest: per partition, a JSON list of the chain's objects, for people and tools.

It is derived, never trusted: the listing is the truth (chain.py). The writer rewrites it
after each object and, on start, from the chain, keeping what it knew of each object (row
counts, times) and marking objects it learns of from the listing alone.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, ValidationError

from kafkalog.cold.chain import Chain
from kafkalog.cold.layout import Family, manifest_key
from objectstore.store import ObjectStore


class ManifestEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    table_key: str
    raw_key: str
    start: int
    end: int
    day: date
    rows: int | None = None
    """None for an object learnt of from the listing (after a crash or a compaction)."""
    first_log_time: datetime | None = None
    last_log_time: datetime | None = None
    table_bytes: int | None = None
    raw_bytes: int | None = None


class Manifest(BaseModel):
    model_config = ConfigDict(frozen=True)

    topic: str
    partition: int
    archived_to: int | None
    """The chain's end: where the next object starts (None: nothing archived yet)."""
    objects: tuple[ManifestEntry, ...]

    def appended(self, entry: ManifestEntry) -> Manifest:
        return self.model_copy(update={"archived_to": entry.end, "objects": (*self.objects, entry)})

    def merged(self, entry: ManifestEntry) -> Manifest:
        """With `entry` in place of the objects it covers (a compaction)."""
        kept = [e for e in self.objects if not (entry.start <= e.start and e.end <= entry.end)]
        return self.model_copy(
            update={"objects": tuple(sorted([*kept, entry], key=lambda e: e.start))}
        )


def load(store: ObjectStore, root: str, topic: str, partition: int) -> Manifest | None:
    data = store.get_if_exists(manifest_key(root, topic, partition))
    if data is None:
        return None
    try:
        return Manifest.model_validate_json(data)
    except ValidationError:
        return None  # rebuilt from the listing: the manifest is derived


def save(store: ObjectStore, root: str, manifest: Manifest) -> None:
    body = json.dumps(manifest.model_dump(mode="json"), indent=1).encode()
    store.put_bytes(manifest_key(root, manifest.topic, manifest.partition), body)


def from_chain(topic: str, chain: Chain, known: Manifest | None) -> Manifest:
    """The manifest the chain implies, with what `known` said of objects still in it."""
    previous = {e.table_key: e for e in known.objects} if known else {}
    entries = []
    for obj in chain.objects:
        key = obj.key()
        entries.append(
            previous.get(key)
            or ManifestEntry(
                table_key=key,
                raw_key=obj.twin(Family.RAW).key(),
                start=obj.span.start,
                end=obj.span.end,
                day=obj.day,
            )
        )
    return Manifest(
        topic=topic, partition=chain.partition, archived_to=chain.end, objects=tuple(entries)
    )
