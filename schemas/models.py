"""Typed records mirroring schemas/avro: run `python -m schemas.codegen`, do not edit."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from schemas.record import AvroRecord


class AccountCommandMeta(AvroRecord):
    """What every account command carries; user_id is the Kafka key."""

    avro_name: ClassVar[str] = "parley.AccountCommandMeta"
    command_id: str
    user_id: str
    device_id: str
    client_msg_id: str
    issued_at: datetime


class AccountEventMeta(AvroRecord):
    """What every account event carries: its place in the account's order."""

    avro_name: ClassVar[str] = "parley.AccountEventMeta"
    event_id: str
    user_id: str
    seq: int
    device_id: str
    command_id: str
    client_msg_id: str
    occurred_at: datetime


class Actor(AvroRecord):
    """Who acted: a person and the device they acted from."""

    avro_name: ClassVar[str] = "parley.Actor"
    user_id: str
    device_id: str


class MediaKind(StrEnum):
    """What the processor makes of an upload; unknown newer kinds read FILE."""

    FILE = "FILE"
    IMAGE = "IMAGE"
    VIDEO = "VIDEO"
    AUDIO = "AUDIO"
    ENCRYPTED = "ENCRYPTED"


class MediaVariantName(StrEnum):
    """A served object's role: cleaned original, two image sizes, poster, playback."""

    ORIGINAL = "ORIGINAL"
    THUMBNAIL = "THUMBNAIL"
    PREVIEW = "PREVIEW"
    POSTER = "POSTER"
    PLAYBACK = "PLAYBACK"


class MediaVariant(AvroRecord):
    """One served object: immutable, named by its own digest, cached for a year."""

    avro_name: ClassVar[str] = "parley.MediaVariant"
    name: MediaVariantName
    object_key: str
    content_type: str
    size_bytes: int
    sha256: str
    width: int | None = None
    height: int | None = None


class SealedBody(AvroRecord):
    """Text the server encrypted under a key id; deleting the key erases it (crypto-shredding)."""

    avro_name: ClassVar[str] = "parley.SealedBody"
    key_id: str
    algorithm: str
    nonce: bytes
    ciphertext: bytes


class Attachment(AvroRecord):
    """Media a message carries, filled by the sequencer from the media topic (never the sender)."""

    avro_name: ClassVar[str] = "parley.Attachment"
    media_id: str
    content_type: str
    size_bytes: int
    sha256: str
    kind: MediaKind = MediaKind.FILE
    file_name: str = ""
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None
    placeholder: str | None = None
    variants: tuple[MediaVariant, ...] = Field(default_factory=tuple)
    sealed_file_name: SealedBody | None = None


class CommandMeta(AvroRecord):
    """What every command carries: its id, target and author."""

    avro_name: ClassVar[str] = "parley.CommandMeta"
    command_id: str
    conversation_id: str
    actor: Actor
    client_msg_id: str
    issued_at: datetime


class ConversationKind(StrEnum):
    """A 1:1 conversation has exactly two members and no roles beyond MEMBER."""

    DIRECT = "DIRECT"
    GROUP = "GROUP"


class DeleteScope(StrEnum):
    """FOR_ME hides a message on the deleter's devices; FOR_EVERYONE tombstones it."""

    FOR_ME = "FOR_ME"
    FOR_EVERYONE = "FOR_EVERYONE"


class E2EEScheme(StrEnum):
    """End-to-end scheme: Olm (Double Ratchet) for 1:1, Megolm or MLS for groups."""

    OLM_V1 = "OLM_V1"
    MEGOLM_V1 = "MEGOLM_V1"
    MLS = "MLS"


class EncryptedBody(AvroRecord):
    """End-to-end ciphertext the server stores and forwards but cannot read."""

    avro_name: ClassVar[str] = "parley.EncryptedBody"
    scheme: E2EEScheme
    sender_key: str
    session_id: str
    ciphertext: bytes
    device_ciphertexts: dict[str, bytes] = Field(default_factory=dict)


