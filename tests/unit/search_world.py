"""Real events applied to a real history view and a real search index, both built the way
their views build them (HistoryBatch, SearchBatch), and the search query side over them."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from projections.history.query import HistoryReader
from projections.history.store import HistoryBatch, HistoryStore
from projections.search.answers import SearchPage, SearchRequest
from projections.search.query import MessageSearch, SearchLimits, SearchReader
from projections.search.store import SearchBatch, SearchStore
from schemas import codec
from schemas import models as m

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class World:
    """Conversations whose events go to both views, one batch per `write`."""

    def __init__(self, root: Path, *, limits: SearchLimits | None = None) -> None:
        self.history = HistoryStore(root / "history")
        self.index = SearchStore(root / "search")
        self.history_reader = HistoryReader(
            self.history.path, secondary_path=root / "secondary", max_staleness_s=0
        )
        self.search_reader = SearchReader(self.index.path, max_staleness_s=0)
        self.engine = MessageSearch(self.search_reader, self.history_reader, limits=limits)
        self.seqs: dict[str, int] = {}
        self.offset = 0
        self.pending: list[m.Event] = []

    def close(self) -> None:
        self.history_reader.close()
        self.history.close()
        self.index.close()

    def meta(self, cid: str, user: str, at: datetime | None = None) -> m.EventMeta:
        seq = self.seqs.get(cid, 0) + 1
        self.seqs[cid] = seq
        return m.EventMeta(
            event_id=str(uuid.uuid4()),
            conversation_id=cid,
            seq=seq,
            actor=m.Actor(user_id=user, device_id=f"{user}-phone"),
            client_msg_id=str(uuid.uuid4()),
            command_id=str(uuid.uuid4()),
            occurred_at=at or T0 + timedelta(seconds=self.offset),
        )

    def emit(self, event: m.Event) -> int:
        self.pending.append(event)
        self.offset += 1
        return event.meta.seq

    def create(self, cid: str, owner: str, *members: str) -> int:
        everyone = [m.Member(user_id=owner, role=m.Role.OWNER)]
        everyone += [m.Member(user_id=u, role=m.Role.MEMBER) for u in members]
        return self.emit(
            m.ConversationCreated(
                meta=self.meta(cid, owner),
                kind=m.ConversationKind.GROUP,
                name=cid,
                members=tuple(everyone),
            )
        )

    def send(
        self,
        cid: str,
        user: str,
        text: str,
        *,
        at: datetime | None = None,
        attachments: int = 0,
    ) -> int:
        files = tuple(
            m.Attachment(
                media_id=f"media-{i}", content_type="image/png", size_bytes=10, sha256="0" * 64
            )
            for i in range(attachments)
        )
        return self.emit(
            m.MessageSent(
                meta=self.meta(cid, user, at), body=m.PlainBody(text=text), attachments=files
            )
        )

    def send_encrypted(self, cid: str, user: str) -> int:
        body = m.EncryptedBody(
            scheme=m.E2EEScheme.MEGOLM_V1, sender_key="k", session_id="s", ciphertext=b"\x01"
        )
        return self.emit(m.MessageSent(meta=self.meta(cid, user), body=body))

    def edit(self, cid: str, user: str, target: int, text: str) -> int:
        return self.emit(
            m.MessageEdited(
                meta=self.meta(cid, user), target_seq=target, body=m.PlainBody(text=text)
            )
        )

    def delete(self, cid: str, user: str, target: int, scope: m.DeleteScope) -> int:
        return self.emit(
            m.MessageDeleted(meta=self.meta(cid, user), target_seq=target, scope=scope)
        )

    def redact(self, cid: str, target: int) -> int:
        return self.emit(
            m.MessageRedacted(meta=self.meta(cid, "compliance"), target_seq=target, reason="legal")
        )

    def add(self, cid: str, by: str, user: str) -> int:
        return self.emit(m.MemberAdded(meta=self.meta(cid, by), user_id=user))

    def remove(self, cid: str, by: str, user: str) -> int:
        return self.emit(m.MemberRemoved(meta=self.meta(cid, by), user_id=user))

    def write(self) -> None:
        """The pending events, as one batch of each view (partition 0, offsets in order)."""
        history, search = HistoryBatch(self.history), SearchBatch(self.index)
        first = self.offset - len(self.pending)
        for i, event in enumerate(self.pending):
            encoded = codec.encode(event)
            for batch in (history, search):
                batch.add(event, encoded)
                batch.advance(0, first + i + 1)
        history.commit()
        search.commit()
        self.pending = []

    def search(self, user: str, query: str = "", **fields: object) -> SearchPage:
        request = SearchRequest.model_validate({"query": query, **fields})
        return self.engine.search(user, request, time.monotonic() + 30)

    def found(self, user: str, query: str = "", **fields: object) -> list[tuple[str, int]]:
        return [(h.conversation_id, h.seq) for h in self.search(user, query, **fields).hits]
