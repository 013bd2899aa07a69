"""Erasure of a person (the right to be forgotten), as an officer's request reaches it: the one
service function behind the compliance REST and the operator's command line
(`python -m edge.operator erase`; docs/compliance.md, "Erasure of a person").

In order, each step idempotent (the erasure id is every command's client id), so a request
repeated after a crash finishes what the first began and does nothing twice:

1. `EraseAccount` to the accounts processor: the account becomes a tombstone (no login, every
   device revoked, the user name taken for good), and every edge drops the person's key and
   never reads it again. The command leaves its `conversations` empty: a person may be in
   thousands, and the accounts processor refuses a command over 16 KiB (found by bench
   erasure: a person in 1,000 conversations could not be erased); step 4 walks them here.
2. The person key is destroyed in the key store: from then on every sealed copy of their
   messages and names, in every topic and archive object, is noise.
3. `MediaErasureRequested` on the media topic for every media the person attached, listed
   from the history view (which keeps that list, ids only): the media sweeper deletes the
   files, however old (its own fold of the media topic reaches back only the topic's 7 days
   of retention). A repeat asks again; the sweeper deletes nothing twice.
4. `EraseSenderContent` to each conversation the person was ever in: the sequencer writes
   `SenderContentErased` there, and every view drops the person's content (history bytes,
   inbox previews, search documents with a purge of their segments).

The answer is the report: what each step found and did.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from edge.accounts import normalise_user_name
from edge.errors import ClientError, ErrorCode
from edge.protocol.compliance import ErasedConversation, ErasureReport
from edge.submission import Submitter
from media.lifecycle import event_meta as media_event_meta
from schemas import models as m
from sealing.keyids import person_key_id
from sealing.keystore import KeyStore

COMPLIANCE_PREFIX = "compliance:"
"""The actor of every officer's command (the processors' rule: streams/sequencer/rules.py)."""
COMPLIANCE_DEVICE = "compliance"
CONCURRENT_CONVERSATIONS = 32
"""Conversations erased at once: each is one command's round trip through the sequencer, so
a person in 1,000 conversations is not 1,000 round trips end to end."""
Conversations = Callable[[str], Awaitable[list[str]]]
"""Every conversation the person was ever in (the history view's tenures)."""
MediaSentBy = Callable[[str, str], Awaitable[set[str]]]
"""Every media the person (first) attached in the conversation (second)."""
RequestMediaErasures = Callable[[list[m.MediaErasureRequested]], Awaitable[None]]
"""Appends the requests to the media topic, returning once the broker has every one."""
MEDIA_REQUESTS_AT_ONCE = 500


class Erasures:
    def __init__(
        self,
        *,
        submitter: Submitter,
        keys: KeyStore,
        conversations: Conversations,
        media_sent_by: MediaSentBy,
        request_media_erasures: RequestMediaErasures,
        forget: Callable[[str], None],
    ) -> None:
        """`forget` drops the person's key from this process's cache at once."""
        self.submitter = submitter
        self.keys = keys
        self.conversations = conversations
        self.media_sent_by = media_sent_by
        self.request_media_erasures = request_media_erasures
        self.forget = forget

    async def erase(
        self, officer: str, user_id: str, case_ref: str, erasure_id: str | None = None
    ) -> ErasureReport:
        """Erase the person; the caller has checked that `officer` may (the compliance role)."""
        user = normalise_user_name(user_id)
        if not officer or not case_ref.strip():
            raise ClientError(ErrorCode.INVALID, "an erasure names its officer and its case")
        erasure = erasure_id or f"erasure-{uuid.uuid4().hex}"
        actor = COMPLIANCE_PREFIX + officer
        cids = sorted(await self.conversations(user))
        command = m.EraseAccount(
            meta=self.submitter.account_meta(user, COMPLIANCE_DEVICE, erasure),
            erasure_id=erasure,
            officer=actor,
            case_ref=case_ref,
        )
        account = await self.submitter.account_command(command)
        destroyed = await asyncio.to_thread(self.keys.destroy, person_key_id(user))
        self.forget(user)
        slots = asyncio.Semaphore(CONCURRENT_CONVERSATIONS)

        async def media_in(cid: str) -> set[str]:
            async with slots:
                return await self.media_sent_by(user, cid)

        attached: set[str] = set()
        for found in await asyncio.gather(*(media_in(cid) for cid in cids)):
            attached |= found
        media = sorted(attached)
        for at in range(0, len(media), MEDIA_REQUESTS_AT_ONCE):
            now = datetime.now(UTC)
            requests = [
                m.MediaErasureRequested(
                    meta=media_event_meta(media_id, user, now), erasure_id=erasure
                )
                for media_id in media[at : at + MEDIA_REQUESTS_AT_ONCE]
            ]
            await self.request_media_erasures(requests)

        async def erase_in(cid: str) -> ErasedConversation:
            async with slots:
                return await self._erase_in(actor, user, cid, erasure)

        erased = list(await asyncio.gather(*(erase_in(cid) for cid in cids)))
        return ErasureReport(
            erasure_id=erasure,
            user_id=user,
            officer=actor,
            case_ref=case_ref,
            account_seq=account.seq,
            key_destroyed=destroyed,
            conversations=erased,
            media=media,
        )

    async def _erase_in(self, actor: str, user: str, cid: str, erasure: str) -> ErasedConversation:
        command = m.EraseSenderContent(
            meta=self.submitter.meta(cid, actor, COMPLIANCE_DEVICE, erasure),
            user_id=user,
            erasure_id=erasure,
        )
        accepted = await self.submitter.command(command)
        return ErasedConversation(conversation_id=cid, seq=accepted.seq)