class EventMeta(AvroRecord):
    """What every event carries: its place in the conversation's order and its cause."""

    avro_name: ClassVar[str] = "parley.EventMeta"
    event_id: str
    conversation_id: str
    seq: int
    actor: Actor
    client_msg_id: str
    command_id: str
    occurred_at: datetime
    origin_region: str = "local"


class MediaDeletionReason(StrEnum):
    """Why a media's objects were deleted; unknown newer reasons read OTHER."""

    OTHER = "OTHER"
    UNATTACHED = "UNATTACHED"
    ERASED = "ERASED"


class MediaErrorCode(StrEnum):
    """Why an upload was refused (docs/media.md); unknown newer codes read INVALID."""

    INVALID = "INVALID"
    EMPTY_FILE = "EMPTY_FILE"
    TOO_LARGE = "TOO_LARGE"
    OVER_QUOTA = "OVER_QUOTA"
    BAD_FILE_NAME = "BAD_FILE_NAME"
    BAD_DIGEST = "BAD_DIGEST"
    UNSUPPORTED_TYPE = "UNSUPPORTED_TYPE"
    NOT_FOUND = "NOT_FOUND"
    EXPIRED = "EXPIRED"
    ALREADY_COMPLETED = "ALREADY_COMPLETED"
    INCOMPLETE = "INCOMPLETE"
    SIZE_MISMATCH = "SIZE_MISMATCH"
    DIGEST_MISMATCH = "DIGEST_MISMATCH"
    TYPE_MISMATCH = "TYPE_MISMATCH"
    POLYGLOT = "POLYGLOT"
    DANGEROUS_TYPE = "DANGEROUS_TYPE"
    MALWARE = "MALWARE"
    CORRUPT = "CORRUPT"
    DECOMPRESSION_BOMB = "DECOMPRESSION_BOMB"
    STORAGE_UNAVAILABLE = "STORAGE_UNAVAILABLE"


class MediaEventMeta(AvroRecord):
    """What every media event carries; media_id is the Kafka key."""

    avro_name: ClassVar[str] = "parley.MediaEventMeta"
    event_id: str
    media_id: str
    owner_id: str
    occurred_at: datetime


class Role(StrEnum):
    """A member's role in a conversation."""

    OWNER = "OWNER"
    ADMIN = "ADMIN"
    MEMBER = "MEMBER"


class Member(AvroRecord):
    """A person in a conversation and their role."""

    avro_name: ClassVar[str] = "parley.Member"
    user_id: str
    role: Role


class PlainBody(AvroRecord):
    """Text the server can read (search, previews, moderation)."""

    avro_name: ClassVar[str] = "parley.PlainBody"
    text: str


class RejectionCode(StrEnum):
    """Why a command was refused; readers that do not know a newer code read INVALID."""

    INVALID = "INVALID"
    MALFORMED = "MALFORMED"
    UNKNOWN_SCHEMA = "UNKNOWN_SCHEMA"
    TOO_LARGE = "TOO_LARGE"
    NO_SUCH_CONVERSATION = "NO_SUCH_CONVERSATION"
    NOT_A_MEMBER = "NOT_A_MEMBER"
    FORBIDDEN = "FORBIDDEN"
    CONFLICT = "CONFLICT"
    NO_SUCH_MESSAGE = "NO_SUCH_MESSAGE"
    NO_SUCH_MEDIA = "NO_SUCH_MEDIA"
    MEDIA_NOT_READY = "MEDIA_NOT_READY"


class AddDevice(AvroRecord):
    """Register a device and the hash of its bearer token."""

    avro_name: ClassVar[str] = "parley.account.command.AddDevice"
    record_union_fields: ClassVar[frozenset[str]] = frozenset(["sealed_device_name"])
    meta: AccountCommandMeta
    device_name: str
    token_hash: str
    sealed_device_name: SealedBody | None = None


