"""The archive's scrub of a redacted message (projections/archive/scrub.py) on the real S3
server (s3proxy): the message and its edit, each holding a unique canary in a plain body (as
a deployment from before sealing wrote them), are archived; once the redaction is archived,
the S3 server's stored bytes hold neither canary, while the other messages stay byte for
byte, the chain, the rows and the manifest are as they were, and the analysts' SQL over the
archive still answers. A writer killed midway through a scrub (one of the two objects
rewritten) finishes it when the partition is opened again."""

from __future__ import annotations

import io
import uuid
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


def story(cid: str, secret: str, edited: str, kept: str) -> list[m.Event]:
    """Seq 2 says the secret and is edited to say `edited` (seq 4); seq 3 says `kept`;
    seq 5 redacts seq 2."""
    return [
        m.ConversationCreated(
            meta=meta(cid, 1),
            kind=m.ConversationKind.DIRECT,
            members=(
                m.Member(user_id="ann", role=m.Role.MEMBER),
                m.Member(user_id="bob", role=m.Role.MEMBER),
            ),
        ),
        m.MessageSent(meta=meta(cid, 2), body=m.PlainBody(text=f"oops {secret}")),
        m.MessageSent(meta=meta(cid, 3), body=m.PlainBody(text=f"fine {kept}")),
        m.MessageEdited(meta=meta(cid, 4), target_seq=2, body=m.PlainBody(text=f"still {edited}")),
        m.MessageRedacted(meta=meta(cid, 5), target_seq=2, reason="C-1: court order"),
    ]


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


def test_a_redacted_message_leaves_the_archives_stored_bytes(tmp_path: Path) -> None:
    store, root = s3_store(), fresh_root()
    secret, edited, kept = canary(), canary(), canary()
    cid = f"dm-{uuid.uuid4().hex[:8]}"
    fed = records(story(cid, secret, edited, kept))
    writer = new_writer(store, root, tmp_path / "spool")
    writer.open([PARTITION])
    archive(writer, fed[:4], cuts=(1,))  # the send in one object, its edit in the next
    assert stored(secret) and stored(edited) and stored(kept), "the scan finds plain bodies"
    tables_before = {
        k.key: store.get(k.key)
        for k in store.list_keys(family_prefix(root, Family.TABLE, "events"))
    }

    archive(writer, fed[4:], cuts=())
    assert writer.stats.scrubbed == 2
    assert stored(secret) == [] and stored(edited) == [], "no stored byte holds the message"
    assert stored(kept), "the other message stays"

    values = raw_values(store, root)
    assert sorted(values) == [r.offset for r in fed], "same offsets, same rows"
    for record in fed:
        if record.offset in (1, 3):
            scrubbed = codec.decode(values[record.offset])
            original = codec.decode(record.value)
            assert isinstance(scrubbed, m.MessageSent | m.MessageEdited)
            assert isinstance(original, m.MessageSent | m.MessageEdited)
            assert scrubbed.body == EMPTY_BODY
            assert scrubbed.model_copy(update={"body": original.body}) == original
        else:
            assert values[record.offset] == record.value, "every other record byte for byte"
    tables_after = {
        k.key: store.get(k.key)
        for k in store.list_keys(family_prefix(root, Family.TABLE, "events"))
    }
    assert {k: v for k, v in tables_after.items() if k in tables_before} == tables_before
    assert store.list_keys(scrub.Place(store, root, "events", PARTITION).markers()) == []
    saved = manifest.load(store, root, "events", PARTITION)
    assert saved is not None and saved.archived_to == len(fed)
    sizes = {k.key: k.size for k in store.list_keys(family_prefix(root, Family.RAW, "events"))}
    assert {e.raw_key: e.raw_bytes for e in saved.objects} == sizes

    # A new writer resumes after the redaction and scrubs nothing twice.
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
    assert [tuple(r) for r in rows] == [(2, 1, True, "PLAIN"), (3, 0, False, "PLAIN")]


def test_a_scrub_killed_midway_is_finished_when_the_partition_opens_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, root = s3_store(), fresh_root()
    secret, edited, kept = canary(), canary(), canary()
    fed = records(story(f"dm-{uuid.uuid4().hex[:8]}", secret, edited, kept))
    writer = new_writer(store, root, tmp_path / "spool")
    writer.open([PARTITION])
    archive(writer, fed[:4], cuts=(1,))

    real = scrub.settle

    def die_after_first_rewrite(step: str) -> None:
        if step.startswith("rewrote"):
            raise RuntimeError(f"killed after: {step}")

    def dying(place: scrub.Place, *, spool_dir: Path) -> list[scrub.Scrubbed]:
        return real(place, spool_dir=spool_dir, crash_point=die_after_first_rewrite)

    monkeypatch.setattr(scrub, "settle", dying)
    with pytest.raises(RuntimeError, match="killed after: rewrote"):
        archive(writer, fed[4:], cuts=())
    place = scrub.Place(store, root, "events", PARTITION)
    assert [r.offset for r in scrub.pending(place)] == [4], "the scrub owed is still marked"
    assert stored(edited) == [], "the edit's object, newest, was rewritten first"
    assert stored(secret), "the send's object was not rewritten yet"
    monkeypatch.setattr(scrub, "settle", real)

    restarted = new_writer(store, root, tmp_path / "spool2")
    assert restarted.open([PARTITION]) == {PARTITION: len(fed)}
    assert restarted.stats.scrubbed == 2, "both found again; only the send's object rewritten"
    assert scrub.pending(place) == []
    assert stored(secret) == [] and stored(edited) == [] and stored(kept)
    table = pq.read_table(
        io.BytesIO(store.get(store.list_keys(family_prefix(root, Family.RAW, "events"))[0].key))
    )
    assert table.num_rows == 2  # the first object: creation and the send, still two rows
