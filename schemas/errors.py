"""Domain errors: what went wrong in the contract's own words, with no transport codes."""

from __future__ import annotations


class ParleyError(Exception):
    """Base of every domain error."""


class UnknownSchemaError(ParleyError):
    """A record's writer schema fingerprint is not in the registry."""

    def __init__(self, fingerprint: str) -> None:
        super().__init__(f"unknown writer schema fingerprint {fingerprint}")
        self.fingerprint = fingerprint


class MalformedRecordError(ParleyError):
    """Bytes that are not a valid single-object-encoded Avro record of a known type."""


class IncompatibleSchemaError(ParleyError):
    """A schema change that a reader or writer of another version could not follow."""
