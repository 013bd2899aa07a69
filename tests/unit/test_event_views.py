"""The log's events as clients see them: the protocol's event models mirror the Avro records
(one per event, the same fields, the same enum symbols), every event of every shape becomes
its model, and the JSON is what protocol v1 has always sent."""

from __future__ import annotations

import enum
import typing
from datetime import UTC, datetime
from typing import Any, get_args

import pytest
from pydantic import BaseModel, TypeAdapter

from edge.event_views import VIEWS, event_view, visible_view
from edge.protocol import events as v
from edge.protocol.frames import E2EECiphertext
from schemas import codec
from schemas import models as m
from schemas.catalog import definitions
from schemas.record import AvroRecord
from tests.unit.samples import sample

COMMON = ["type", "seq", "conversation_id", "actor", "client_msg_id", "occurred_at_ms"]
LOG_EVENTS: tuple[type[m.Event], ...] = typing.get_args(m.Event)
EVENT_VIEW: TypeAdapter[v.EventView] = TypeAdapter(v.EventView)
AT = datetime(2026, 1, 1, tzinfo=UTC)


def meta(seq: int, user: str = "alice") -> m.EventMeta:
    return m.EventMeta(
        event_id="e",
        conversation_id="c",
        seq=seq,
        actor=m.Actor(user_id=user, device_id=f"{user}-phone"),
        client_msg_id=f"m{seq}",
        command_id="k",
        occurred_at=AT,
    )


def test_every_event_of_the_log_has_a_model_and_no_model_lacks_an_event() -> None:
    assert sorted(VIEWS) == sorted(e.__name__ for e in LOG_EVENTS)


@pytest.mark.parametrize("event", LOG_EVENTS, ids=lambda e: e.__name__)
def test_an_event_model_has_the_common_fields_then_the_records_own(
    event: type[m.Event],
) -> None:
    own = [name for name in event.model_fields if name != "meta"]
    assert list(VIEWS[event.__name__].model_fields) == COMMON + own


@pytest.mark.parametrize(
    ("view", "record"),
    [
        (v.Actor, m.Actor),
        (v.Member, m.Member),
        (v.Attachment, m.Attachment),
        (v.Variant, m.MediaVariant),
        (E2EECiphertext, m.EncryptedBody),
        *[(VIEWS[e.__name__], e) for e in LOG_EVENTS],
    ],
    ids=lambda t: t.__name__,
)
def test_enum_fields_allow_exactly_the_schemas_symbols(
    view: type[BaseModel], record: type[AvroRecord]
) -> None:
    for name, field in record.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, enum.Enum):
            symbols = set(get_args(view.model_fields[name].annotation))
            assert symbols == {member.value for member in kind}, name


@pytest.mark.parametrize("branch", [0, 1, 2])
@pytest.mark.parametrize("event", LOG_EVENTS, ids=lambda e: e.__name__)
def test_every_shape_of_every_event_becomes_its_model(event: type[m.Event], branch: int) -> None:
    record = codec.from_avro(event.avro_name, sample(definitions()[event.avro_name], branch))
    view = event_view(record)  # type: ignore[arg-type]
    assert type(view) is VIEWS[event.__name__]
    assert EVENT_VIEW.validate_json(view.model_dump_json()) == view


def test_a_message_is_sent_as_protocol_v1_always_sent_it() -> None:
    sent = m.MessageSent(
        meta=meta(7),
        body=m.EncryptedBody(
            scheme=m.E2EEScheme.MEGOLM_V1,
            sender_key="sk",
            session_id="s",
            ciphertext=b"\x00\xff",
            device_ciphertexts={"d": b"\x01"},
        ),
        reply_to_seq=3,
        attachments=(
            m.Attachment(
                media_id="x",
                content_type="image/png",
                size_bytes=9,
                sha256="h",
                kind=m.MediaKind.IMAGE,
                file_name="a.png",
                width=4,
                height=3,
                placeholder="LEHV6n",
                variants=(
                    m.MediaVariant(
                        name=m.MediaVariantName.THUMBNAIL,
                        object_key="media/x/thumbnail-t.webp",
                        content_type="image/webp",
                        size_bytes=5,
                        sha256="t",
                        width=4,
                        height=3,
                    ),
                ),
            ),
        ),
        mentions=("bob",),
    )
    expected: dict[str, Any] = {
        "type": "MessageSent",
        "seq": 7,
        "conversation_id": "c",
        "actor": {"user_id": "alice", "device_id": "alice-phone"},
        "client_msg_id": "m7",
        "occurred_at_ms": 1_767_225_600_000,
        "body": {
            "kind": "e2ee",
            "scheme": "MEGOLM_V1",
            "sender_key": "sk",
            "session_id": "s",
            "ciphertext": "AP8=",
            "device_ciphertexts": {"d": "AQ=="},
        },
        "reply_to_seq": 3,
        "attachments": [
            {
                "media_id": "x",
                "content_type": "image/png",
                "size_bytes": 9,
                "sha256": "h",
                "kind": "IMAGE",
                "file_name": "a.png",
                "width": 4,
                "height": 3,
                "duration_ms": None,
                "placeholder": "LEHV6n",
                "variants": [
                    {
                        "name": "THUMBNAIL",
                        "content_type": "image/webp",
                        "size_bytes": 5,
                        "sha256": "t",
                        "width": 4,
                        "height": 3,
                    }
                ],
            }
        ],
        "mentions": ["bob"],
        "expires_after_ms": None,
    }
    assert event_view(sent).model_dump(mode="json") == expected


def test_a_creation_names_its_members_and_kind_by_symbol() -> None:
    created = m.ConversationCreated(
        meta=meta(1),
        kind=m.ConversationKind.GROUP,
        name="g",
        members=(m.Member(user_id="bob", role=m.Role.ADMIN),),
    )
    assert event_view(created).model_dump(mode="json") == {
        "type": "ConversationCreated",
        "seq": 1,
        "conversation_id": "c",
        "actor": {"user_id": "alice", "device_id": "alice-phone"},
        "client_msg_id": "m1",
        "occurred_at_ms": 1_767_225_600_000,
        "kind": "GROUP",
        "name": "g",
        "members": [{"user_id": "bob", "role": "ADMIN"}],
        "home_region": "local",
    }


def test_a_deletion_for_me_is_a_placeholder_to_everyone_but_its_author() -> None:
    deleted = m.MessageDeleted(meta=meta(5), target_seq=2, scope=m.DeleteScope.FOR_ME)
    assert visible_view(deleted, "bob").model_dump(mode="json") == {
        "type": "Hidden",
        "seq": 5,
        "conversation_id": "c",
    }
    own = visible_view(deleted, "alice")
    assert isinstance(own, v.MessageDeleted)
    assert (own.target_seq, own.scope) == (2, "FOR_ME")


def test_an_event_type_newer_than_the_client_is_kept_not_refused() -> None:
    newer = {"type": "PollClosed", "seq": 9, "conversation_id": "c", "winner": "tea"}
    parsed = EVENT_VIEW.validate_python(newer)
    assert isinstance(parsed, v.UnknownEvent)
    assert parsed.model_dump() == newer
