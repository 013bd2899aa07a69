"""The compliance role's rules: the accounts processor grants and revokes it per case (pure
`decide`/`evolve`), and every edge node folds the same events into the same roles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from edge.compliance.roles import ComplianceRoles
from schemas import models as m
from schemas.models import RejectionCode
from streams.accounts.decide import Decision, Duplicate, Unchanged, decide, evolve
from tests.unit.test_accounts_decide import NOW, Registry, rejected, seq_of

OPERATOR = "root@host"


def grant(r: Registry, user: str, case: str, operator: str = OPERATOR) -> Decision:
    return r.run(
        m.GrantCompliance(meta=r.meta(user, "operator-cli"), case_ref=case, operator=operator)
    )


def revoke(r: Registry, user: str, case: str | None) -> Decision:
    return r.run(
        m.RevokeCompliance(meta=r.meta(user, "operator-cli"), case_ref=case, operator=OPERATOR)
    )


def roles_of(r: Registry) -> ComplianceRoles:
    roles = ComplianceRoles()
    for event in r.events:
        roles.apply(event)
    return roles


def test_a_grant_is_an_event_of_the_account_and_every_edge_folds_it() -> None:
    r = Registry()
    r.register("olga")
    decision = grant(r, "olga", "CASE-1")
    assert seq_of(decision) == 2
    event = r.events[-1]
    assert isinstance(event, m.ComplianceGranted)
    assert (event.case_ref, event.operator, event.meta.device_id) == (
        "CASE-1",
        OPERATOR,
        "operator-cli",
    )
    assert r.state.compliance_cases("olga") == ["CASE-1"]
    roles = roles_of(r)
    assert roles.holds("olga", "CASE-1")
    assert not roles.holds("olga", "CASE-2")
    assert not roles.holds("someone", "CASE-1")


def test_the_role_is_per_case_and_revoked_per_case_or_all_at_once() -> None:
    r = Registry()
    r.register("olga")
    grant(r, "olga", "CASE-1")
    grant(r, "olga", "CASE-2")
    grant(r, "olga", "CASE-3")
    assert roles_of(r).cases_of("olga") == ["CASE-1", "CASE-2", "CASE-3"]
    revoke(r, "olga", "CASE-2")
    assert roles_of(r).cases_of("olga") == ["CASE-1", "CASE-3"]
    assert r.state.compliance_cases("olga") == ["CASE-1", "CASE-3"]
    revoke(r, "olga", None)
    assert roles_of(r).cases_of("olga") == []
    assert r.state.compliance_cases("olga") == []


def test_granting_twice_or_revoking_what_is_not_held_changes_nothing() -> None:
    r = Registry()
    r.register("olga")
    grant(r, "olga", "CASE-1")
    assert isinstance(grant(r, "olga", "CASE-1"), Unchanged)
    assert isinstance(revoke(r, "olga", "CASE-9"), Unchanged)
    revoke(r, "olga", None)
    assert isinstance(revoke(r, "olga", None), Unchanged)


def test_no_role_for_an_account_that_does_not_exist() -> None:
    refused = grant(Registry(), "ghost", "CASE-1")
    assert "no such account" in rejected(refused, RejectionCode.INVALID)


@pytest.mark.parametrize(
    "case", ["", "-lead", "a" * 65, "case one", "<script>", "ümlaut", "x\ny", "CASE;DROP"]
)
def test_a_case_reference_is_an_id_not_free_text(case: str) -> None:
    """It is copied into the audit log, which must hold no content (docs/compliance.md)."""
    r = Registry()
    r.register("olga")
    assert "case_ref" in rejected(grant(r, "olga", case), RejectionCode.INVALID)


def test_an_operator_is_named() -> None:
    r = Registry()
    r.register("olga")
    assert "operator" in rejected(grant(r, "olga", "CASE-1", ""), RejectionCode.INVALID)


def test_a_retried_grant_is_a_duplicate_not_a_second_event() -> None:
    r = Registry()
    r.register("olga")
    command = m.GrantCompliance(
        meta=r.meta("olga", "operator-cli", key="same"), case_ref="CASE-1", operator=OPERATOR
    )
    first = r.run(command)
    again = decide(r.state, command, NOW)
    assert again == Duplicate(seq_of(first))


def test_replaying_the_events_rebuilds_the_same_cases() -> None:
    """The processor's state is a cache of its log: evolve from the events alone agrees."""
    r = Registry()
    r.register("olga")
    grant(r, "olga", "CASE-1")
    grant(r, "olga", "CASE-2")
    revoke(r, "olga", "CASE-1")
    again = Registry()
    for event in r.events:
        assert evolve(again.state, event)
    assert again.state.compliance_cases("olga") == ["CASE-2"]


def test_only_the_operators_command_writes_a_grant_or_a_revocation() -> None:
    """No code a user reaches (the edge, the clients) builds either command: the operator's
    `python -m infra grant-compliance` (infra/grants.py) is the one writer."""
    root = Path(__file__).resolve().parents[2]
    writers = sorted(
        str(path.relative_to(root))
        for folder in ("edge", "client", "infra", "streams", "projections")
        for path in (root / folder).rglob("*.py")
        if re.search(r"\b(GrantCompliance|RevokeCompliance)\(\s*meta=", path.read_text())
    )
    assert writers == ["infra/grants.py"]