class ChangeProfile(AvroRecord):
    """Change the display name."""

    avro_name: ClassVar[str] = "parley.account.command.ChangeProfile"
    record_union_fields: ClassVar[frozenset[str]] = frozenset(["sealed_display_name"])
    meta: AccountCommandMeta
    display_name: str
    sealed_display_name: SealedBody | None = None


class EraseAccount(AvroRecord):
    """Compliance: erase the person (right to be forgotten); the account becomes a tombstone."""

    avro_name: ClassVar[str] = "parley.account.command.EraseAccount"
    meta: AccountCommandMeta
    erasure_id: str
    officer: str
    case_ref: str
    conversations: tuple[str, ...] = Field(default_factory=tuple)


class GrantCompliance(AvroRecord):
    """Make the account a compliance officer for one case (only the operator's command sends it)."""

    avro_name: ClassVar[str] = "parley.account.command.GrantCompliance"
    meta: AccountCommandMeta
    case_ref: str
    operator: str


class RegisterAccount(AvroRecord):
    """Claim a user name; the password arrives hashed (argon2id), never plain."""

    avro_name: ClassVar[str] = "parley.account.command.RegisterAccount"
    record_union_fields: ClassVar[frozenset[str]] = frozenset(["sealed_display_name"])
    meta: AccountCommandMeta
    display_name: str
    password_hash: str
    sealed_display_name: SealedBody | None = None


class RevokeCompliance(AvroRecord):
    """Take the compliance role back: for one case, or every case (case_ref null)."""

    avro_name: ClassVar[str] = "parley.account.command.RevokeCompliance"
    meta: AccountCommandMeta
    case_ref: str | None = None
    operator: str


class RevokeDevice(AvroRecord):
    """Revoke a device: its token stops working everywhere."""

    avro_name: ClassVar[str] = "parley.account.command.RevokeDevice"
    meta: AccountCommandMeta
    target_device_id: str


class AccountErased(AvroRecord):
    """The person was erased: no profile, no device, no login; the user name stays taken."""

    avro_name: ClassVar[str] = "parley.account.event.AccountErased"
    meta: AccountEventMeta
    erasure_id: str
    officer: str
    case_ref: str
    conversations: tuple[str, ...] = Field(default_factory=tuple)


class AccountRegistered(AvroRecord):
    """A user name now belongs to this account."""

    avro_name: ClassVar[str] = "parley.account.event.AccountRegistered"
    record_union_fields: ClassVar[frozenset[str]] = frozenset(["sealed_display_name"])
    meta: AccountEventMeta
    display_name: str
    password_hash: str
    sealed_display_name: SealedBody | None = None


class ComplianceGranted(AvroRecord):
    """The account may act as a compliance officer under case_ref, from now until revoked."""

    avro_name: ClassVar[str] = "parley.account.event.ComplianceGranted"
    meta: AccountEventMeta
    case_ref: str
    operator: str


class ComplianceRevoked(AvroRecord):
    """The account may no longer act under case_ref as an officer (null: under any case)."""

    avro_name: ClassVar[str] = "parley.account.event.ComplianceRevoked"
    meta: AccountEventMeta
    case_ref: str | None = None
    operator: str


class DeviceAdded(AvroRecord):
    """A device can act for the account with its token."""

    avro_name: ClassVar[str] = "parley.account.event.DeviceAdded"
    record_union_fields: ClassVar[frozenset[str]] = frozenset(["sealed_device_name"])
    meta: AccountEventMeta
    device_name: str
    token_hash: str
    sealed_device_name: SealedBody | None = None


class DeviceRevoked(AvroRecord):
    """A device can no longer act for the account."""

    avro_name: ClassVar[str] = "parley.account.event.DeviceRevoked"
    meta: AccountEventMeta
    target_device_id: str


class ProfileChanged(AvroRecord):
    """The display name changed."""

    avro_name: ClassVar[str] = "parley.account.event.ProfileChanged"
    record_union_fields: ClassVar[frozenset[str]] = frozenset(["sealed_display_name"])
    meta: AccountEventMeta
    display_name: str
    sealed_display_name: SealedBody | None = None


