"""The edge's side of sealing and erasure, over a real key store and a recording gateway:
plain text never leaves in a command; a sealed preview opens for the inbox; an erasure sends
its commands in order (the account first, then the key destroyed, then each conversation)
and a sealing after it is refused, never sent plain (docs/compliance.md)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.accounts import AccountDirectory
from edge.command_service import CommandService
from edge.erasure import Conversations, Erasures
from edge.errors import ClientError, ErrorCode
from edge.inbox_entries import inbox_entry
from edge.protocol import frames as f
from edge.submission import Submitter
from projections.inbox.layout import PREVIEW_CHARS, Preview, SealedPreview, Summary
from projections.inbox.query import InboxConversation
from schemas import codec
from schemas import models as m
from schemas.record import AvroRecord
from schemas.topics import TopicSpec, declare_topics
from sealing.bodies import BodyOpener, SealedMessages
from sealing.envelope import Sealer
from sealing.keyids import person_key_id
from sealing.keystore import KeyDestroyedError, SqliteKeyStore
from sealing.ring import KeyRing
from streams.accounts.registry import MAX_ACCOUNT_COMMAND_BYTES

CID = "g-0123456789abcdef0123456789abcdef"


class RecordingGateway:
    """Accepts every command at the next seq and keeps it, with what the key store held
    for the erased person at that moment."""

    def __init__(self, store: SqliteKeyStore) -> None:
        self.store = store
        self.sent: list[tuple[AvroRecord, bool]] = []

    async def submit(
        self, topic: TopicSpec, key: str, command: AvroRecord, command_id: str, timeout_s: float
    ) -> AvroRecord:
        self.sent.append((command, self.key_alive()))
        seq = len(self.sent)
        if isinstance(command, m.EraseAccount):
            return m.AccountCommandAccepted(command_id=command_id, user_id=key, seq=seq)
        meta: m.CommandMeta = command.meta  # type: ignore[attr-defined]
        return m.CommandAccepted(
            command_id=command_id,
            conversation_id=meta.conversation_id,
            actor=meta.actor,
            client_msg_id=meta.client_msg_id,
            seq=seq,
        )


    async def request_media_erasures(self, requests: list[m.MediaErasureRequested]) -> None:
        """The erasure's requests to the media sweeper, recorded in the same order."""
        self.sent += [(request, self.key_alive()) for request in requests]

    def key_alive(self) -> bool:
        try:
            return self.store.get(person_key_id("alice")) is not None
        except KeyDestroyedError:
            return False


def erasures(
    gateway: RecordingGateway,
    submitter: Submitter,
    store: SqliteKeyStore,
    conversations: Conversations,
    *,
    forget: Callable[[str], None] = print,
    media: dict[str, set[str]] | None = None,
) -> Erasures:
    """An erasure over the recording gateway; `media`: what the person attached, by
    conversation."""

    async def media_sent_by(user: str, conversation_id: str) -> set[str]:
        return (media or {}).get(conversation_id, set())

    return Erasures(
        submitter=submitter,
        keys=store,
        conversations=conversations,
        media_sent_by=media_sent_by,
        request_media_erasures=gateway.request_media_erasures,
        forget=forget,
    )


@pytest.fixture
def store(tmp_path: Path) -> SqliteKeyStore:
    return SqliteKeyStore(tmp_path / "keys.sqlite")


def services(store: SqliteKeyStore) -> tuple[RecordingGateway, Submitter, Sealer]:
    gateway = RecordingGateway(store)
    submitter = Submitter(topics=declare_topics("t", partitions=1), gateway=gateway, timeout_s=1)
    return gateway, submitter, Sealer(KeyRing(store))


async def test_a_send_and_an_edit_leave_the_edge_sealed(store: SqliteKeyStore) -> None:
    gateway, submitter, sealer = services(store)
    commands = CommandService(
        submitter=submitter, directory=AccountDirectory(), sealing=SealedMessages(sealer)
    )
    await commands.send(
        "alice", "d-1", cid=CID, client_msg_id="m1", body=f.PlainText(text="hello"), reply_to=None
    )
    edit = f.EditMessage(
        type="edit", id="r1", conversation_id=CID, seq=1, body=f.PlainText(text="hello!")
    )
    await commands.change_message("alice", "d-1", edit)
    opener = BodyOpener(sealer)
    texts = []
    for command, _ in gateway.sent:
        body = command.body  # type: ignore[attr-defined]
        assert isinstance(body, m.SealedBody) and b"hello" not in body.ciphertext
        texts.append(opener.text(body, CID, "alice"))
    assert texts == ["hello", "hello!"]
    assert opener.text(gateway.sent[0][0].body, CID, "bob") is None  # type: ignore[attr-defined]


async def test_a_blank_text_is_refused_before_it_is_sealed(store: SqliteKeyStore) -> None:
    gateway, submitter, sealer = services(store)
    commands = CommandService(
        submitter=submitter, directory=AccountDirectory(), sealing=SealedMessages(sealer)
    )
    with pytest.raises(ClientError) as refused:
        await commands.send(
            "alice", "d-1", cid=CID, client_msg_id="m1", body=f.PlainText(text=" "), reply_to=None
        )
    assert refused.value.code == ErrorCode.INVALID
    assert gateway.sent == []


