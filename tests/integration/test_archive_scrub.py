"""The archive's scrub of a redacted or expired message (projections/archive/scrub.py) on the
real S3 server (s3proxy): the messages and their edits, each holding a unique canary in a
plain body (as a deployment from before sealing wrote them), are archived; once the
`MessageRedacted` (one message) or the `MessagesExpired` (two) is archived, the S3 server's
stored bytes hold none of their canaries, while the other messages stay byte for byte, the
chain, the rows and the manifest are as they were, and the analysts' SQL over the archive
still answers. A writer killed midway through a scrub (one of the objects rewritten)
finishes it when the partition is opened again."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from analytics.engine import Analytics
from infra.settings import PlatformSettings
from kafkalog.cold.layout import Family, family_prefix
from kafkalog.cold.record import ArchiveRecord
from objectstore.store import ObjectStore
from projections.archive import manifest, scrub
from projections.archive.scrub import EMPTY_BODY
from projections.archive.writer import ArchiveWriter
from schemas import codec
from schemas import models as m
from tests.e2e.scan import scan, text_forms
from tests.integration.archive import archived_rows, fresh_root, new_writer, s3_store
from tests.integration.test_analytics import settings_for

PARTITION = 0


def canary() -> str:
    return f"canary{uuid.uuid4().hex[:24]}"


def meta(cid: str, seq: int) -> m.EventMeta:
    return m.EventMeta(
        event_id=str(uuid.uuid4()),
        conversation_id=cid,
        seq=seq,
        actor=m.Actor(user_id="ann", device_id="d1"),
        client_msg_id=str(uuid.uuid4()),
        command_id=str(uuid.uuid4()),
        occurred_at=datetime.now(UTC),
    )


def created(cid: str) -> m.ConversationCreated:
    return m.ConversationCreated(
        meta=meta(cid, 1),
        kind=m.ConversationKind.DIRECT,
        members=(
            m.Member(user_id="ann", role=m.Role.MEMBER),
            m.Member(user_id="bob", role=m.Role.MEMBER),
        ),
    )


@dataclass(frozen=True)
class Story:
    """Events at offsets 0, 1, ...; the canaries the removal at the end must leave in no
    stored byte, the one it must leave, the offsets it empties, and where objects are cut."""

    events: list[m.Event]
    gone: tuple[str, ...]
    kept: str
    emptied: tuple[int, ...]
    cuts: tuple[int, ...]


def redaction(cid: str) -> Story:
    """Seq 2 says a secret and is edited to say another (seq 4); seq 3 is kept; seq 5
    redacts seq 2. The send in one object, its edit in the next."""
    secret, edited, kept = canary(), canary(), canary()
    return Story(
        [
            created(cid),
            m.MessageSent(meta=meta(cid, 2), body=m.PlainBody(text=f"oops {secret}")),
            m.MessageSent(meta=meta(cid, 3), body=m.PlainBody(text=f"fine {kept}")),
            m.MessageEdited(
                meta=meta(cid, 4), target_seq=2, body=m.PlainBody(text=f"still {edited}")
            ),
            m.MessageRedacted(meta=meta(cid, 5), target_seq=2, reason="C-1: court order"),
        ],
        gone=(secret, edited),
        kept=kept,
        emptied=(1, 3),
        cuts=(1,),
    )


def expiry(cid: str) -> Story:
    """Seqs 2 and 5 expire together (seq 6, which also names seq 9, never sent); seq 2 was
    edited (seq 4); seq 3 is kept. Three objects: the first send, the kept message and the
    edit, the second send with the expiry."""
    first, edited, second, kept = canary(), canary(), canary(), canary()
    return Story(
        [
            created(cid),
            m.MessageSent(meta=meta(cid, 2), body=m.PlainBody(text=f"gone {first}")),
            m.MessageSent(meta=meta(cid, 3), body=m.PlainBody(text=f"fine {kept}")),
            m.MessageEdited(
                meta=meta(cid, 4), target_seq=2, body=m.PlainBody(text=f"gone {edited}")
            ),
            m.MessageSent(meta=meta(cid, 5), body=m.PlainBody(text=f"gone {second}")),
            m.MessagesExpired(meta=meta(cid, 6), seqs=(2, 5, 9)),
        ],
        gone=(first, edited, second),
        kept=kept,
        emptied=(1, 3, 4),
        cuts=(1, 3),
    )


STORIES = {"redaction": redaction, "expiry": expiry}


def records(events: list[m.Event]) -> list[ArchiveRecord]:
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    return [
        ArchiveRecord(PARTITION, offset, now_ms, codec.encode(e), e.meta.conversation_id.encode())
        for offset, e in enumerate(events)
    ]


def archive(writer: ArchiveWriter, fed: list[ArchiveRecord], cuts: tuple[int, ...]) -> None:
    """Each record in order, an object closed after each offset in `cuts` and at the end."""
    for record in fed:
        writer.add(record)
        if record.offset in cuts:
            writer.flush()
    writer.flush()


def stored(secret: str) -> list[tuple[str, str]]:
    """Where the S3 server's files hold the secret (UTF-8, UTF-16, base64)."""
    return scan([PlatformSettings().data_dir / "s3"], text_forms(secret))