class ComplianceActionEnded(AvroRecord):
    """How a compliance action ended, or that it was refused. Ids, codes, counts: no content."""

    avro_name: ClassVar[str] = "parley.audit.ComplianceActionEnded"
    action_id: str
    action: str
    officer: str
    device_id: str
    case_ref: str
    target: str
    outcome: str
    detail: str = ""
    origin: str
    occurred_at: datetime


class ComplianceActionStarted(AvroRecord):
    """A compliance action about to be performed (acknowledged before it is). No content."""

    avro_name: ClassVar[str] = "parley.audit.ComplianceActionStarted"
    action_id: str
    action: str
    officer: str
    device_id: str
    case_ref: str
    target: str
    parameters: dict[str, str] = Field(default_factory=dict)
    origin: str
    occurred_at: datetime


class AcknowledgeDelivery(AvroRecord):
    """This device has received everything up to a seq."""

    avro_name: ClassVar[str] = "parley.command.AcknowledgeDelivery"
    meta: CommandMeta
    up_to_seq: int


class AddMember(AvroRecord):
    """Add a person to a group."""

    avro_name: ClassVar[str] = "parley.command.AddMember"
    meta: CommandMeta
    user_id: str
    role: Role = Role.MEMBER


class ChangeMemberRole(AvroRecord):
    """Change a member's role (owners and admins only)."""

    avro_name: ClassVar[str] = "parley.command.ChangeMemberRole"
    meta: CommandMeta
    user_id: str
    role: Role


class CreateConversation(AvroRecord):
    """Create a 1:1 or a group conversation with its first members."""

    avro_name: ClassVar[str] = "parley.command.CreateConversation"
    meta: CommandMeta
    kind: ConversationKind
    name: str | None = None
    members: tuple[Member, ...]
    home_region: str = "local"


class DeleteMessage(AvroRecord):
    """Delete a message for oneself or for everyone."""

    avro_name: ClassVar[str] = "parley.command.DeleteMessage"
    meta: CommandMeta
    target_seq: int
    scope: DeleteScope


class EditMessage(AvroRecord):
    """Replace the body of one's own message."""

    avro_name: ClassVar[str] = "parley.command.EditMessage"
    record_union_fields: ClassVar[frozenset[str]] = frozenset(["body"])
    meta: CommandMeta
    target_seq: int
    body: PlainBody | SealedBody | EncryptedBody


class EraseSenderContent(AvroRecord):
    """Compliance: the person's messages in this conversation lose their content (an erasure)."""

    avro_name: ClassVar[str] = "parley.command.EraseSenderContent"
    meta: CommandMeta
    user_id: str
    erasure_id: str


class ExpireMessages(AvroRecord):
    """The expiry processor: these messages' time has come."""

    avro_name: ClassVar[str] = "parley.command.ExpireMessages"
    meta: CommandMeta
    seqs: tuple[int, ...]


class MarkRead(AvroRecord):
    """The person has read everything up to a seq (on this device)."""

    avro_name: ClassVar[str] = "parley.command.MarkRead"
    meta: CommandMeta
    up_to_seq: int


class ReactToMessage(AvroRecord):
    """Add or remove an emoji reaction."""

    avro_name: ClassVar[str] = "parley.command.ReactToMessage"
    meta: CommandMeta
    target_seq: int
    emoji: str
    removed: bool = False


class RedactMessage(AvroRecord):
    """Compliance: remove a message's content everywhere, keeping a tombstone."""

    avro_name: ClassVar[str] = "parley.command.RedactMessage"
    meta: CommandMeta
    target_seq: int
    reason: str


class RemoveMember(AvroRecord):
    """Remove a person from a group; removing oneself is leaving."""

    avro_name: ClassVar[str] = "parley.command.RemoveMember"
    meta: CommandMeta
    user_id: str


