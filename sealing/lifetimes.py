"""How long messages may live: the disappearing-messages choices a member has and the global
retention default, read once at start by the edge (which seals a message for its lifetime)
and the sequencer (which refuses a setting outside the choices). One declaration, so that
the two cannot drift (docs/compliance.md, "Retention and disappearing messages").
"""

from __future__ import annotations

from pydantic import Field, field_validator

from kafkalog.settings import LogSettings

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
DISAPPEARING_CHOICES_MS: tuple[int, ...] = (24 * HOUR_MS, 7 * DAY_MS, 90 * DAY_MS)
"""What a member may set in a deployment: 24 hours, 7 days or 90 days (or off)."""


class LifetimeSettings(LogSettings):
    disappearing_choices_ms: tuple[int, ...] = Field(
        default=DISAPPEARING_CHOICES_MS,
        description="The lifetimes a member may set, in ms (JSON list). Tests and operators "
        "only: an end-to-end test adds a lifetime of seconds so that expiry happens within "
        "its run; a deployment keeps the default 24 h, 7 d and 90 d",
    )
    retention_days: int | None = Field(
        default=None,
        ge=1,
        le=36_500,
        description="The global default: new messages live at most this many days (unset: "
        "for ever, unless their conversation says otherwise)",
    )

    @field_validator("disappearing_choices_ms")
    @classmethod
    def _positive(cls, choices: tuple[int, ...]) -> tuple[int, ...]:
        if not choices or any(c <= 0 for c in choices):
            raise ValueError("disappearing choices are positive milliseconds, at least one")
        return tuple(sorted(set(choices)))


def describe(after_ms: int) -> str:
    """A lifetime as people say it: `24 h`, `7 d`, `5 s`."""
    for unit, size in (("d", DAY_MS), ("h", HOUR_MS), ("min", 60_000), ("s", 1000)):
        if after_ms % size == 0:
            return f"{after_ms // size} {unit}"
    return f"{after_ms} ms"


def choices_said(choices: tuple[int, ...]) -> str:
    """The choices in an error's words: `24 h (86400000), 7 d (604800000) or null for off`."""
    named = ", ".join(f"{describe(c)} ({c})" for c in choices)
    return f"after_ms is one of {named}, or null for off"
