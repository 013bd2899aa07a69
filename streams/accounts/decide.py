"""The account registry's pure core: `decide(state, command, now)` and `evolve(state, event)`.

`decide` reads state and answers with one event, a duplicate's earlier seq, "unchanged",
or a rejection; it writes nothing. `evolve` folds an event into state; the live path and
the rebuild from the accounts topic both go through it, so they cannot disagree. The
answer types and the two rule outcomes are streams/decisions.py's, shared with the
sequencer: only the rules differ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from schemas import models as m
from schemas.models import RejectionCode
from streams import decisions
from streams.accounts.state import Account, AccountState, DeviceStatus
from streams.decisions import Accepted, Duplicate, NoChangeError, Rejected, RejectedError, Unchanged

__all__ = [
    "DEFAULT_LIMITS",
    "Accepted",
    "Decision",
    "Duplicate",
    "Limits",
    "Rejected",
    "Unchanged",
    "decide",
    "evolve",
]

USER_ID = re.compile(r"[a-z0-9_.-]{3,32}")
CASE_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}")
"""A compliance case reference: a ticket or matter id, never free text (it is copied into
the audit log, which must hold no personal data: docs/compliance.md)."""
TOKEN_HASH = re.compile(r"[0-9a-f]{64}")
"""SHA-256 as lowercase hex: the only form of a device token that reaches the log."""
PASSWORD_HASH_PREFIX = "$argon2"
COMPLIANCE_PREFIX = "compliance:"
MAX_SEALED_NAME_BYTES = 64 * 4 + 16
"""A sealed name: at most 64 characters of UTF-8 and the cipher's tag."""


@dataclass(frozen=True)
class Limits:
    max_display_name_chars: int = 64
    max_device_name_chars: int = 64
    max_active_devices: int = 100
    max_id_chars: int = 128
    max_password_hash_chars: int = 512


DEFAULT_LIMITS = Limits()


Decision = decisions.Decision[m.AccountEvent]
AccountChange = (
    m.AddDevice
    | m.ChangeProfile
    | m.RevokeDevice
    | m.GrantCompliance
    | m.RevokeCompliance
    | m.EraseAccount
)
"""Every account command but the registration: each changes an account that exists."""


def decide(
    state: AccountState, command: m.AccountCommand, now: datetime, limits: Limits = DEFAULT_LIMITS
) -> Decision:
    meta = command.meta
    earlier = state.seq_of_command(meta.user_id, meta.device_id, meta.client_msg_id)
    if earlier is not None:
        return Duplicate(earlier)
    try:
        _check_ids(meta, limits)
        account = state.account(meta.user_id)
        if isinstance(command, m.RegisterAccount):
            return Accepted(_register(command, account, limits, _event_meta(meta, 1, now)))
        if account is None:
            raise RejectedError(RejectionCode.INVALID, "no such account")
        if account.erased and isinstance(command, m.EraseAccount):
            # A new erasure of an erased person (a repeat of the same one is a duplicate,
            # above): not a refusal of the officer, whose role the edge checked.
            raise RejectedError(RejectionCode.CONFLICT, "this account was already erased")
        if account.erased:
            raise RejectedError(RejectionCode.FORBIDDEN, "this account was erased")
        event_meta = _event_meta(meta, account.last_seq + 1, now)
        return Accepted(_change(state, command, account, limits, event_meta))
    except RejectedError as r:
        return Rejected(r.code, r.reason)
    except NoChangeError:
        return Unchanged()


