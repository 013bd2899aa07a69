"""The compliance benchmarks' pure parts (bench/erasure.py, bench/redaction.py and the
environments of bench/compare.py), without a cluster."""

from __future__ import annotations

from typing import Any

import pytest

from bench import compare, erasure, redaction


def event(kind: str, **fields: Any) -> dict[str, Any]:
    return {"conversation_id": "c", "seq": 1, "event": {"type": kind, **fields}}


class TestCompareEnvironments:
    def test_each_label_gets_its_own_settings(self) -> None:
        found = compare.label_env(["plain:PARLEY_SEALING=off", "plain:X=a=b"], ["sealed", "plain"])
        assert found == {"sealed": {}, "plain": {"PARLEY_SEALING": "off", "X": "a=b"}}

    def test_an_unknown_label_is_refused(self) -> None:
        """A typo would compare a setting with itself and report no cost."""
        with pytest.raises(ValueError, match="no checkout"):
            compare.label_env(["plane:PARLEY_SEALING=off"], ["sealed", "plain"])

    @pytest.mark.parametrize("spec", ["PARLEY_SEALING=off", "plain:PARLEY_SEALING", "plain:=x"])
    def test_a_malformed_spec_is_refused(self, spec: str) -> None:
        with pytest.raises(ValueError, match="LABEL:KEY=VALUE"):
            compare.label_env([spec], ["plain"])


class TestErasureLoad:
    def test_the_environment_sizes_it_under_a_name_of_its_own(self) -> None:
        load = erasure.sized(
            erasure.FULL,
            {"PARLEY_BENCH_ERASURE_MESSAGES": "30000", "PARLEY_BENCH_ERASURE_CONVERSATIONS": "10"},
        )
        assert (load.name, load.messages, load.conversations, load.kept) == (
            "30000-in-10",
            30_000,
            10,
            10,
        )

    def test_without_the_environment_it_is_unchanged(self) -> None:
        assert erasure.sized(erasure.QUICK, {}) is erasure.QUICK

    def test_every_message_holds_the_canary_as_a_word(self) -> None:
        assert erasure.message_text("canaryabc", 7).split()[0] == "canaryabc"


class TestErasedPage:
    def test_a_page_with_the_erasure_and_no_canary_is_clean(self) -> None:
        page = {"events": [event("MessageSent"), event("SenderContentErased", user_id="ann")]}
        assert erasure.page_clean(page, "ann", "canary1")

    def test_a_page_the_edge_could_not_open_is_not_clean(self) -> None:
        """The key destroyed, the edge cannot open a sealed body: the canary is gone from the
        page before the view applied the erasure, which is what is timed."""
        assert not erasure.page_clean({"events": [event("MessageSent")]}, "ann", "canary1")

    def test_the_canary_still_served_is_not_clean(self) -> None:
        page = {
            "events": [
                event("MessageSent", body={"text": "canary1 n1"}),
                event("SenderContentErased", user_id="ann"),
            ]
        }
        assert not erasure.page_clean(page, "ann", "canary1")

    def test_another_persons_erasure_does_not_count(self) -> None:
        page = {"events": [event("SenderContentErased", user_id="bob")]}
        assert not erasure.page_clean(page, "ann", "canary1")


class TestErasureProgress:
    def test_remaining_counts_down_in_time_order(self) -> None:
        assert erasure.remaining_over_time([2.0, 0.5, 1.0], 3) == [
            (0.0, 3),
            (0.5, 2),
            (1.0, 1),
            (2.0, 0),
        ]

    def test_caught_up_allows_the_last_commit_marker(self) -> None:
        assert erasure.caught_up({0: 9, 1: 0}, {0: 10, 1: 0})
        assert not erasure.caught_up({0: 8}, {0: 10})
        assert not erasure.caught_up({}, {0: 10})


class TestRedaction:
    def test_the_tombstone_names_its_target(self) -> None:
        page = {"events": [event("MessageRedacted", target_seq=4, reason="r")]}
        assert redaction.tombstone_served(page, 4)
        assert not redaction.tombstone_served(page, 5)
        assert not redaction.tombstone_served({"events": [event("MessageSent")]}, 4)

    def test_only_a_redaction_push_is_taken(self) -> None:
        push = {"type": "event", **event("MessageRedacted", target_seq=4)}
        assert redaction.redacted_push(push) == ("c", 4)
        assert redaction.redacted_push({"type": "event", **event("MessageSent")}) is None
        assert redaction.redacted_push({"type": "resync", "reason": "slow"}) is None

    def test_the_environment_sets_the_count(self) -> None:
        load = redaction.sized(redaction.FULL, {"PARLEY_BENCH_REDACTIONS": "50"})
        assert (load.name, load.redactions) == ("50", 50)
        assert redaction.sized(redaction.FULL, {}) is redaction.FULL
