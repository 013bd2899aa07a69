"""The archive's Parquet columns: typed, flat columns per topic (analysts) and raw bytes.

Every record becomes one row, whatever it is, so that an object's rows are exactly its
offsets (a record that does not decode gets a row with `malformed` set). What analysts
must not see is never a column of the `table` family: message text and E2EE bodies (only
their kind and size), conversation and device names, display names, password and token
hashes, redaction reasons, attachments' file names. Those stay in the Avro bytes of the `raw`
family, which compliance can rewrite or drop (docs/archive.md, "Privacy"). Nor are the
client's and the command's ids: random, of no use to a count, and they would double the
family's size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa

from schemas import codec
from schemas.errors import MalformedRecordError, UnknownSchemaError

TIME = pa.timestamp("ms", tz="UTC")
MEMBER = pa.struct([pa.field("user_id", pa.string()), pa.field("role", pa.string())])

Datum = dict[str, Any]
Flatten = Callable[[Datum], dict[str, Any]]


def _schema(*fields: pa.Field[Any]) -> pa.Schema:
    return pa.schema(list(fields))


COMMON = _schema(
    pa.field("offset", pa.int64(), nullable=False),
    pa.field("log_time", TIME, nullable=False),
    pa.field("event_type", pa.string()),
    pa.field("malformed", pa.string()),
)
RAW = _schema(
    pa.field("offset", pa.int64(), nullable=False),
    pa.field("log_time", TIME, nullable=False),
    pa.field("event_type", pa.string()),
    pa.field("key", pa.binary()),
    pa.field("value", pa.binary(), nullable=False),
)
"""The `raw` family: what a replay needs to produce the records again, byte for byte."""

EVENT_FIELDS = _schema(
    pa.field("event_id", pa.string()),
    pa.field("conversation_id", pa.string()),
    pa.field("seq", pa.int64()),
    pa.field("actor_user_id", pa.string()),
    pa.field("actor_device_id", pa.string()),
    pa.field("occurred_at", TIME),
    pa.field("origin_region", pa.string()),
    pa.field("conversation_kind", pa.string()),
    pa.field("home_region", pa.string()),
    pa.field("members", pa.list_(MEMBER)),
    pa.field("member_user_id", pa.string()),
    pa.field("member_role", pa.string()),
    pa.field("member_left", pa.bool_()),
    pa.field("up_to_seq", pa.int64()),
    pa.field("target_seq", pa.int64()),
    pa.field("delete_scope", pa.string()),
    pa.field("emoji", pa.string()),
    pa.field("body_kind", pa.string()),
    pa.field("e2ee_scheme", pa.string()),
    pa.field("body_bytes", pa.int64()),
    pa.field("reply_to_seq", pa.int64()),
    pa.field("attachment_count", pa.int32()),
    pa.field("attachment_bytes", pa.int64()),
    pa.field("attachment_types", pa.list_(pa.string())),
    pa.field("mentions", pa.list_(pa.string())),
    pa.field("expires_after_ms", pa.int64()),
)
ACCOUNT_FIELDS = _schema(
    pa.field("event_id", pa.string()),
    pa.field("user_id", pa.string()),
    pa.field("seq", pa.int64()),
    pa.field("device_id", pa.string()),
    pa.field("occurred_at", TIME),
    pa.field("target_device_id", pa.string()),
)


def _event_meta(datum: Datum) -> dict[str, Any]:
    meta = datum["meta"]
    actor = meta["actor"]
    return {
        "event_id": meta["event_id"],
        "conversation_id": meta["conversation_id"],
        "seq": meta["seq"],
        "actor_user_id": actor["user_id"],
        "actor_device_id": actor["device_id"],
        "occurred_at": meta["occurred_at"],
        "origin_region": meta["origin_region"],
    }


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _int64(total: int) -> int:
    """A sum of Avro longs, saturated to the int64 column's range. Regression (bench
    fuzz-records): a hostile record's sizes summed past it either way, and pyarrow's
    OverflowError stopped the writer on every restart."""
    return max(INT64_MIN, min(total, INT64_MAX))


BODY_KINDS = {
    "parley.PlainBody": "PLAIN",
    "parley.SealedBody": "SEALED",
    "parley.EncryptedBody": "ENCRYPTED",
}


def _body(body: tuple[str, Datum]) -> dict[str, Any]:
    """The body's kind, scheme and size: never its text or ciphertext."""
    name, fields = body
    if name == "parley.PlainBody":
        size = len(fields["text"].encode())
        scheme = None
    else:
        size = len(fields["ciphertext"])
        scheme = fields.get("scheme")
    return {"body_kind": BODY_KINDS[name], "e2ee_scheme": scheme, "body_bytes": size}


def _message_sent(datum: Datum) -> dict[str, Any]:
    attachments = datum["attachments"]
    return {
        **_event_meta(datum),
        **_body(datum["body"]),
        "reply_to_seq": datum["reply_to_seq"],
        "attachment_count": len(attachments),
        "attachment_bytes": _int64(sum(a["size_bytes"] for a in attachments)),
        "attachment_types": [a["content_type"] for a in attachments],
        "mentions": datum["mentions"],
        "expires_after_ms": datum["expires_after_ms"],
    }


