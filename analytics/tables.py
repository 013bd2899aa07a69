"""The analysts' tables: views over the archive's `table` family, one definition for both
engines. Each table lists its columns with their meaning; docs/analytics.md is generated
from this list (`python -m analytics docs`) and a test holds the two and the engine's own
DESCRIBE together.

None of them can show message text or E2EE bodies: the `table` family has no such column
(projections/archive/columns.py), and the `raw` family, which has, is not a table here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    doc: str


@dataclass(frozen=True)
class Table:
    name: str
    doc: str
    columns: tuple[Column, ...]
    select: str
    """The view's query; `{events}` and `{accounts}` stand for the archive's objects."""


def _c(name: str, type_: str, doc: str) -> Column:
    return Column(name, type_, doc)


ARCHIVE_COLUMNS = (
    _c("offset", "Int64", "Kafka offset of the record in its partition"),
    _c("log_time", "DateTime64(3, 'UTC')", "the record's timestamp in the log"),
    _c(
        "event_type",
        "LowCardinality(String)",
        "short Avro name, e.g. MessageSent ('' if malformed)",
    ),
    _c(
        "malformed", "Nullable(String)", "why the record could not be read; NULL for every good one"
    ),
)
EVENT_COLUMNS = (
    *ARCHIVE_COLUMNS,
    _c("event_id", "String", "the event's id"),
    _c("conversation_id", "String", "the conversation (the Kafka key)"),
    _c("seq", "Int64", "the event's place in its conversation (1, 2, 3, ...)"),
    _c("actor_user_id", "String", "who acted"),
    _c("actor_device_id", "String", "from which device"),
    _c("occurred_at", "DateTime64(3, 'UTC')", "when the sequencer accepted it"),
    _c("origin_region", "LowCardinality(String)", "region whose sequencer assigned seq"),
    _c(
        "conversation_kind",
        "LowCardinality(Nullable(String))",
        "ConversationCreated: DIRECT or GROUP",
    ),
    _c("home_region", "LowCardinality(Nullable(String))", "ConversationCreated: home region"),
    _c(
        "members", "Array(Tuple(user_id String, role String))", "ConversationCreated: first members"
    ),
    _c("member_user_id", "Nullable(String)", "MemberAdded/Removed/RoleChanged: the member"),
    _c("member_role", "LowCardinality(Nullable(String))", "MemberAdded/RoleChanged: the role"),
    _c("member_left", "Nullable(Bool)", "MemberRemoved: true when they left themselves"),
    _c("up_to_seq", "Nullable(Int64)", "Delivered/ReadWatermarkAdvanced: the watermark"),
    _c("target_seq", "Nullable(Int64)", "edits, deletes, redactions, reactions: the message's seq"),
    _c(
        "delete_scope", "LowCardinality(Nullable(String))", "MessageDeleted: FOR_ME or FOR_EVERYONE"
    ),
    _c("emoji", "Nullable(String)", "ReactionAdded/Removed: the emoji"),
    _c(
        "body_kind",
        "LowCardinality(Nullable(String))",
        "MessageSent/Edited: PLAIN, SEALED or ENCRYPTED",
    ),
    _c(
        "e2ee_scheme",
        "LowCardinality(Nullable(String))",
        "ENCRYPTED bodies: OLM_V1, MEGOLM_V1, MLS",
    ),
    _c("body_bytes", "Nullable(Int64)", "size of the text (UTF-8) or ciphertext; never the body"),
    _c("reply_to_seq", "Nullable(Int64)", "MessageSent: the seq it replies to"),
    _c("attachment_count", "Nullable(Int32)", "MessageSent: attachments"),
    _c("attachment_bytes", "Nullable(Int64)", "MessageSent: their total size"),
    _c("attachment_types", "Array(String)", "MessageSent: their content types"),
    _c("mentions", "Array(String)", "MessageSent: user ids mentioned"),
    _c("expires_after_ms", "Nullable(Int64)", "MessageSent: disappearing-message timer"),
)
ACCOUNT_COLUMNS = (
    *ARCHIVE_COLUMNS,
    _c("event_id", "String", "the event's id"),
    _c("user_id", "String", "the account (the Kafka key)"),
    _c("seq", "Int64", "the event's place in the account's order"),
    _c("device_id", "String", "the device that acted (for DeviceAdded: the new device)"),
    _c("occurred_at", "DateTime64(3, 'UTC')", "when it was accepted"),
    _c("target_device_id", "Nullable(String)", "DeviceRevoked: the device revoked"),
)
HIVE_COLUMNS = (
    _c("date", "Date", "UTC date of the object's records (from its path: prunes objects)"),
    _c("partition", "UInt32", "Kafka partition (from its path: prunes objects)"),
)


def structure(columns: tuple[Column, ...]) -> str:
    return ", ".join(f"{c.name} {c.type}" for c in columns)


MESSAGE_TYPES = (
    "'MessageSent', 'MessageEdited', 'MessageDeleted', 'MessageRedacted', "
    "'ReactionAdded', 'ReactionRemoved'"
)

TABLES = (
    Table(
        "events",
        "Every conversation event, one row each, typed (the archive's `table` family).",
        (*EVENT_COLUMNS, *HIVE_COLUMNS),
        "SELECT * FROM {events}",
    ),
    Table(
        "account_events",
        "Every account event, one row each: registrations, devices, profile changes "
        "(no display names, no password or token hashes).",
        (*ACCOUNT_COLUMNS, *HIVE_COLUMNS),
        "SELECT * FROM {accounts}",
    ),
    Table(
        "messages",
        "One row per message with its latest state.",
        (
            _c("conversation_id", "String", "the conversation"),
            _c("seq", "Int64", "the message's seq"),
            _c("sender_user_id", "String", "who sent it"),
            _c("sender_device_id", "String", "from which device"),
            _c("sent_at", "DateTime64(3, 'UTC')", "when it was sent"),
            _c("body_kind", "Nullable(String)", "PLAIN, SEALED or ENCRYPTED"),
            _c("body_bytes", "Nullable(Int64)", "size of the body as sent"),
            _c("reply_to_seq", "Nullable(Int64)", "the message it answers"),
            _c("attachment_count", "Nullable(Int32)", "attachments"),
            _c("edits", "UInt64", "times it was edited"),
            _c("last_edited_at", "Nullable(DateTime64(3, 'UTC'))", "its latest edit"),
            _c("deleted", "Bool", "deleted for everyone or redacted"),
            _c("deleted_at", "Nullable(DateTime64(3, 'UTC'))", "when it was deleted for everyone"),
            _c("hidden_by", "UInt64", "people who deleted it for themselves"),
            _c("redacted_at", "Nullable(DateTime64(3, 'UTC'))", "when compliance redacted it"),
            _c("reactions", "Int64", "reactions now (added minus removed)"),
        ),
        f"""SELECT conversation_id, msg_seq AS seq,
    anyIf(actor_user_id, event_type = 'MessageSent') AS sender_user_id,
    anyIf(actor_device_id, event_type = 'MessageSent') AS sender_device_id,
    anyIf(occurred_at, event_type = 'MessageSent') AS sent_at,
    anyIf(body_kind, event_type = 'MessageSent') AS body_kind,
    anyIf(body_bytes, event_type = 'MessageSent') AS body_bytes,
    anyIf(reply_to_seq, event_type = 'MessageSent') AS reply_to_seq,
    anyIf(attachment_count, event_type = 'MessageSent') AS attachment_count,
    countIf(event_type = 'MessageEdited') AS edits,
    maxIfOrNull(occurred_at, event_type = 'MessageEdited') AS last_edited_at,
    toBool(deleted_at IS NOT NULL OR redacted_at IS NOT NULL) AS deleted,
    minIfOrNull(occurred_at,
        event_type = 'MessageDeleted' AND delete_scope = 'FOR_EVERYONE') AS deleted_at,
    countIf(event_type = 'MessageDeleted' AND delete_scope = 'FOR_ME') AS hidden_by,
    minIfOrNull(occurred_at, event_type = 'MessageRedacted') AS redacted_at,
    toInt64(countIf(event_type = 'ReactionAdded'))
        - toInt64(countIf(event_type = 'ReactionRemoved')) AS reactions
