"""Which media the sweeper deletes for an erasure: every media of an erased person that is not
yet deleted, whatever its state, and nobody else's."""

from __future__ import annotations

from media.lifecycle import MediaStatus
from schemas import models as m
from streams.media.erasure import erased_user, to_erase
from tests.media_events import T0, book_of, declared, meta, uploaded


def account_meta(user: str) -> m.AccountEventMeta:
    return m.AccountEventMeta(
        event_id="e1",
        user_id=user,
        seq=3,
        device_id="compliance",
        command_id="erasure-1",
        client_msg_id="erasure-1",
        occurred_at=T0,
    )


def test_every_live_media_of_an_erased_person_is_to_erase_and_no_one_elses() -> None:
    book = book_of(
        declared("m1"),
        uploaded("m1"),
        declared("m2"),
        declared("m3", owner="bo"),
        declared("m4"),
        m.MediaDeleted(meta=meta("m4"), reason=m.MediaDeletionReason.UNATTACHED),
    )
    found = to_erase(book.records.values(), {"ana"})
    assert sorted(r.media_id for r in found) == ["m1", "m2"]
    assert {r.status for r in found} == {MediaStatus.UPLOADED, MediaStatus.DECLARED}
    assert to_erase(book.records.values(), set()) == []


def test_a_media_erased_before_is_not_erased_again() -> None:
    gone = m.MediaDeleted(meta=meta("m1"), reason=m.MediaDeletionReason.ERASED)
    assert to_erase(book_of(declared("m1"), gone).records.values(), {"ana"}) == []


def test_only_an_erasure_names_an_erased_person() -> None:
    erased = m.AccountErased(
        meta=account_meta("ana"), erasure_id="erasure-1", officer="compliance:op", case_ref="C"
    )
    assert erased_user(erased) == "ana"
    revoked = m.DeviceRevoked(meta=account_meta("ana"), target_device_id="phone")
    assert erased_user(revoked) is None