class SendMessage(AvroRecord):
    """Send a message, optionally as a reply, optionally attaching media."""

    avro_name: ClassVar[str] = "parley.command.SendMessage"
    record_union_fields: ClassVar[frozenset[str]] = frozenset(["body"])
    meta: CommandMeta
    body: PlainBody | SealedBody | EncryptedBody
    reply_to_seq: int | None = None
    media_ids: tuple[str, ...] = Field(default_factory=tuple)
    mentions: tuple[str, ...] = Field(default_factory=tuple)
    expires_after_ms: int | None = None


class SetDisappearingMessages(AvroRecord):
    """A member sets how long new messages live: 24 h, 7 d, 90 d, or off."""

    avro_name: ClassVar[str] = "parley.command.SetDisappearingMessages"
    meta: CommandMeta
    after_ms: int | None = None


class SetRetention(AvroRecord):
    """Compliance or an operator sets how long new messages of the conversation are kept."""

    avro_name: ClassVar[str] = "parley.command.SetRetention"
    meta: CommandMeta
    keep_days: int | None = None


class EventDelivery(AvroRecord):
    """One event for the recipients online on one edge node."""

    avro_name: ClassVar[str] = "parley.delivery.EventDelivery"
    conversation_id: str
    seq: int
    event: bytes
    recipients: tuple[str, ...]


class TypingSignal(AvroRecord):
    """Typing started or stopped, for the recipients on one edge node; never in the log."""

    avro_name: ClassVar[str] = "parley.delivery.TypingSignal"
    conversation_id: str
    user_id: str
    active: bool
    expires_in_ms: int
    recipients: tuple[str, ...]


class ErasureProgressed(AvroRecord):
    """What the erasure processor has done for one erasure so far (compacted by erasure id)."""

    avro_name: ClassVar[str] = "parley.erasure.ErasureProgressed"
    erasure_id: str
    user_id: str
    officer: str
    case_ref: str
    requested_at: datetime
    key_destroyed_at: datetime | None = None
    conversations: tuple[str, ...] = Field(default_factory=tuple)
    conversations_requested: int = 0
    media_found: tuple[str, ...] = Field(default_factory=tuple)
    media_deleted: tuple[str, ...] = Field(default_factory=tuple)
    completed_at: datetime | None = None


class ConversationCreated(AvroRecord):
    """A conversation exists, with these members."""

    avro_name: ClassVar[str] = "parley.event.ConversationCreated"
    meta: EventMeta
    kind: ConversationKind
    name: str | None = None
    members: tuple[Member, ...]
    home_region: str = "local"


class DeliveredWatermarkAdvanced(AvroRecord):
    """A device has received everything up to up_to_seq."""

    avro_name: ClassVar[str] = "parley.event.DeliveredWatermarkAdvanced"
    meta: EventMeta
    up_to_seq: int


class DisappearingMessagesSet(AvroRecord):
    """New messages of the conversation live this long from their sending."""

    avro_name: ClassVar[str] = "parley.event.DisappearingMessagesSet"
    meta: EventMeta
    after_ms: int | None = None


class MemberAdded(AvroRecord):
    """A person joined the conversation."""

    avro_name: ClassVar[str] = "parley.event.MemberAdded"
    meta: EventMeta
    user_id: str
    role: Role = Role.MEMBER


class MemberRemoved(AvroRecord):
    """A person left or was removed."""

    avro_name: ClassVar[str] = "parley.event.MemberRemoved"
    meta: EventMeta
    user_id: str
    left: bool = False


class MemberRoleChanged(AvroRecord):
    """A member's role changed."""

    avro_name: ClassVar[str] = "parley.event.MemberRoleChanged"
    meta: EventMeta
    user_id: str
    role: Role


class MessageDeleted(AvroRecord):
    """A message was deleted for its deleter or for everyone."""

    avro_name: ClassVar[str] = "parley.event.MessageDeleted"
    meta: EventMeta
    target_seq: int
    scope: DeleteScope


