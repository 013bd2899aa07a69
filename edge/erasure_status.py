"""An erasure's report read back later (`GET /v1/compliance/erasures/{id}`): for each store,
what the erasure reached and what of the person is left readable there, counted when asked
(docs/compliance.md, "The report"). The processors' part comes from the log (the accounts
topic's `AccountErased`, which every edge folds); the views' part and the files are counted
live, so a report says what is true now, not only what was done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from edge.accounts import ErasedAccount
from edge.protocol.compliance import ErasureStatus, StoreReport
from edge.read_service import PersonTraces, ReadService
from media.keys import media_prefix, upload_key
from media.storage import ObjectStore
from sealing.keyids import person_key_id
from sealing.keystore import KeyDestroyedError, KeyStore


def store_reports(
    erasure: ErasedAccount, key_held: bool, traces: PersonTraces, files_left: int
) -> list[StoreReport]:
    """The report's stores, from what was counted: pure, so each rule is tested alone."""
    sealed = 1 if key_held else 0
    cids = traces.conversations
    documents = traces.documents
    return [
        StoreReport(
            store="accounts",
            found=erasure.devices,
            left=0,
            done=f"AccountErased at seq {erasure.account_seq}: no login, {erasure.devices} "
            "devices revoked, the profile forgotten, the user name kept taken",
        ),
        StoreReport(
            store="key_store",
            found=1,
            left=sealed,
            done="the person key is held still" if key_held else "the person key is destroyed",
        ),
        StoreReport(
            store="log",
            found=cids,
            left=sealed * cids,
            done=f"SenderContentErased asked in {cids} conversations; the person's bodies, "
            "names and file names in every topic are sealed under the person key",
        ),
        StoreReport(
            store="history_view",
            found=cids,
            left=traces.messages,
            done="the person's messages and edits lose their content; seqs stay",
        ),
        StoreReport(
            store="inbox_view",
            found=cids,
            left=traces.previews,
            done="previews of the person's messages dropped",
        ),
        StoreReport(
            store="search_index",
            found=cids,
            left=0 if documents is None else documents,
            done="the person's documents deleted and their segments purged"
            if documents is not None
            else "not counted: this edge reads no search index",
        ),
        StoreReport(
            store="media",
            found=len(traces.media),
            left=files_left,
            done=f"deletion of {len(traces.media)} attached files asked of the media "
            "sweeper (their uploads never attached are deleted on AccountErased)",
        ),
        StoreReport(
            store="archive",
            found=cids,
            left=sealed * cids,
            done="objects keep the person's records sealed under the person key; not rewritten",
        ),
    ]


class ErasureStatuses:
    def __init__(
        self,
        *,
        erasures: Callable[[str], ErasedAccount | None],
        keys: KeyStore,
        reads: ReadService,
        files: ObjectStore,
    ) -> None:
        """`erasures`: what the accounts topic said of an erasure id (None: no such one)."""
        self.erasures = erasures
        self.keys = keys
        self.reads = reads
        self.files = files

    def find(self, erasure_id: str) -> ErasedAccount | None:
        return self.erasures(erasure_id)

    async def status(self, erasure: ErasedAccount) -> ErasureStatus:
        traces = await self.reads.traces_of(erasure.user_id)
        key_held, files_left = await asyncio.gather(
            asyncio.to_thread(self._key_held, erasure.user_id),
            asyncio.to_thread(self._files_left, traces.media),
        )
        stores = store_reports(erasure, key_held, traces, files_left)
        return ErasureStatus(
            erasure_id=erasure.erasure_id,
            user_id=erasure.user_id,
            officer=erasure.officer,
            case_ref=erasure.case_ref,
            account_seq=erasure.account_seq,
            erased_at_ms=erasure.erased_at_ms,
            complete=all(s.left == 0 for s in stores),
            stores=stores,
        )

    def _key_held(self, user_id: str) -> bool:
        try:
            return self.keys.get(person_key_id(user_id)) is not None
        except KeyDestroyedError:
            return False

    def _files_left(self, media: list[str]) -> int:
        return sum(
            1 for i in media if self.files.holds(media_prefix(i)) or self.files.holds(upload_key(i))
        )
