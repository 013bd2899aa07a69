"""Who finds what: a person finds a message only if fetch_history would give it to them now.
Real events, applied to a real history view and a real search index by their own batches."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from projections.history.store import HistoryBatch
from projections.search.documents import dump
from schemas import codec
from schemas import models as m
from tests.unit.search_world import World


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built = World(tmp_path)
    yield built
    built.close()


def message_docs(world: World) -> list[tuple[str, int, str]]:
    """Every message document the index holds: (conversation, seq, text)."""
    docs, _ = dump(world.search_reader.searcher())
    return [(d.conversation_id, d.seq, d.text) for d in docs]


def test_a_stranger_finds_nothing(world: World) -> None:
    world.create("c", "alice", "bob")
    seq = world.send("c", "alice", "the launch code is swordfish")
    world.write()
    assert world.found("bob", "swordfish") == [("c", seq)]
    assert world.found("mallory", "swordfish") == []
    assert world.found("mallory", "swordfish", conversation_id="c") == []
    assert world.search("mallory", "swordfish").estimated_total == 0


def test_a_removed_member_finds_only_what_was_sent_while_a_member(world: World) -> None:
    world.create("c", "alice", "bob")
    before = world.send("c", "alice", "budget draft one")
    world.remove("c", "alice", "bob")
    world.send("c", "alice", "budget draft two, after bob left")
    world.write()
    assert world.found("bob", "budget") == [("c", before)]
    assert len(world.found("alice", "budget")) == 2


def test_a_member_added_later_does_not_find_what_was_sent_before(world: World) -> None:
    world.create("c", "alice", "bob")
    world.send("c", "alice", "salary review before carol joined")
    world.add("c", "alice", "carol")
    after = world.send("c", "alice", "salary review, carol is here now")
    world.write()
    assert world.found("carol", "salary") == [("c", after)]
    assert world.found("carol", "salary", conversation_id="c") == [("c", after)]
    assert world.search("carol", "salary").estimated_total == 1  # the prefilter, too
    assert len(world.found("bob", "salary")) == 2


def test_removed_and_added_again_finds_both_tenures_but_not_the_gap(world: World) -> None:
    world.create("c", "alice", "bob")
    first = world.send("c", "alice", "roadmap, first tenure")
    world.remove("c", "alice", "bob")
    world.send("c", "alice", "roadmap, while bob was away")
    world.add("c", "alice", "bob")
    second = world.send("c", "alice", "roadmap, second tenure")
    world.write()
    assert sorted(world.found("bob", "roadmap")) == [("c", first), ("c", second)]
    assert sorted(world.found("bob", "roadmap", order="newest")) == [("c", first), ("c", second)]
    assert world.search("bob", "roadmap").estimated_total == 2  # the prefilter, too


def test_a_removal_takes_effect_at_once_without_touching_the_index(world: World) -> None:
    world.create("c", "alice", "bob")
    world.send("c", "alice", "quarterly numbers")
    world.write()
    assert len(world.found("bob", "quarterly")) == 1
    docs = message_docs(world)
    world.remove("c", "alice", "bob")
    world.add("c", "alice", "carol")
    world.send("c", "alice", "quarterly numbers, revised")
    world.write()
    assert message_docs(world) == [*docs, ("c", 5, "quarterly numbers, revised")]
    assert world.found("bob", "quarterly") == [("c", 2)]


def test_deleted_for_everyone_is_found_by_nobody(world: World) -> None:
    world.create("c", "alice", "bob")
    gone = world.send("c", "alice", "oops wrong chat pineapple")
    world.send("c", "alice", "pineapple pizza is fine")
    world.delete("c", "alice", gone, m.DeleteScope.FOR_EVERYONE)
    world.write()
    for user in ("alice", "bob"):
        assert [seq for _, seq in world.found(user, "pineapple")] == [3]
    assert [seq for _, seq, _ in message_docs(world)] == [3]


def test_hidden_for_me_hides_it_from_that_person_only(world: World) -> None:
    world.create("c", "alice", "bob")
    seq = world.send("c", "alice", "embarrassing karaoke video")
    world.delete("c", "bob", seq, m.DeleteScope.FOR_ME)
    world.write()
    assert world.found("bob", "karaoke") == []
    assert world.found("alice", "karaoke") == [("c", seq)]
    assert len(message_docs(world)) == 1  # one document: hiding is an ACL filter


def test_redacted_is_found_by_nobody_and_leaves_no_text_in_the_index(world: World) -> None:
    world.create("c", "alice", "bob")
    seq = world.send("c", "alice", "my passport number is X1234567")
    world.redact("c", seq)
    world.write()
    assert world.found("alice", "passport") == []
    assert world.found("bob", "X1234567") == []
    assert message_docs(world) == []


def test_an_edit_replaces_the_text_only_the_latest_matches(world: World) -> None:
    world.create("c", "alice", "bob")
    seq = world.send("c", "alice", "meet at the old bridge")
    world.write()
    world.edit("c", "alice", seq, "meet at the new harbour")
    world.write()
    assert world.found("bob", "bridge") == []
    (hit,) = world.search("bob", "harbour").hits
    assert (hit.seq, hit.edited, hit.snippet) == (seq, True, "meet at the new harbour")
    world.edit("c", "alice", seq, "meet at the station")
    world.write()
    assert world.found("bob", "harbour") == []
    assert world.found("bob", "station") == [("c", seq)]


def test_an_edit_the_search_view_has_not_caught_up_with_hides_the_old_text(world: World) -> None:
    """The history view is ahead by one edit: the indexed (old) text must not be shown."""
    world.create("c", "alice", "bob")
    seq = world.send("c", "alice", "the old wording")
    world.write()
    world.edit("c", "alice", seq, "the new wording")
    history = HistoryBatch(world.history)
    (edit,) = world.pending
    history.add(edit, codec.encode(edit))
    history.commit()
    assert world.found("bob", "old") == []
    world.pending = [edit]
    world.write()
    assert world.found("bob", "new") == [("c", seq)]


def test_end_to_end_encrypted_text_is_never_indexed(world: World) -> None:
    world.create("c", "alice", "bob")
    world.send_encrypted("c", "alice")
    plain = world.send("c", "alice", "plain hello")
    world.write()
    assert message_docs(world) == [("c", plain, "plain hello")]
    world.emit(
        m.MessageEdited(
            meta=world.meta("c", "alice"),
            target_seq=plain,
            body=m.EncryptedBody(
                scheme=m.E2EEScheme.MEGOLM_V1, sender_key="k", session_id="s", ciphertext=b"x"
            ),
        )
    )
    world.write()
    assert message_docs(world) == []  # the old text must not match either
    assert world.found("alice", "hello") == []


def test_a_member_of_some_conversations_finds_only_theirs(world: World) -> None:
    for i in range(5):
        world.create(f"c{i}", "alice", *(["bob"] if i % 2 else []))
        world.send(f"c{i}", "alice", f"standup notes {i}")
    world.write()
    assert sorted(cid for cid, _ in world.found("bob", "standup")) == ["c1", "c3"]
    assert world.search("bob", "standup").estimated_total == 2
    assert world.found("bob", "standup", conversation_id="c2") == []