class MessageEdited(AvroRecord):
    """A message's body was replaced."""

    avro_name: ClassVar[str] = "parley.event.MessageEdited"
    record_union_fields: ClassVar[frozenset[str]] = frozenset(["body"])
    meta: EventMeta
    target_seq: int
    body: PlainBody | SealedBody | EncryptedBody


class MessageRedacted(AvroRecord):
    """Compliance removed a message's content; only this tombstone remains."""

    avro_name: ClassVar[str] = "parley.event.MessageRedacted"
    meta: EventMeta
    target_seq: int
    reason: str


class MessageSent(AvroRecord):
    """A message is in the conversation at meta.seq."""

    avro_name: ClassVar[str] = "parley.event.MessageSent"
    record_union_fields: ClassVar[frozenset[str]] = frozenset(["body"])
    meta: EventMeta
    body: PlainBody | SealedBody | EncryptedBody
    reply_to_seq: int | None = None
    attachments: tuple[Attachment, ...] = Field(default_factory=tuple)
    mentions: tuple[str, ...] = Field(default_factory=tuple)
    expires_after_ms: int | None = None


class MessagesExpired(AvroRecord):
    """These messages reached the end of their lifetime: their content is gone everywhere."""

    avro_name: ClassVar[str] = "parley.event.MessagesExpired"
    meta: EventMeta
    seqs: tuple[int, ...]


class ReactionAdded(AvroRecord):
    """A member reacted to a message."""

    avro_name: ClassVar[str] = "parley.event.ReactionAdded"
    meta: EventMeta
    target_seq: int
    emoji: str


class ReactionRemoved(AvroRecord):
    """A member took a reaction back."""

    avro_name: ClassVar[str] = "parley.event.ReactionRemoved"
    meta: EventMeta
    target_seq: int
    emoji: str


class ReadWatermarkAdvanced(AvroRecord):
    """A person has read everything up to up_to_seq."""

    avro_name: ClassVar[str] = "parley.event.ReadWatermarkAdvanced"
    meta: EventMeta
    up_to_seq: int


class RetentionSet(AvroRecord):
    """New messages of the conversation are kept this long from their sending."""

    avro_name: ClassVar[str] = "parley.event.RetentionSet"
    meta: EventMeta
    keep_days: int | None = None


class SenderContentErased(AvroRecord):
    """The person was erased: their messages up to here have no content any more; others' stay."""

    avro_name: ClassVar[str] = "parley.event.SenderContentErased"
    meta: EventMeta
    user_id: str
    erasure_id: str


class MediaDeclared(AvroRecord):
    """An upload was declared and opened in the object store: what the bytes must be."""

    avro_name: ClassVar[str] = "parley.media.MediaDeclared"
    record_union_fields: ClassVar[frozenset[str]] = frozenset(["sealed_file_name"])
    meta: MediaEventMeta
    device_id: str
    size_bytes: int
    sha256: str
    content_type: str
    file_name: str
    encrypted: bool
    object_key: str
    upload_id: str | None = None
    part_bytes: int
    sealed_file_name: SealedBody | None = None


class MediaDeleted(AvroRecord):
    """Every object of the media is gone."""

    avro_name: ClassVar[str] = "parley.media.MediaDeleted"
    meta: MediaEventMeta
    reason: MediaDeletionReason


class MediaErasureRequested(AvroRecord):
    """An erasure asks the media sweeper to delete a media's files, however old."""

    avro_name: ClassVar[str] = "parley.media.MediaErasureRequested"
    meta: MediaEventMeta
    erasure_id: str


class MediaProcessed(AvroRecord):
    """Scanned clean and published: the served objects and the layout facts."""

    avro_name: ClassVar[str] = "parley.media.MediaProcessed"
    meta: MediaEventMeta
    kind: MediaKind
    content_type: str
    variants: tuple[MediaVariant, ...]
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None
    placeholder: str | None = None


