"""Sealing: what is sealed opens only where it belongs, and not at all once a key is gone."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas import codec
from schemas import models as m
from sealing.bodies import BodyOpener, SealedMessages, message_context
from sealing.envelope import ALGORITHM, Context, Expiry, Purpose, Sealer, UnreadableError
from sealing.keyids import ContentKeyId, bucket_for, bucket_key_id, person_key_id
from sealing.keystore import KeyDestroyedError, SqliteKeyStore
from sealing.names import Names
from sealing.ring import KeyRing
from tests.unit.samples import NOW


def sample_meta(cid: str, seq: int, user: str) -> m.EventMeta:
    return m.EventMeta(
        event_id=f"{cid}/{seq}",
        conversation_id=cid,
        seq=seq,
        actor=m.Actor(user_id=user, device_id=f"{user}-phone"),
        client_msg_id=f"m-{seq}",
        command_id=f"c-{seq}",
        occurred_at=NOW,
    )


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def wall() -> Clock:
    return Clock(1_000_000.0)


@pytest.fixture
def store(tmp_path: Path, wall: Clock) -> SqliteKeyStore:
    return SqliteKeyStore(tmp_path / "keys.sqlite", wall=wall)


def sealer(store: SqliteKeyStore, wall: Clock, *, ttl_s: float = 60.0) -> Sealer:
    ring = KeyRing(store, ttl_s=ttl_s, wall=wall)
    return Sealer(ring, expiry=Expiry(bucket_width_s=30, grace_s=2.0), wall=wall)


def test_a_sealed_message_opens_in_its_conversation_only(
    store: SqliteKeyStore, wall: Clock
) -> None:
    seal = sealer(store, wall)
    body = seal.seal("meet at noon", message_context("c1", "ann"))
    assert body.algorithm == ALGORITHM
    assert body.key_id == "p/ann"
    assert b"noon" not in codec.encode(m.MessageSent(meta=sample_meta("c1", 2, "ann"), body=body))
    assert seal.open(body, message_context("c1", "ann")) == "meet at noon"
    for elsewhere in (
        message_context("c2", "ann"),
        Context(Purpose.DISPLAY_NAME, "c1", "ann"),
    ):
        with pytest.raises(UnreadableError):
            seal.open(body, elsewhere)
    with pytest.raises(UnreadableError):
        seal.open(body, message_context("c1", "bob"))
    # One bit flipped (a last byte set to 0 was already 0 once in 256 runs: no tampering).
    flipped = body.ciphertext[:-1] + bytes([body.ciphertext[-1] ^ 1])
    tampered = body.model_copy(update={"ciphertext": flipped})
    with pytest.raises(UnreadableError):
        seal.open(tampered, message_context("c1", "ann"))


def test_erasing_the_person_key_shreds_every_body_of_theirs(
    store: SqliteKeyStore, wall: Clock
) -> None:
    writer = sealer(store, wall)
    ann = writer.seal("ann's", message_context("c1", "ann"))
    expiring = writer.seal("ann's, expiring", message_context("c1", "ann"), expires_after_ms=60_000)
    bob = writer.seal("bob's", message_context("c1", "bob"))
    store.destroy(person_key_id("ann"))
    reader = sealer(store, wall)  # another process: nothing cached
    for body in (ann, expiring):
        with pytest.raises(UnreadableError):
            reader.open(body, message_context("c1", "ann"))
    assert reader.open(bob, message_context("c1", "bob")) == "bob's"
    # The writer cached ann's key; it drops it when it reads her erasure.
    writer.ring.forget_person("ann")
    with pytest.raises(UnreadableError):
        writer.open(ann, message_context("c1", "ann"))


def test_a_process_that_read_the_erasure_never_reads_the_key_again(
    store: SqliteKeyStore, wall: Clock
) -> None:
    """Regression (bench erasure): the edge forgets the key when it reads `AccountErased`, but
    the erasure destroys it in the store only after; a page opened in between read the key
    again and served the erased person's text for the cache's 60 s."""
    edge = sealer(store, wall)
    body = edge.seal("ann's", message_context("c1", "ann"))
    edge.ring.forget_person("ann")
    assert store.get(person_key_id("ann")) is not None  # not destroyed yet
    with pytest.raises(UnreadableError):
        edge.open(body, message_context("c1", "ann"))
    with pytest.raises(KeyDestroyedError):
        edge.seal("ann again", message_context("c1", "ann"))
    bob = edge.seal("bob's", message_context("c1", "bob"))
    assert edge.open(bob, message_context("c1", "bob")) == "bob's"


def test_an_expiring_body_dies_with_its_bucket(store: SqliteKeyStore, wall: Clock) -> None:
    seal = sealer(store, wall)
    body = seal.seal("soon gone", message_context("c1", "ann"), expires_after_ms=45_000)
    key = ContentKeyId.parse(body.key_id)
    assert key.bucket_end_s == bucket_for(wall.now + 45, width_s=30, grace_s=2.0)
    assert wall.now + 47 <= (key.bucket_end_s or 0) < wall.now + 47 + 30
    assert seal.open(body, message_context("c1", "ann")) == "soon gone"
    wall.now = float(key.bucket_end_s or 0)
    with pytest.raises(UnreadableError):
        seal.open(body, message_context("c1", "ann"))
    # Whatever a clock says, the store's destruction is final.
    wall.now -= 10
    store.destroy(bucket_key_id(key.bucket_end_s or 0))
    with pytest.raises(UnreadableError):
        sealer(store, wall).open(body, message_context("c1", "ann"))


def test_an_unknown_key_or_algorithm_is_unreadable_not_an_error(
    store: SqliteKeyStore, wall: Clock
) -> None:
    seal = sealer(store, wall)
    body = seal.seal("x", message_context("c1", "ann"))
    for broken in (
        body.model_copy(update={"key_id": "p/nobody"}),
        body.model_copy(update={"key_id": "garbage"}),
        body.model_copy(update={"algorithm": "ROT13"}),
    ):
        with pytest.raises(UnreadableError):
            seal.open(broken, message_context("c1", "ann"))


def test_the_opener_gives_plain_bodies_back_and_leaves_the_rest(
    store: SqliteKeyStore, wall: Clock
) -> None:
    seal = sealer(store, wall)
    sealed = SealedMessages(seal).seal(m.PlainBody(text="hello"), "c1", "ann", None)
    assert isinstance(sealed, m.SealedBody)
    e2ee = m.EncryptedBody(
        scheme=m.E2EEScheme.MEGOLM_V1, sender_key="k", session_id="s", ciphertext=b"\x01"
    )
    assert SealedMessages(seal).seal(e2ee, "c1", "ann", None) is e2ee
    event = m.MessageSent(meta=sample_meta("c1", 2, "ann"), body=sealed)
    opener = BodyOpener(seal)
    assert opener.event(event).body == m.PlainBody(text="hello")
    assert opener.text(e2ee, "c1", "ann") is None
    store.destroy(person_key_id("ann"))
    seal.ring.forget_person("ann")
    assert opener.event(event) is event
    assert opener.text(sealed, "c1", "ann") is None


def test_a_file_name_is_sealed_to_its_media_and_owner_and_shredded_with_them(
    store: SqliteKeyStore, wall: Clock
) -> None:
    seal = sealer(store, wall)
    names = Names(seal)
    plain, sealed = names.file_name("ann", "m-1", "passport-ann.jpg")
    assert plain == "" and sealed is not None
    assert b"passport" not in sealed.ciphertext
    assert names.open_file_name("ann", "m-1", plain, sealed) == "passport-ann.jpg"
    assert names.open_file_name("ann", "m-2", plain, sealed) == "", "moved to another media"
    assert names.open_file_name("bob", "m-1", plain, sealed) == "", "claimed by another owner"
    attachment = m.Attachment(
        media_id="m-1",
        content_type="image/jpeg",
        size_bytes=1,
        sha256="0" * 64,
        file_name=plain,
        sealed_file_name=sealed,
    )
    body = SealedMessages(seal).seal(m.PlainBody(text="look"), "c1", "ann", None)
    event = m.MessageSent(meta=sample_meta("c1", 2, "ann"), body=body, attachments=(attachment,))
    assert codec.decode(codec.encode(event)) == event, "a sealed name nested in an event"
    opened = BodyOpener(seal).event(event)
    assert opened.body == m.PlainBody(text="look")
    assert [(a.file_name, a.sealed_file_name) for a in opened.attachments] == [
        ("passport-ann.jpg", None)
    ]
    store.destroy(person_key_id("ann"))
    seal.ring.forget_person("ann")
    gone = BodyOpener(seal).event(event)
    assert [(a.file_name, a.sealed_file_name) for a in gone.attachments] == [("", None)]
    assert Names(seal, sealing=False).file_name("ann", "m-3", "plain.txt") == ("plain.txt", None)
