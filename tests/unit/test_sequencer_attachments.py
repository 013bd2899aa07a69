"""The sequencer's attachment rules, pure: a message attaches only its sender's media, ready and
recent, and carries what the media book says of it, never what the sender said."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from media.book import MediaBook
from schemas import models as m
from schemas.models import RejectionCode
from streams.sequencer.decide import Accepted, Decision, Duplicate, Rejected, decide, evolve
from streams.sequencer.rules import DEFAULT_LIMITS
from tests.media_events import (
    T0,
    book_of,
    declared,
    deleted,
    processed,
    ready,
    rejected,
    uploaded,
)
from tests.unit.test_sequencer_decide import Conversation

NOW = T0 + timedelta(minutes=5)
PHOTO = "m" + "1" * 32


class Attaching(Conversation):
    """A 1:1 of ana and bo whose sends are decided against a media book."""

    def __init__(self, book: MediaBook) -> None:
        super().__init__()
        self.book = book
        self.expect_seq(
            m.CreateConversation(
                meta=self.meta("ana"),
                kind=m.ConversationKind.DIRECT,
                members=(m.Member(user_id="bo", role=m.Role.MEMBER),),
            )
        )

    def run(self, command: Any, now: Any = NOW) -> Decision:
        decision = decide(self.state, command, now, self.limits, self.book)
        if isinstance(decision, Accepted):
            evolve(self.state, decision.event)
        return decision

    def attach(
        self, *media_ids: str, user: str = "ana", text: str = "", body: Any = None, at: Any = NOW
    ) -> Decision:
        command = m.SendMessage(
            meta=self.meta(user), body=body or m.PlainBody(text=text), media_ids=media_ids
        )
        return self.run(command, at)


def sent(decision: Decision) -> m.MessageSent:
    assert isinstance(decision, Accepted), decision
    assert isinstance(decision.event, m.MessageSent)
    return decision.event


def refused(decision: Decision, code: RejectionCode) -> str:
    assert isinstance(decision, Rejected), decision
    assert decision.code is code, decision
    return decision.reason


def test_a_ready_photo_is_attached_as_the_book_knows_it_and_needs_no_caption() -> None:
    chat = Attaching(book_of(*ready(PHOTO)))
    (attached,) = sent(chat.attach(PHOTO)).attachments
    facts = processed(PHOTO)
    assert attached.media_id == PHOTO
    assert (attached.kind, attached.file_name) == (m.MediaKind.IMAGE, "a.jpg")
    assert (attached.size_bytes, attached.sha256) == (100, "0" * 64)
    assert (attached.width, attached.height, attached.placeholder) == (640, 480, facts.placeholder)
    assert attached.variants == facts.variants
    assert attached.variants[0].object_key.startswith(f"media/{PHOTO}/")


def test_a_sealed_file_name_is_carried_sealed_into_the_attachment() -> None:
    name = m.SealedBody(key_id="p/ana", algorithm="x", nonce=b"n", ciphertext=b"c")
    declaration = declared(PHOTO).model_copy(update={"file_name": "", "sealed_file_name": name})
    chat = Attaching(book_of(declaration, *ready(PHOTO)[1:]))
    (attached,) = sent(chat.attach(PHOTO)).attachments
    assert (attached.file_name, attached.sealed_file_name) == ("", name)


def test_text_is_still_needed_without_attachments() -> None:
    chat = Attaching(book_of(*ready(PHOTO)))
    assert "text or an attachment" in refused(chat.attach(), RejectionCode.INVALID)


def test_a_caption_may_be_edited_away_from_a_photo_but_not_from_text() -> None:
    chat = Attaching(book_of(*ready(PHOTO)))
    photo = sent(chat.attach(PHOTO, text="look"))
    words = sent(chat.attach(text="words"))
    empty = m.PlainBody(text="")
    edit = m.EditMessage(meta=chat.meta("ana"), target_seq=photo.meta.seq, body=empty)
    assert isinstance(chat.run(edit), Accepted)
    edit = m.EditMessage(meta=chat.meta("ana"), target_seq=words.meta.seq, body=empty)
    refused(chat.run(edit), RejectionCode.INVALID)


def test_unknown_and_someone_elses_media_are_the_same_no_such_media() -> None:
    chat = Attaching(book_of(*ready(PHOTO)))
    unknown = refused(chat.attach("m" + "2" * 32), RejectionCode.NO_SUCH_MEDIA)
    theirs = refused(chat.attach(PHOTO, user="bo"), RejectionCode.NO_SUCH_MEDIA)
    assert theirs == f"no media {PHOTO}" and unknown == f"no media {'m' + '2' * 32}"


def test_media_still_uploading_or_processing_is_not_ready() -> None:
    declared_only = Attaching(book_of(declared(PHOTO)))
    refused(declared_only.attach(PHOTO), RejectionCode.MEDIA_NOT_READY)
    processing = Attaching(book_of(declared(PHOTO), uploaded(PHOTO)))
    refused(processing.attach(PHOTO), RejectionCode.MEDIA_NOT_READY)


def test_refused_deleted_and_expired_media_are_not_attached() -> None:
    infected = Attaching(book_of(declared(PHOTO), uploaded(PHOTO), rejected(PHOTO)))
    assert "MALWARE" in refused(infected.attach(PHOTO), RejectionCode.NO_SUCH_MEDIA)
    swept = Attaching(book_of(*ready(PHOTO), deleted(PHOTO)))
    refused(swept.attach(PHOTO), RejectionCode.NO_SUCH_MEDIA)
    chat = Attaching(book_of(*ready(PHOTO)))
    day = timedelta(seconds=DEFAULT_LIMITS.attach_window_s)
    assert isinstance(chat.attach(PHOTO, at=T0 + day - timedelta(seconds=1)), Accepted)
    late = refused(chat.attach(PHOTO, at=T0 + day), RejectionCode.NO_SUCH_MEDIA)
    assert "upload it again" in late


def test_one_bad_attachment_refuses_the_whole_message_and_nothing_is_written() -> None:
    other = "m" + "3" * 32
    chat = Attaching(book_of(*ready(PHOTO), declared(other)))
    refused(chat.attach(PHOTO, other), RejectionCode.MEDIA_NOT_READY)
    assert chat.state.conversation(chat.cid).last_seq == 1  # type: ignore[union-attr]


def test_a_media_named_twice_or_too_many_are_refused() -> None:
    chat = Attaching(book_of(*ready(PHOTO)))
    refused(chat.attach(PHOTO, PHOTO), RejectionCode.INVALID)
    many = [f"m{i:032x}" for i in range(DEFAULT_LIMITS.max_attachments + 1)]
    refused(chat.attach(*many), RejectionCode.TOO_LARGE)


def test_an_encrypted_file_goes_only_with_an_encrypted_body() -> None:
    chat = Attaching(
        book_of(
            declared(PHOTO, encrypted=True),
            uploaded(PHOTO, m.MediaKind.ENCRYPTED),
            processed(PHOTO, kind=m.MediaKind.ENCRYPTED),
        )
    )
    assert "encrypted body" in refused(chat.attach(PHOTO), RejectionCode.INVALID)
    body = m.EncryptedBody(
        scheme=m.E2EEScheme.MEGOLM_V1, sender_key="k", session_id="s", ciphertext=b"\x01"
    )
    (attached,) = sent(chat.attach(PHOTO, body=body)).attachments
    assert attached.kind is m.MediaKind.ENCRYPTED and attached.placeholder is None


def test_a_retried_send_is_a_duplicate_whatever_the_book_says_now() -> None:
    """The idempotency key is checked before the book: a retry after the media was swept
    still answers with the first send's seq."""
    book = book_of(*ready(PHOTO))
    chat = Attaching(book)
    first = m.SendMessage(
        meta=chat.meta("ana", key="photo-1"), body=m.PlainBody(text=""), media_ids=(PHOTO,)
    )
    accepted = sent(chat.run(first))
    book.apply(deleted(PHOTO))
    again = m.SendMessage(
        meta=chat.meta("ana", key="photo-1"), body=m.PlainBody(text=""), media_ids=(PHOTO,)
    )
    assert chat.run(again) == Duplicate(accepted.meta.seq)


def test_without_a_media_book_every_attachment_is_refused() -> None:
    chat = Conversation()
    chat.group()
    command = m.SendMessage(meta=chat.meta("alice"), body=m.PlainBody(text="x"), media_ids=(PHOTO,))
    refused(chat.run(command), RejectionCode.NO_SUCH_MEDIA)
