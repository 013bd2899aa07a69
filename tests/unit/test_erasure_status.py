"""An erasure's report read back: what each store says, from what was counted, and the
erasure as the accounts topic's fold remembers it (edge/erasure_status.py)."""

from __future__ import annotations

from edge.accounts import AccountDirectory, ErasedAccount
from edge.erasure_status import store_reports
from edge.protocol.compliance import StoreReport
from edge.read_service import PersonTraces
from schemas import models as m
from tests.media_events import T0, account_erased

ERASED = ErasedAccount(
    erasure_id="erasure-1",
    user_id="ana",
    officer="compliance:op1",
    case_ref="C-7",
    account_seq=9,
    erased_at_ms=1,
    devices=2,
)
CLEAN = PersonTraces(conversations=3, messages=0, previews=0, documents=0, media=["m1", "m2"])


def left(reports: list[StoreReport]) -> dict[str, int]:
    return {r.store: r.left for r in reports}


def test_a_finished_erasure_leaves_nothing_in_any_store() -> None:
    reports = store_reports(ERASED, key_held=False, traces=CLEAN, files_left=0)
    assert set(left(reports).values()) == {0}
    found = {r.store: r.found for r in reports}
    assert found == {
        "accounts": 2,
        "key_store": 1,
        "log": 3,
        "history_view": 3,
        "inbox_view": 3,
        "search_index": 3,
        "media": 2,
        "archive": 3,
    }


def test_each_store_says_what_is_left_of_the_person() -> None:
    behind = PersonTraces(conversations=3, messages=5, previews=1, documents=4, media=["m1"])
    reports = store_reports(ERASED, key_held=True, traces=behind, files_left=1)
    assert left(reports) == {
        "accounts": 0,
        "key_store": 1,
        "log": 3,
        "history_view": 5,
        "inbox_view": 1,
        "search_index": 4,
        "media": 1,
        "archive": 3,
    }, "with the key held, every sealed copy in the log and the archive is readable"


def test_an_edge_without_a_search_index_says_so_rather_than_zero() -> None:
    unread = PersonTraces(conversations=1, messages=0, previews=0, documents=None, media=[])
    (search,) = [r for r in store_reports(ERASED, False, unread, 0) if r.store == "search_index"]
    assert "not counted" in search.done


def test_the_directory_remembers_each_erasure_by_its_id() -> None:
    directory = AccountDirectory()
    registered = m.AccountRegistered(
        meta=account_erased("ana").meta.model_copy(update={"seq": 1}),
        display_name="Ana",
        password_hash="x",
    )
    directory.apply(registered)
    directory.apply(account_erased("ana"))
    erased = directory.erasures["erasure-1"]
    assert (erased.user_id, erased.officer, erased.case_ref, erased.account_seq) == (
        "ana",
        "compliance:op1",
        "C-7",
        9,
    )
    assert erased.erased_at_ms == int(T0.timestamp() * 1000)
    assert "ana" in directory.erased and "ana" not in directory.accounts