def evolve(state: AccountState, event: m.AccountEvent) -> bool:
    """Fold `event` into state; False when it was already applied (seq not above last)."""
    meta = event.meta
    user = meta.user_id
    account = state.account(user)
    last = 0 if account is None else account.last_seq
    if meta.seq <= last:
        return False
    if meta.seq != last + 1:
        raise ValueError(f"gap in account {user}: state at seq {last}, event at {meta.seq}")
    if isinstance(event, m.AccountRegistered):
        if account is not None:
            raise ValueError(f"account {user} registered again at seq {meta.seq}")
        account = Account(last_seq=0, display_name=event.display_name, active_devices=0)
    elif account is None:
        raise ValueError(f"{type(event).__name__} at seq 1 of {user}: no registration before it")
    state.remember_command(user, meta.device_id, meta.client_msg_id, meta.seq)
    name, active, erased = account.display_name, account.active_devices, account.erased
    match event:
        case m.DeviceAdded():
            state.put_device(user, meta.device_id, DeviceStatus.ACTIVE)
            active += 1
        case m.DeviceRevoked() if state.device(user, event.target_device_id) == DeviceStatus.ACTIVE:
            state.put_device(user, event.target_device_id, DeviceStatus.REVOKED)
            active -= 1
        case m.ProfileChanged():
            name = event.display_name
        case m.ComplianceGranted():
            state.put_compliance_cases(user, [*state.compliance_cases(user), event.case_ref])
        case m.ComplianceRevoked():
            kept = [c for c in state.compliance_cases(user) if event.case_ref not in (None, c)]
            state.put_compliance_cases(user, kept)
        case m.AccountErased():
            name, active, erased = "", 0, True
    state.put_account(
        user, Account(last_seq=meta.seq, display_name=name, active_devices=active, erased=erased)
    )
    return True


def _register(
    command: m.RegisterAccount,
    existing: Account | None,
    limits: Limits,
    meta: m.AccountEventMeta,
) -> m.AccountRegistered:
    """A retry of the registration itself never gets here: `decide` answers it as a duplicate."""
    if not USER_ID.fullmatch(meta.user_id):
        raise RejectedError(
            RejectionCode.INVALID, "a user name is 3 to 32 characters of a-z, 0-9, '_', '.', '-'"
        )
    if existing is not None:
        raise RejectedError(RejectionCode.CONFLICT, "user name taken")
    _check_name(command.display_name, command.sealed_display_name, limits)
    password_hash = command.password_hash
    if (
        not password_hash.startswith(PASSWORD_HASH_PREFIX)
        or len(password_hash) > limits.max_password_hash_chars
    ):
        raise RejectedError(RejectionCode.INVALID, "password_hash must be an argon2 PHC string")
    return m.AccountRegistered(
        meta=meta,
        display_name=command.display_name,
        password_hash=password_hash,
        sealed_display_name=command.sealed_display_name,
    )


def _change(
    state: AccountState,
    command: AccountChange,
    account: Account,
    limits: Limits,
    meta: m.AccountEventMeta,
) -> m.AccountEvent:
    user = meta.user_id
    match command:
        case m.AddDevice():
            return _add_device(state, command, account, limits, meta)
        case m.RevokeDevice():
            status = state.device(user, command.target_device_id)
            if status is None:
                raise RejectedError(RejectionCode.INVALID, "no such device")
            if status == DeviceStatus.REVOKED:
                raise NoChangeError
            return m.DeviceRevoked(meta=meta, target_device_id=command.target_device_id)
        case m.ChangeProfile():
            _check_name(command.display_name, command.sealed_display_name, limits)
            # A sealed name is sealed afresh each time: it always counts as a change.
            if command.sealed_display_name is None and command.display_name == account.display_name:
                raise NoChangeError
            return m.ProfileChanged(
                meta=meta,
                display_name=command.display_name,
                sealed_display_name=command.sealed_display_name,
            )
        case m.EraseAccount():
            if not command.officer.startswith(COMPLIANCE_PREFIX):
                raise RejectedError(RejectionCode.FORBIDDEN, "only compliance erases a person")
            return m.AccountErased(
                meta=meta,
                erasure_id=command.erasure_id,
                officer=command.officer,
                case_ref=command.case_ref,
                conversations=command.conversations,
            )
        case m.GrantCompliance():
            _check_case(command.case_ref, command.operator, limits)
            if command.case_ref in state.compliance_cases(user):
                raise NoChangeError
            return m.ComplianceGranted(
                meta=meta, case_ref=command.case_ref, operator=command.operator
            )
        case m.RevokeCompliance():
            held = state.compliance_cases(user)
            _check_case(command.case_ref, command.operator, limits)
            if not held or (command.case_ref is not None and command.case_ref not in held):
                raise NoChangeError
            return m.ComplianceRevoked(
                meta=meta, case_ref=command.case_ref, operator=command.operator
            )