def tables(store: ObjectStore, root: str) -> dict[str, bytes]:
    listed = store.list_keys(family_prefix(root, Family.TABLE, "events"))
    return {k.key: store.get(k.key) for k in listed}


def raw_values(store: ObjectStore, root: str) -> dict[int, bytes]:
    return {o: v for _, o, v in archived_rows(store, root, Family.RAW) if v is not None}


@pytest.mark.parametrize("name", sorted(STORIES))
def test_a_removed_message_leaves_the_archives_stored_bytes(name: str, tmp_path: Path) -> None:
    store, root = s3_store(), fresh_root()
    cid = f"dm-{uuid.uuid4().hex[:8]}"
    told = STORIES[name](cid)
    fed = records(told.events)
    writer = new_writer(store, root, tmp_path / "spool")
    writer.open([PARTITION])
    archive(writer, fed[:-1], cuts=told.cuts)  # everything but the removal
    assert all(stored(c) for c in (*told.gone, told.kept)), "the scan finds plain bodies"
    tables_before = tables(store, root)

    archive(writer, fed[-1:], cuts=())
    assert writer.stats.scrubbed == len(told.emptied)
    assert [c for c in told.gone if stored(c)] == [], "no stored byte holds the messages"
    assert stored(told.kept), "the other message stays"

    values = raw_values(store, root)
    assert sorted(values) == [r.offset for r in fed], "same offsets, same rows"
    for record in fed:
        if record.offset in told.emptied:
            scrubbed = codec.decode(values[record.offset])
            original = codec.decode(record.value)
            assert isinstance(scrubbed, m.MessageSent | m.MessageEdited)
            assert isinstance(original, m.MessageSent | m.MessageEdited)
            assert scrubbed.body == EMPTY_BODY
            assert scrubbed.model_copy(update={"body": original.body}) == original
        else:
            assert values[record.offset] == record.value, "every other record byte for byte"
    tables_after = tables(store, root)
    assert {k: v for k, v in tables_after.items() if k in tables_before} == tables_before
    assert store.list_keys(scrub.Place(store, root, "events", PARTITION).markers()) == []
    saved = manifest.load(store, root, "events", PARTITION)
    assert saved is not None and saved.archived_to == len(fed)
    sizes = {k.key: k.size for k in store.list_keys(family_prefix(root, Family.RAW, "events"))}
    assert {e.raw_key: e.raw_bytes for e in saved.objects} == sizes

    # A new writer resumes after the removal and scrubs nothing twice.
    again = new_writer(store, root, tmp_path / "spool2")
    assert again.open([PARTITION]) == {PARTITION: len(fed)}
    assert again.stats.scrubbed == 0

    engine = Analytics(settings_for(root))
    try:
        rows = engine.query(
            f"SELECT seq, edits, deleted, body_kind FROM messages "
            f"WHERE conversation_id = '{cid}' ORDER BY seq"
        ).rows
    finally:
        engine.close()
    # The `table` family keeps what it had: a body's kind and size, never its text. An
    # expiry is no deletion there (its seqs are in the raw family only).
    answered = {
        "redaction": [(2, 1, True, "PLAIN"), (3, 0, False, "PLAIN")],
        "expiry": [(2, 1, False, "PLAIN"), (3, 0, False, "PLAIN"), (5, 0, False, "PLAIN")],
    }
    assert [tuple(r) for r in rows] == answered[name]


@pytest.mark.parametrize("name", sorted(STORIES))
def test_a_scrub_killed_midway_is_finished_when_the_partition_opens_again(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, root = s3_store(), fresh_root()
    told = STORIES[name](f"dm-{uuid.uuid4().hex[:8]}")
    fed = records(told.events)
    writer = new_writer(store, root, tmp_path / "spool")
    writer.open([PARTITION])
    archive(writer, fed[:-1], cuts=told.cuts)

    real = scrub.settle

    def die_after_first_rewrite(step: str) -> None:
        if step.startswith("rewrote"):
            raise RuntimeError(f"killed after: {step}")

    def dying(place: scrub.Place, *, spool_dir: Path) -> scrub.Scrubbed:
        return real(place, spool_dir=spool_dir, crash_point=die_after_first_rewrite)

    monkeypatch.setattr(scrub, "settle", dying)
    with pytest.raises(RuntimeError, match="killed after: rewrote"):
        archive(writer, fed[-1:], cuts=())
    place = scrub.Place(store, root, "events", PARTITION)
    assert [r.offset for r in scrub.pending(place)] == [len(fed) - 1], "still marked"
    first, *_, last = told.gone  # the first send, in the oldest object; the newest canary
    assert stored(last) == [], "the newest object was rewritten first"
    assert stored(first), "the first send's object was not rewritten yet"
    monkeypatch.setattr(scrub, "settle", real)

    restarted = new_writer(store, root, tmp_path / "spool2")
    assert restarted.open([PARTITION]) == {PARTITION: len(fed)}
    assert restarted.stats.scrubbed == len(told.emptied), "all found again, rewritten once"
    assert scrub.pending(place) == []
    assert [c for c in told.gone if stored(c)] == [] and stored(told.kept)
    table = pq.read_table(
        io.BytesIO(store.get(store.list_keys(family_prefix(root, Family.RAW, "events"))[0].key))
    )
    assert table.num_rows == 2  # the first object: creation and the send, still two rows