class MediaRejected(AvroRecord):
    """The upload is refused for good; its bytes are deleted and never served."""

    avro_name: ClassVar[str] = "parley.media.MediaRejected"
    meta: MediaEventMeta
    code: MediaErrorCode
    reason: str


class MediaUploaded(AvroRecord):
    """The bytes matched the declaration (size, digest, type): a processor job."""

    avro_name: ClassVar[str] = "parley.media.MediaUploaded"
    meta: MediaEventMeta
    object_key: str
    size_bytes: int
    sha256: str
    content_type: str
    kind: MediaKind


class AccountCommandAccepted(AvroRecord):
    """The answer to an account command that is in the log (or was already)."""

    avro_name: ClassVar[str] = "parley.outcome.AccountCommandAccepted"
    command_id: str
    user_id: str
    seq: int | None = None
    duplicate: bool = False


class CommandAccepted(AvroRecord):
    """The answer to a command that is in the log (or was already)."""

    avro_name: ClassVar[str] = "parley.outcome.CommandAccepted"
    command_id: str
    conversation_id: str
    actor: Actor
    client_msg_id: str
    seq: int | None = None
    duplicate: bool = False


class CommandRejected(AvroRecord):
    """The answer to a command that was refused; nothing was written."""

    avro_name: ClassVar[str] = "parley.outcome.CommandRejected"
    record_union_fields: ClassVar[frozenset[str]] = frozenset(["actor"])
    command_id: str | None = None
    conversation_id: str | None = None
    actor: Actor | None = None
    client_msg_id: str | None = None
    code: RejectionCode
    reason: str


class UserOnNode(AvroRecord):
    """A user has connected devices on an edge node (compacted; a tombstone when none)."""

    avro_name: ClassVar[str] = "parley.session.UserOnNode"
    user_id: str
    node: int
    devices: int
    active_devices: int = -1
    expires_at: datetime


Command = (
    AcknowledgeDelivery
    | AddMember
    | ChangeMemberRole
    | CreateConversation
    | DeleteMessage
    | EditMessage
    | EraseSenderContent
    | ExpireMessages
    | MarkRead
    | ReactToMessage
    | RedactMessage
    | RemoveMember
    | SendMessage
    | SetDisappearingMessages
    | SetRetention
)


Event = (
    ConversationCreated
    | DeliveredWatermarkAdvanced
    | DisappearingMessagesSet
    | MemberAdded
    | MemberRemoved
    | MemberRoleChanged
    | MessageDeleted
    | MessageEdited
    | MessageRedacted
    | MessageSent
    | MessagesExpired
    | ReactionAdded
    | ReactionRemoved
    | ReadWatermarkAdvanced
    | RetentionSet
    | SenderContentErased
)


Outcome = AccountCommandAccepted | CommandAccepted | CommandRejected


AccountCommand = (
    AddDevice
    | ChangeProfile
    | EraseAccount
    | GrantCompliance
    | RegisterAccount
    | RevokeCompliance
    | RevokeDevice
)


AccountEvent = (
    AccountErased
    | AccountRegistered
    | ComplianceGranted
    | ComplianceRevoked
    | DeviceAdded
    | DeviceRevoked
    | ProfileChanged
)


Delivery = EventDelivery | TypingSignal


Session = UserOnNode


MediaEvent = (
    MediaDeclared
    | MediaDeleted
    | MediaErasureRequested
    | MediaProcessed
    | MediaRejected
    | MediaUploaded
)


ComplianceAudit = ComplianceActionEnded | ComplianceActionStarted


ErasureRecord = ErasureProgressed