def test_a_sealed_preview_opens_for_the_inbox_and_not_once_its_key_is_gone(
    store: SqliteKeyStore,
) -> None:
    sealer = Sealer(KeyRing(store))
    text = "x" * (PREVIEW_CHARS + 10)
    body = SealedMessages(sealer).seal(m.PlainBody(text=text), CID, "alice", None)
    assert isinstance(body, m.SealedBody)
    sealed = SealedPreview(
        key_id=body.key_id,
        algorithm=body.algorithm,
        nonce=base64.b64encode(body.nonce).decode(),
        ciphertext=base64.b64encode(body.ciphertext).decode(),
    )
    preview = Preview(seq=3, sender_id="alice", kind="sealed", sealed=sealed)
    conversation = InboxConversation(
        conversation_id=CID,
        summary=Summary(kind="group", last_seq=3, last_activity_ms=1, preview=preview),
        role="member",
        member=True,
        unread=0,
        mentions=0,
        read_up_to=0,
        member_count=2,
        receipts=None,
    )
    opener = BodyOpener(sealer)
    shown = inbox_entry(conversation, opener).preview
    assert shown is not None and shown.kind == "plain"
    assert shown.text == "x" * PREVIEW_CHARS + "…"
    store.destroy(person_key_id("alice"))
    opener.forget("alice")
    gone = inbox_entry(conversation, opener).preview
    assert gone is not None and (gone.kind, gone.text) == ("sealed", None)


async def test_an_erasure_goes_account_then_key_then_conversations(
    store: SqliteKeyStore,
) -> None:
    gateway, submitter, sealer = services(store)
    sealing = SealedMessages(sealer)
    sealing.seal(m.PlainBody(text="before"), CID, "alice", None)  # the key exists
    forgotten: list[str] = []

    async def conversations(user: str) -> list[str]:
        return [CID, "dm-1"]

    def forget(user: str) -> None:
        forgotten.append(user)
        sealer.ring.forget_person(user)

    attached = {CID: {"m-photo", "m-video"}, "dm-1": {"m-video", "m-file"}}
    erasing = erasures(gateway, submitter, store, conversations, forget=forget, media=attached)
    report = await erasing.erase("op1", "Alice", "C-1", "erasure-1")
    kinds = [(type(c).__name__, alive) for c, alive in gateway.sent]
    assert kinds == [
        ("EraseAccount", True),
        ("MediaErasureRequested", False),
        ("MediaErasureRequested", False),
        ("MediaErasureRequested", False),
        ("EraseSenderContent", False),
        ("EraseSenderContent", False),
    ]
    requests = [c for c, _ in gateway.sent if isinstance(c, m.MediaErasureRequested)]
    assert [(r.meta.media_id, r.meta.owner_id, r.erasure_id) for r in requests] == [
        ("m-file", "alice", "erasure-1"),
        ("m-photo", "alice", "erasure-1"),
        ("m-video", "alice", "erasure-1"),
    ]
    assert report.media == ["m-file", "m-photo", "m-video"]
    assert forgotten == ["alice"]
    assert report.key_destroyed and report.account_seq == 1
    assert [(c.conversation_id, c.seq) for c in report.conversations] == [("dm-1", 5), (CID, 6)]
    actors = {c.meta.actor.user_id for c, _ in gateway.sent[4:]}  # type: ignore[attr-defined]
    assert actors == {"compliance:op1"}
    with pytest.raises(KeyDestroyedError):
        sealing.seal(m.PlainBody(text="after"), CID, "alice", None)
    again = await erasing.erase("op1", "alice", "C-1", "erasure-1")
    assert not again.key_destroyed  # a repeat destroys nothing twice


async def test_a_person_in_thousands_of_conversations_can_be_erased(
    store: SqliteKeyStore,
) -> None:
    """Regression (bench erasure): `EraseAccount` listed every conversation, so a person in
    more than about 460 was refused `too_large` by the accounts processor and not erased."""
    gateway, submitter, _ = services(store)

    async def conversations(user: str) -> list[str]:
        return [f"conversation-{i:05d}-{'x' * 20}" for i in range(5_000)]

    report = await erasures(gateway, submitter, store, conversations).erase(
        "op1", "alice", "C-1", "erasure-1"
    )
    account = gateway.sent[0][0]
    assert isinstance(account, m.EraseAccount)
    assert len(codec.encode(account)) < MAX_ACCOUNT_COMMAND_BYTES
    assert len(report.conversations) == 5_000
    assert len(gateway.sent) == 5_001


async def test_an_erasure_needs_a_case(store: SqliteKeyStore) -> None:
    gateway, submitter, _ = services(store)

    async def conversations(user: str) -> list[str]:
        return []

    with pytest.raises(ClientError) as refused:
        await erasures(gateway, submitter, store, conversations).erase("op1", "alice", " ")
    assert refused.value.code == ErrorCode.INVALID


def test_a_body_from_another_key_store_is_unreadable_and_said_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Not an erasure: a process reading the wrong key store would index nothing, silently."""
    sealed = SealedMessages(Sealer(KeyRing(SqliteKeyStore(tmp_path / "a.sqlite")))).seal(
        m.PlainBody(text="hi"), CID, "alice", None
    )
    elsewhere = BodyOpener(Sealer(KeyRing(SqliteKeyStore(tmp_path / "b.sqlite"))))
    with caplog.at_level("ERROR", logger="parley.sealing"):
        assert elsewhere.text(sealed, CID, "alice") is None
        assert elsewhere.text(sealed, CID, "alice") is None
    said = [r for r in caplog.records if "never made" in r.getMessage()]
    assert len(said) == 1