FROM {{events}}
WHERE event_type IN ({MESSAGE_TYPES})
GROUP BY conversation_id,
    if(event_type = 'MessageSent', seq, assumeNotNull(target_seq)) AS msg_seq
HAVING countIf(event_type = 'MessageSent') = 1""",
    ),
    Table(
        "receipts",
        "Every delivered and read watermark: a member's device has everything up to a seq.",
        (
            _c("conversation_id", "String", "the conversation"),
            _c("seq", "Int64", "the watermark event's own seq"),
            _c("user_id", "String", "whose watermark"),
            _c("device_id", "String", "from which device"),
            _c("kind", "LowCardinality(String)", "delivered or read"),
            _c("up_to_seq", "Int64", "every message up to this seq"),
            _c("at", "DateTime64(3, 'UTC')", "when it advanced"),
        ),
        """SELECT conversation_id, seq, actor_user_id AS user_id, actor_device_id AS device_id,
    toLowCardinality(if(event_type = 'ReadWatermarkAdvanced', 'read', 'delivered')) AS kind,
    assumeNotNull(up_to_seq) AS up_to_seq, occurred_at AS at
FROM {events}
WHERE event_type IN ('DeliveredWatermarkAdvanced', 'ReadWatermarkAdvanced')""",
    ),
    Table(
        "memberships",
        "Memberships over time: one row per join, leave, removal or role change.",
        (
            _c("conversation_id", "String", "the conversation"),
            _c("seq", "Int64", "the event's seq"),
            _c("user_id", "String", "the member"),
            _c("change", "LowCardinality(String)", "created, added, removed, left or role"),
            _c("role", "LowCardinality(String)", "role after the change ('' when leaving)"),
            _c("delta", "Int8", "+1 joined, -1 left or removed, 0 role change"),
            _c("by_user_id", "String", "who made the change"),
            _c("at", "DateTime64(3, 'UTC')", "when"),
        ),
        """SELECT conversation_id, seq, member.1 AS user_id,
    toLowCardinality('created') AS change, toLowCardinality(member.2) AS role,
    toInt8(1) AS delta, actor_user_id AS by_user_id, occurred_at AS at
