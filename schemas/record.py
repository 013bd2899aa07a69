"""The base of every typed record mirroring an Avro record."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class AvroRecord(BaseModel):
    """Frozen, strict-fielded model whose Avro full name is its only type tag on the wire."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    avro_name: ClassVar[str]
    record_union_fields: ClassVar[frozenset[str]] = frozenset()