RECORD_TYPES: dict[str, type[AvroRecord]] = {
    AccountCommandMeta.avro_name: AccountCommandMeta,
    AccountEventMeta.avro_name: AccountEventMeta,
    Actor.avro_name: Actor,
    MediaVariant.avro_name: MediaVariant,
    SealedBody.avro_name: SealedBody,
    Attachment.avro_name: Attachment,
    CommandMeta.avro_name: CommandMeta,
    EncryptedBody.avro_name: EncryptedBody,
    EventMeta.avro_name: EventMeta,
    MediaEventMeta.avro_name: MediaEventMeta,
    Member.avro_name: Member,
    PlainBody.avro_name: PlainBody,
    AddDevice.avro_name: AddDevice,
    ChangeProfile.avro_name: ChangeProfile,
    EraseAccount.avro_name: EraseAccount,
    GrantCompliance.avro_name: GrantCompliance,
    RegisterAccount.avro_name: RegisterAccount,
    RevokeCompliance.avro_name: RevokeCompliance,
    RevokeDevice.avro_name: RevokeDevice,
    AccountErased.avro_name: AccountErased,
    AccountRegistered.avro_name: AccountRegistered,
    ComplianceGranted.avro_name: ComplianceGranted,
    ComplianceRevoked.avro_name: ComplianceRevoked,
    DeviceAdded.avro_name: DeviceAdded,
    DeviceRevoked.avro_name: DeviceRevoked,
    ProfileChanged.avro_name: ProfileChanged,
    ComplianceActionEnded.avro_name: ComplianceActionEnded,
    ComplianceActionStarted.avro_name: ComplianceActionStarted,
    AcknowledgeDelivery.avro_name: AcknowledgeDelivery,
    AddMember.avro_name: AddMember,
    ChangeMemberRole.avro_name: ChangeMemberRole,
    CreateConversation.avro_name: CreateConversation,
    DeleteMessage.avro_name: DeleteMessage,
    EditMessage.avro_name: EditMessage,
    EraseSenderContent.avro_name: EraseSenderContent,
    ExpireMessages.avro_name: ExpireMessages,
    MarkRead.avro_name: MarkRead,
    ReactToMessage.avro_name: ReactToMessage,
    RedactMessage.avro_name: RedactMessage,
    RemoveMember.avro_name: RemoveMember,
    SendMessage.avro_name: SendMessage,
    SetDisappearingMessages.avro_name: SetDisappearingMessages,
    SetRetention.avro_name: SetRetention,
    EventDelivery.avro_name: EventDelivery,
    TypingSignal.avro_name: TypingSignal,
    ErasureProgressed.avro_name: ErasureProgressed,
    ConversationCreated.avro_name: ConversationCreated,
    DeliveredWatermarkAdvanced.avro_name: DeliveredWatermarkAdvanced,
    DisappearingMessagesSet.avro_name: DisappearingMessagesSet,
    MemberAdded.avro_name: MemberAdded,
    MemberRemoved.avro_name: MemberRemoved,
    MemberRoleChanged.avro_name: MemberRoleChanged,
    MessageDeleted.avro_name: MessageDeleted,
    MessageEdited.avro_name: MessageEdited,
    MessageRedacted.avro_name: MessageRedacted,
    MessageSent.avro_name: MessageSent,
    MessagesExpired.avro_name: MessagesExpired,
    ReactionAdded.avro_name: ReactionAdded,
    ReactionRemoved.avro_name: ReactionRemoved,
    ReadWatermarkAdvanced.avro_name: ReadWatermarkAdvanced,
    RetentionSet.avro_name: RetentionSet,
    SenderContentErased.avro_name: SenderContentErased,
    MediaDeclared.avro_name: MediaDeclared,
    MediaDeleted.avro_name: MediaDeleted,
    MediaErasureRequested.avro_name: MediaErasureRequested,
    MediaProcessed.avro_name: MediaProcessed,
    MediaRejected.avro_name: MediaRejected,
    MediaUploaded.avro_name: MediaUploaded,
    AccountCommandAccepted.avro_name: AccountCommandAccepted,
    CommandAccepted.avro_name: CommandAccepted,
    CommandRejected.avro_name: CommandRejected,
    UserOnNode.avro_name: UserOnNode,
}
