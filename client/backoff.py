"""How long to wait before reconnecting: exponential growth, a ceiling, and jitter.

Jitter spreads the reconnects of many clients dropped by the same edge at the same moment,
so they do not all land on the next edge in the same instant.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(slots=True)
class Backoff:
    """Delays of `initial * multiplier**n`, capped at `maximum`, each shortened by a random
    share of up to `jitter` (0 to 1); `reset()` after a connection that worked."""

    initial: float = 0.5
    maximum: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.5
    rng: random.Random = field(default_factory=random.Random, repr=False)
    _attempt: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.initial <= self.maximum:
            raise ValueError("backoff needs 0 <= initial <= maximum")
        if self.multiplier < 1 or not 0 <= self.jitter <= 1:
            raise ValueError("backoff needs multiplier >= 1 and 0 <= jitter <= 1")

    def next_delay(self) -> float:
        base = min(self.maximum, self.initial * self.multiplier**self._attempt)
        if base < self.maximum:
            self._attempt += 1
        return base * (1 - self.jitter * self.rng.random())

    def reset(self) -> None:
        self._attempt = 0

    def jittered(self, delay: float) -> float:
        """A delay the server asked for (a `goodbye`), stretched by up to `jitter` of itself."""
        return delay * (1 + self.jitter * self.rng.random())


def send_pauses() -> Backoff:
    """Between a send's attempts: 0.5 s growing to 8 s. A send that timed out is most often
    waiting behind a slow log, and every copy sent sooner only adds to what is ahead of it."""
    return Backoff(initial=0.5, maximum=8.0)
