"""The search view indexes sealed bodies, and what it removes leaves no index file: an
erasure, a redaction and an expiry each delete the documents and rewrite the segments that
held them (projections/search/purge.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from projections.search.documents import dump
from projections.search.store import SearchBatch, SearchStore
from schemas import models as m
from sealing.bodies import BodyOpener, SealedMessages
from sealing.envelope import Sealer
from sealing.keyids import person_key_id
from sealing.keystore import SqliteKeyStore
from sealing.ring import KeyRing

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CANARY = "zqxcanary"


def meta(cid: str, seq: int, user: str) -> m.EventMeta:
    return m.EventMeta(
        event_id=f"{cid}/{seq}",
        conversation_id=cid,
        seq=seq,
        actor=m.Actor(user_id=user, device_id=f"{user}-d"),
        client_msg_id=f"{cid}-{seq}",
        command_id=f"c-{cid}-{seq}",
        occurred_at=AT,
    )


class World:
    """Conversations whose events go through the real store, in batches of a few commits,
    so the index has several segments."""

    def __init__(self, tmp_path: Path) -> None:
        self.keys = SqliteKeyStore(tmp_path / "keys.sqlite")
        self.sealer = Sealer(KeyRing(self.keys))
        self.store = SearchStore(tmp_path / "index", opener=BodyOpener(self.sealer))
        self.path = tmp_path / "index"
        self.seqs: dict[str, int] = {}
        self.offset = 0

    def event(self, cid: str, user: str, make: type[m.Event], **fields: object) -> m.Event:
        seq = self.seqs[cid] = self.seqs.get(cid, 0) + 1
        return make.model_validate({"meta": meta(cid, seq, user), **fields})

    def send(self, cid: str, user: str, text: str) -> m.Event:
        body = SealedMessages(self.sealer).seal(m.PlainBody(text=text), cid, user, None)
        return self.event(cid, user, m.MessageSent, body=body)

    def apply(self, *events: m.Event) -> None:
        batch = SearchBatch(self.store)
        for event in events:
            batch.add(event, b"")
            self.offset += 1
        batch.advance(0, self.offset)
        batch.commit()

    def files_with(self, needle: str) -> list[str]:
        return sorted(
            p.name for p in self.path.iterdir() if p.is_file() and needle.encode() in p.read_bytes()
        )

    def texts(self) -> dict[tuple[str, int], str]:
        return {(d.conversation_id, d.seq): d.text for d in dump(self.store.searcher())[0]}


def test_sealed_bodies_are_indexed_and_an_erasure_leaves_no_file_with_them(
    tmp_path: Path,
) -> None:
    world = World(tmp_path)
    for cid in ("c1", "c2"):
        world.apply(world.event(cid, "ann", m.ConversationCreated, kind="GROUP", members=[]))
        for round_ in range(4):  # a commit each: several segments
            world.apply(
                world.send(cid, "ann", f"ann says {CANARY}{round_} in {cid}"),
                world.send(cid, "bob", f"bob answers plainly {round_}"),
            )
    assert len(world.texts()) == 16
    assert world.files_with(CANARY)  # the stored text is there: the scan can find it
    late = SealedMessages(world.sealer).seal(m.PlainBody(text="late"), "c1", "ann", None)
    world.keys.destroy(person_key_id("ann"))
    world.apply(
        *(
            world.event(
                cid, "compliance:erasure", m.SenderContentErased, user_id="ann", erasure_id="e1"
            )
            for cid in ("c1", "c2")
        )
    )
    assert world.files_with(CANARY) == []
    assert world.files_with("ann says") == []
    texts = world.texts()
    assert sorted(texts.values()) == sorted(
        f"bob answers plainly {r}" for r in range(4) for _ in ("c1", "c2")
    )
    searcher = world.store.searcher()
    assert searcher.terms_with_prefix("words", CANARY) == []
    assert searcher.terms_with_prefix("words", "answer") != []  # others' terms stay
    # A body of a person whose key is gone is never indexed, even if its event comes late.
    world.apply(world.event("c1", "ann", m.MessageSent, body=late))
    assert len(world.texts()) == 8


def test_a_redaction_and_an_expiry_purge_their_messages(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.apply(world.event("c1", "ann", m.ConversationCreated, kind="GROUP", members=[]))
    world.apply(world.send("c1", "ann", f"redact me {CANARY}r"), world.send("c1", "bob", "stay"))
    world.apply(world.send("c1", "bob", f"expire me {CANARY}x"), world.send("c1", "ann", "also"))
    assert world.files_with(f"{CANARY}r") and world.files_with(f"{CANARY}x")
    world.apply(world.event("c1", "compliance:olga", m.MessageRedacted, target_seq=2, reason="r"))
    assert world.files_with(f"{CANARY}r") == []
    assert world.files_with(f"{CANARY}x")
    world.apply(world.event("c1", "compliance:expiry", m.MessagesExpired, seqs=[4, 99]))
    assert world.files_with(CANARY) == []
    assert sorted(world.texts().values()) == ["also", "stay"]
    assert world.store.purged > 0


def test_an_edit_leaves_no_file_with_the_old_text_and_a_later_erasure_none_with_either(
    tmp_path: Path,
) -> None:
    """Regression (the erasure proof, in `make test`): an edit only marked the old document
    deleted, so the old text stayed in its segment; the sender's later erasure rewrote only
    segments holding a live document of theirs, and the old text was found in a file."""
    world = World(tmp_path)
    world.apply(world.event("c1", "ann", m.ConversationCreated, kind="GROUP", members=[]))
    world.apply(world.send("c1", "ann", f"first draft {CANARY}old"), world.send("c1", "bob", "hi"))
    world.apply(world.send("c1", "bob", "a segment of its own"))
    assert world.files_with(f"{CANARY}old")
    edit = SealedMessages(world.sealer).seal(
        m.PlainBody(text=f"fixed {CANARY}new"), "c1", "ann", None
    )
    world.apply(world.event("c1", "ann", m.MessageEdited, target_seq=2, body=edit))
    assert world.files_with(f"{CANARY}old") == []
    assert world.files_with(f"{CANARY}new")
    assert sorted(world.texts().values()) == ["a segment of its own", f"fixed {CANARY}new", "hi"]
    world.apply(
        world.event(
            "c1", "compliance:erasure", m.SenderContentErased, user_id="ann", erasure_id="e"
        )
    )
    assert world.files_with(CANARY) == []
    assert sorted(world.texts().values()) == ["a segment of its own", "hi"]