def _conversation_created(datum: Datum) -> dict[str, Any]:
    return {
        **_event_meta(datum),
        "conversation_kind": datum["kind"],
        "home_region": datum["home_region"],
        "members": datum["members"],
    }


def _member(datum: Datum) -> dict[str, Any]:
    return {
        **_event_meta(datum),
        "member_user_id": datum["user_id"],
        "member_role": datum.get("role"),
        "member_left": datum.get("left"),
    }


def _watermark(datum: Datum) -> dict[str, Any]:
    return {**_event_meta(datum), "up_to_seq": datum["up_to_seq"]}


def _targeted(datum: Datum) -> dict[str, Any]:
    """Events about an earlier message: its seq, and the scope or emoji where there is one."""
    return {
        **_event_meta(datum),
        "target_seq": datum["target_seq"],
        "delete_scope": datum.get("scope"),
        "emoji": datum.get("emoji"),
    }


def _edited(datum: Datum) -> dict[str, Any]:
    return {**_targeted(datum), **_body(datum["body"])}


def _disappearing(datum: Datum) -> dict[str, Any]:
    """The conversation's new messages live `after_ms`: the column messages use for it."""
    return {**_event_meta(datum), "expires_after_ms": datum["after_ms"]}


def _account_meta(datum: Datum) -> dict[str, Any]:
    meta = datum["meta"]
    return {
        "event_id": meta["event_id"],
        "user_id": meta["user_id"],
        "seq": meta["seq"],
        "device_id": meta["device_id"],
        "occurred_at": meta["occurred_at"],
    }


def _device_revoked(datum: Datum) -> dict[str, Any]:
    return {**_account_meta(datum), "target_device_id": datum["target_device_id"]}


class TableLayout:
    """The `table` family of one topic: its schema and how each record type fills it."""

    def __init__(self, namespace: str, fields: pa.Schema, flatten: dict[str, Flatten]) -> None:
        self.namespace = namespace
        self.schema = pa.schema(list(COMMON) + list(fields))
        self.names = tuple(self.schema.names)
        self.index = {name: i for i, name in enumerate(self.names)}
        self.flatten = {f"{namespace}.{name}": f for name, f in flatten.items()}
        self.short = {full: full.rsplit(".", 1)[1] for full in self.flatten}

    def row(self, offset: int, log_time: int, value: bytes) -> tuple[list[Any], str]:
        """The row of one record (`log_time` in ms) in schema order, and the event type the
        raw family records beside it."""
        row: list[Any] = [None] * len(self.names)
        row[0], row[1] = offset, log_time
        try:
            name, datum = codec.decode_datum(value, logical_types=False)
        except (MalformedRecordError, UnknownSchemaError) as e:
            row[3] = str(e)
            return row, ""
        flatten = self.flatten.get(name)
        if flatten is None:
            row[3] = f"{name} is not of {self.namespace}"
            return row, name
        short = self.short[name]
        try:
            values = flatten(datum)
        except (KeyError, TypeError, IndexError) as e:
            row[3] = f"cannot flatten {name}: {e}"
            return row, short
        index = self.index
        for key, item in values.items():
            row[index[key]] = item
        row[2] = short
        return row, short


EVENTS = TableLayout(
    "parley.event",
    EVENT_FIELDS,
    {
        "ConversationCreated": _conversation_created,
        "MemberAdded": _member,
        "MemberRemoved": _member,
        "MemberRoleChanged": _member,
        "MessageSent": _message_sent,
        "MessageEdited": _edited,
        "MessageDeleted": _targeted,
        "MessageRedacted": _targeted,
        "ReactionAdded": _targeted,
        "ReactionRemoved": _targeted,
        "DeliveredWatermarkAdvanced": _watermark,
        "ReadWatermarkAdvanced": _watermark,
        # Compliance and lifetimes: when and where, never whom a case was about beyond the
        # ids every event has (the erased person's id stays in the raw family only).
        "SenderContentErased": _event_meta,
        "MessagesExpired": _event_meta,
        "DisappearingMessagesSet": _disappearing,
        "RetentionSet": _event_meta,
    },
)
ACCOUNTS = TableLayout(
    "parley.account.event",
    ACCOUNT_FIELDS,
    {
        "AccountRegistered": _account_meta,
        "DeviceAdded": _account_meta,
        "DeviceRevoked": _device_revoked,
        "ProfileChanged": _account_meta,
        # Who holds the compliance role, and when, is countable; the case reference and
        # the operator stay in the raw family (docs/compliance.md).
        "ComplianceGranted": _account_meta,
        "ComplianceRevoked": _account_meta,
        "AccountErased": _account_meta,
    },
)
LAYOUTS = {"events": EVENTS, "accounts": ACCOUNTS}
"""By topic role: the topics the archive keeps."""