FROM {events} ARRAY JOIN members AS member
WHERE event_type = 'ConversationCreated'
UNION ALL
SELECT conversation_id, seq, assumeNotNull(member_user_id) AS user_id,
    toLowCardinality(multiIf(event_type = 'MemberAdded', 'added',
        event_type = 'MemberRoleChanged', 'role',
        member_left, 'left', 'removed')) AS change,
    toLowCardinality(ifNull(member_role, '')) AS role,
    toInt8(multiIf(event_type = 'MemberAdded', 1, event_type = 'MemberRemoved', -1, 0)) AS delta,
    actor_user_id AS by_user_id, occurred_at AS at
FROM {events}
WHERE event_type IN ('MemberAdded', 'MemberRemoved', 'MemberRoleChanged')""",
    ),
    Table(
        "accounts",
        "One row per account: when it registered and what it did since.",
        (
            _c("user_id", "String", "the account"),
            _c("registered_at", "Nullable(DateTime64(3, 'UTC'))", "AccountRegistered"),
            _c("devices", "UInt64", "devices added"),
            _c("devices_revoked", "UInt64", "devices revoked"),
            _c("profile_changes", "UInt64", "ProfileChanged events"),
            _c("last_event_at", "DateTime64(3, 'UTC')", "the account's latest event"),
        ),
        """SELECT user_id,
    minIfOrNull(occurred_at, event_type = 'AccountRegistered') AS registered_at,
    countIf(event_type = 'DeviceAdded') AS devices,
    countIf(event_type = 'DeviceRevoked') AS devices_revoked,
    countIf(event_type = 'ProfileChanged') AS profile_changes,
    max(occurred_at) AS last_event_at
FROM {accounts}
WHERE event_type != ''
GROUP BY user_id""",
    ),
    Table(
        "devices",
        "One row per device an account added, with when it was revoked.",
        (
            _c("user_id", "String", "the account"),
            _c("device_id", "String", "the device"),
            _c("added_at", "DateTime64(3, 'UTC')", "DeviceAdded"),
            _c("revoked_at", "Nullable(DateTime64(3, 'UTC'))", "DeviceRevoked, if it was"),
        ),
        """SELECT a.user_id, a.device_id, a.added_at, r.revoked_at
FROM (SELECT user_id, device_id, min(occurred_at) AS added_at FROM {accounts}
      WHERE event_type = 'DeviceAdded' GROUP BY user_id, device_id) AS a
LEFT JOIN (SELECT user_id, assumeNotNull(target_device_id) AS device_id,
                  min(occurred_at) AS revoked_at FROM {accounts}
           WHERE event_type = 'DeviceRevoked' GROUP BY user_id, device_id) AS r
    ON a.user_id = r.user_id AND a.device_id = r.device_id
SETTINGS join_use_nulls = 1""",
    ),
)
TABLE_NAMES = tuple(t.name for t in TABLES)
