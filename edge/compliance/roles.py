"""Who may act as a compliance officer, and under which cases: folded from the accounts topic.

The role is granted and revoked only by an operator's command (infra/grants.py), which
travels as an account command to the accounts processor like any other; its events reach
every edge node on the accounts topic, so each node knows the same officers. No user API
writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas import models as m
from schemas.record import AvroRecord


@dataclass
class ComplianceRoles:
    cases: dict[str, set[str]] = field(default_factory=dict)
    """User id -> the cases they may act under now."""

    def apply(self, event: AvroRecord) -> None:
        """Fold an account event in (any other account event changes nothing here)."""
        if isinstance(event, m.ComplianceGranted):
            self.cases.setdefault(event.meta.user_id, set()).add(event.case_ref)
        elif isinstance(event, m.ComplianceRevoked):
            held = self.cases.get(event.meta.user_id, set())
            if event.case_ref is None:
                held.clear()
            else:
                held.discard(event.case_ref)
            if not held:
                self.cases.pop(event.meta.user_id, None)

    def holds(self, user_id: str, case_ref: str) -> bool:
        return case_ref in self.cases.get(user_id, ())

    def cases_of(self, user_id: str) -> list[str]:
        return sorted(self.cases.get(user_id, ()))
