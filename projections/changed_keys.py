"""The keys a view's batch has changed, found by prefix without walking them all.

A batch's `scan` overlays its own changes on the store's keys under a prefix. Walking every
changed key for each scan made a batch quadratic: an erasure's `SenderContentErased` drops
each of the person's messages with a scan of its edits, so a batch of 500 erasures of 100
messages each walked some 150,000 changes 50,000 times (found by bench erasure: the history
view took minutes for 1,000 conversations). Here the keys are kept sorted, with the newest
in a short unsorted tail merged in once it outgrows the square root of the sorted part: a
scan costs a bisection and the tail, a key's insert amortised O(sqrt n).
"""

from __future__ import annotations

from bisect import bisect_left
from math import isqrt

MIN_TAIL = 64
"""A tail this short is cheaper to walk than to merge."""


class ChangedKeys:
    def __init__(self) -> None:
        self._sorted: list[bytes] = []
        self._tail: list[bytes] = []
        self._known: set[bytes] = set()

    def add(self, key: bytes) -> None:
        if key not in self._known:
            self._known.add(key)
            self._tail.append(key)

    def under(self, prefix: bytes) -> list[bytes]:
        """Every key added that starts with `prefix`, in no particular order."""
        if len(self._tail) > max(MIN_TAIL, isqrt(len(self._sorted))):
            self._tail.sort()
            self._sorted = sorted(self._sorted + self._tail)  # two runs: a linear merge
            self._tail = []
        found = [key for key in self._tail if key.startswith(prefix)]
        at = bisect_left(self._sorted, prefix)
        while at < len(self._sorted) and self._sorted[at].startswith(prefix):
            found.append(self._sorted[at])
            at += 1
        return found
