"""How an upload is cut: one PUT for a small file, equal parts of a multipart upload for larger.

Policy: a file of up to `part_bytes` (8 MiB by default) goes in one pre-signed PUT, as most
photos do. A larger one is sent in parts of `part_bytes`, the last one shorter: small enough
that a dropped connection costs at most one part and a resume sends only the missing ones,
large enough that per-request overhead is lost in the transfer (8 MiB is also the AWS CLI's
default). S3 allows 10,000 parts of at least 5 MiB, so the part size grows for files over
`10,000 * part_bytes` (78 GiB at 8 MiB, far above the 100 MiB limit). Each pre-signed part
URL signs its exact length, so S3 itself refuses a part of any other size.
"""

from __future__ import annotations

from dataclasses import dataclass

from media.settings import MIB

MAX_PARTS = 10_000


@dataclass(frozen=True)
class Part:
    number: int
    """1-based, as S3 numbers parts."""
    size: int


@dataclass(frozen=True)
class UploadPlan:
    part_bytes: int
    parts: tuple[Part, ...]

    @property
    def multipart(self) -> bool:
        return len(self.parts) > 1


def plan(size: int, part_bytes: int) -> UploadPlan:
    """The parts of an upload of `size` bytes (size > 0)."""
    if size <= part_bytes:
        return UploadPlan(size, (Part(1, size),))
    needed = -(-size // MAX_PARTS)
    part = max(part_bytes, -(-needed // MIB) * MIB)
    count = -(-size // part)
    last = size - part * (count - 1)
    return UploadPlan(
        part, tuple(Part(n, part if n < count else last) for n in range(1, count + 1))
    )