def _add_device(
    state: AccountState,
    command: m.AddDevice,
    account: Account,
    limits: Limits,
    meta: m.AccountEventMeta,
) -> m.DeviceAdded:
    """The device being added is the command's own device_id: it asks to join the account."""
    status = state.device(meta.user_id, meta.device_id)
    if status == DeviceStatus.ACTIVE:
        raise RejectedError(RejectionCode.CONFLICT, "this device was already added")
    if status == DeviceStatus.REVOKED:
        raise RejectedError(RejectionCode.CONFLICT, "this device was revoked; its id is not reused")
    if not TOKEN_HASH.fullmatch(command.token_hash):
        raise RejectedError(
            RejectionCode.INVALID, "token_hash must be a SHA-256 as 64 lowercase hex characters"
        )
    sealed = command.sealed_device_name
    if sealed is not None:
        _check_sealed(sealed, "device_name")
    elif not 0 < len(command.device_name) <= limits.max_device_name_chars:
        raise RejectedError(
            RejectionCode.INVALID,
            f"device_name must be 1 to {limits.max_device_name_chars} characters",
        )
    if account.active_devices >= limits.max_active_devices:
        raise RejectedError(
            RejectionCode.TOO_LARGE, f"at most {limits.max_active_devices} active devices"
        )
    return m.DeviceAdded(
        meta=meta,
        device_name=command.device_name,
        token_hash=command.token_hash,
        sealed_device_name=sealed,
    )


def _check_name(name: str, sealed: m.SealedBody | None, limits: Limits) -> None:
    """A display name in plain, or sealed by the edge (which checked it before sealing: the
    registry cannot read it), never both."""
    if sealed is not None:
        if name:
            raise RejectedError(RejectionCode.INVALID, "a sealed display name has no plain twin")
        _check_sealed(sealed, "display_name")
        return
    if not 0 < len(name) <= limits.max_display_name_chars or not name.strip():
        raise RejectedError(
            RejectionCode.INVALID,
            f"display_name must be 1 to {limits.max_display_name_chars} characters, not all blank",
        )


def _check_sealed(sealed: m.SealedBody, field: str) -> None:
    if not 0 < len(sealed.ciphertext) <= MAX_SEALED_NAME_BYTES:
        raise RejectedError(
            RejectionCode.INVALID, f"a sealed {field} is 1 to {MAX_SEALED_NAME_BYTES} bytes"
        )


def _check_case(case_ref: str | None, operator: str, limits: Limits) -> None:
    """`case_ref` None (every case) is for a revocation only: the schema allows it nowhere else."""
    if not 0 < len(operator) <= limits.max_id_chars:
        raise RejectedError(
            RejectionCode.INVALID, f"operator must be 1 to {limits.max_id_chars} characters"
        )
    if case_ref is not None and not CASE_REF.fullmatch(case_ref):
        raise RejectedError(
            RejectionCode.INVALID,
            "case_ref must be 1 to 64 of A-Z, a-z, 0-9, '.', '_', ':', '/', '-', starting "
            "with a letter or digit",
        )


def _check_ids(meta: m.AccountCommandMeta, limits: Limits) -> None:
    for label, value in (
        ("device_id", meta.device_id),
        ("client_msg_id", meta.client_msg_id),
    ):
        if not value or len(value) > limits.max_id_chars:
            raise RejectedError(
                RejectionCode.INVALID, f"{label} must be 1 to {limits.max_id_chars} characters"
            )


def _event_meta(meta: m.AccountCommandMeta, seq: int, now: datetime) -> m.AccountEventMeta:
    return m.AccountEventMeta(
        event_id=f"{meta.user_id}/{seq}",
        user_id=meta.user_id,
        seq=seq,
        device_id=meta.device_id,
        command_id=meta.command_id,
        client_msg_id=meta.client_msg_id,
        occurred_at=now,
    )
