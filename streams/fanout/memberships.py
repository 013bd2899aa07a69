"""Who is in each conversation, as the fan-out knows it: folded from the conversations' own
events into its store, with the position of each events partition in the same write.

The fan-out resumes from the stored position on assignment, so a restart reads only what
came after its last batch, never the log from offset 0. `apply` is the pure fold (tested
over a `MemoryStore`); members and last seqs are cached in memory, read through from the
store on first use: this process is the only writer of its store, and every change goes
to the cache and the pending writes together.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas import models as m
from schemas.record import AvroRecord
from streams.keys import key, str_after
from streams.state import LoggedState

LAST_SEQ = "l"
MEMBER = "m"
"""(conversation, user): the user is a member now."""
MEMBERSHIP = "u"
"""(user, conversation): the same fact, found by user (for replays to a user come online)."""


@dataclass
class Memberships(LoggedState):
    cache_size: int = 100_000
    """Conversations whose members stay in memory; past it the cache starts again."""
    _members: dict[str, set[str]] = field(default_factory=dict)
    _last_seq: dict[str, int] = field(default_factory=dict)

    def apply(self, event: AvroRecord) -> set[str]:
        """Fold the event in; return who must hear of it (a removed member included)."""
        meta: m.EventMeta = event.meta  # type: ignore[attr-defined]
        cid = meta.conversation_id
        if meta.seq <= self.last_seq(cid):
            return set()
        self._last_seq[cid] = meta.seq
        self._put(key(LAST_SEQ, cid), str(meta.seq).encode())
        members = self.members(cid)
        audience = set(members)
        if isinstance(event, m.ConversationCreated):
            for member in event.members:
                self._join(cid, member.user_id)
        elif isinstance(event, m.MemberAdded):
            self._join(cid, event.user_id)
        elif isinstance(event, m.MemberRemoved):
            self._leave(cid, event.user_id)
        return audience | members

    def last_seq(self, cid: str) -> int:
        found = self._last_seq.get(cid)
        if found is None:
            raw = self.store.get(key(LAST_SEQ, cid))
            found = self._last_seq[cid] = 0 if raw is None else int(raw)
        return found

    def members(self, cid: str) -> set[str]:
        found = self._members.get(cid)
        if found is None:
            prefix = key(MEMBER, cid)
            found = self._members[cid] = {str_after(prefix, k) for k, _ in self.store.scan(prefix)}
        return found

    def conversations_of(self, user_id: str) -> set[str]:
        prefix = key(MEMBERSHIP, user_id)
        found = {str_after(prefix, k) for k, _ in self.store.scan(prefix)}
        for pending, value in self.pending.items():
            if pending.startswith(prefix):
                cid = str_after(prefix, pending)
                if value is None:
                    found.discard(cid)
                else:
                    found.add(cid)
        return found

    def forget(self) -> None:
        """Drop the cache: partitions moved, and another owner may have changed them since."""
        self._members.clear()
        self._last_seq.clear()

    def flush(self, applied_offsets: dict[int, int] | None = None) -> None:
        super().flush(applied_offsets)
        if len(self._members) > self.cache_size or len(self._last_seq) > self.cache_size:
            self.forget()  # only between batches: the cache then agrees with the store

    def discard(self) -> None:
        super().discard()
        self.forget()

    def _join(self, cid: str, user: str) -> None:
        self.members(cid).add(user)
        self._put(key(MEMBER, cid, user), b"")
        self._put(key(MEMBERSHIP, user, cid), b"")

    def _leave(self, cid: str, user: str) -> None:
        self.members(cid).discard(user)
        self._put(key(MEMBER, cid, user), None)
        self._put(key(MEMBERSHIP, user, cid), None)
