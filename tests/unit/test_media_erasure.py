"""Which media the sweeper deletes for an erasure: every media of an erased person that is not
yet deleted, whatever its state, and nobody else's."""

from __future__ import annotations

from media.lifecycle import MediaStatus
from schemas import models as m
from streams.media.erasure import ErasureRequests, erased_user, to_erase
from tests.media_events import account_erased, book_of, declared, meta, uploaded


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
    erased = account_erased("ana")
    assert erased_user(erased) == "ana"
    revoked = m.DeviceRevoked(meta=erased.meta, target_device_id="phone")
    assert erased_user(revoked) is None


def test_a_request_is_pending_until_a_deletion_answers_it() -> None:
    requests = ErasureRequests()
    early = m.MediaDeleted(meta=meta("m0"), reason=m.MediaDeletionReason.UNATTACHED)
    for event in (
        early,
        m.MediaErasureRequested(meta=meta("m0"), erasure_id="e"),
        m.MediaErasureRequested(meta=meta("m1"), erasure_id="e"),
        m.MediaErasureRequested(meta=meta("m2"), erasure_id="e"),
        m.MediaDeleted(meta=meta("m1"), reason=m.MediaDeletionReason.ERASED),
        declared("m3"),
    ):
        requests.apply(event)
    assert sorted(requests.pending) == ["m0", "m2"], (
        "m0's deletion came before the request: the sweeper decides (its book knows)"
    )
    assert requests.pending["m2"].owner_id == "ana"
