"""The names of keys, and of the expiry buckets a message's key is chosen from.

A person key is `p/<user>`; a bucket key is `x/<end>`, `<end>` the Unix second at which the
bucket dies; a sealed body names the keys its content key is derived from: `p/<user>` or
`p/<user>+x/<end>`. User ids never hold `/` or `+` (the accounts processor allows
`[a-z0-9_.-]` only), so a key id reads back unambiguously.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PERSON = "p/"
BUCKET = "x/"
JOIN = "+"


class BadKeyIdError(ValueError):
    """A key id this code did not write."""


def person_key_id(user_id: str) -> str:
    if not user_id or "/" in user_id or JOIN in user_id:
        raise BadKeyIdError(f"no person key for the user id {user_id!r}")
    return PERSON + user_id


def bucket_key_id(end_s: int) -> str:
    return f"{BUCKET}{end_s}"


def bucket_end(key_id: str) -> int:
    """The Unix second at which the bucket key `x/<end>` dies."""
    if not key_id.startswith(BUCKET) or not key_id[len(BUCKET) :].isdigit():
        raise BadKeyIdError(f"not a bucket key id: {key_id!r}")
    return int(key_id[len(BUCKET) :])


def bucket_for(expires_at_s: float, *, width_s: int, grace_s: float) -> int:
    """The end of the first bucket that ends at least `grace_s` after `expires_at_s`: its key
    is destroyed between `grace_s` and `grace_s + width_s` after the message's time. The grace
    covers the edge's clock (which seals) against the sequencer's (which stamps the time)."""
    return math.ceil((expires_at_s + grace_s) / width_s) * width_s


@dataclass(frozen=True)
class ContentKeyId:
    """What a sealed body's `key_id` says: whose key, and which bucket's (if it expires)."""

    user_id: str
    bucket_end_s: int | None = None

    def __str__(self) -> str:
        person = person_key_id(self.user_id)
        if self.bucket_end_s is None:
            return person
        return person + JOIN + bucket_key_id(self.bucket_end_s)

    @property
    def parts(self) -> tuple[str, ...]:
        """The stored keys it is derived from, person key first."""
        person = person_key_id(self.user_id)
        if self.bucket_end_s is None:
            return (person,)
        return (person, bucket_key_id(self.bucket_end_s))

    @staticmethod
    def parse(key_id: str) -> ContentKeyId:
        person, _, bucket = key_id.partition(JOIN)
        if not person.startswith(PERSON) or len(person) == len(PERSON):
            raise BadKeyIdError(f"not a content key id: {key_id!r}")
        user = person[len(PERSON) :]
        return ContentKeyId(user, bucket_end(bucket) if bucket else None)
