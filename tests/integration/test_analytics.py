"""The analysts' SQL on real chdb over real Parquet in real S3 (s3proxy) answers what the
events say; bad queries get clear errors or bounded answers; the command works end to end."""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from analytics.engine import Analytics, AnalyticsError
from analytics.queries import BY_NAME
from analytics.settings import AnalyticsSettings
from analytics.tables import TABLES
from schemas import codec
from schemas import models as m
from tests.integration.archive import (
    BUCKET,
    as_archive,
    fresh_root,
    new_writer,
    platform,
    s3_store,
    simulated,
)

EVENTS = 8_000


@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[m.Event]]:
    """A few days of simulated chat, both topics, archived to S3; and the events decoded."""
    store, root = s3_store(), fresh_root()
    spool = tmp_path_factory.mktemp("spool")
    records = simulated(EVENTS, partitions=3, days=3, seed=11)
    for topic in ("events", "accounts"):
        writer = new_writer(store, root, spool / topic, topic=topic)
        writer.open(range(3))
        for record in as_archive(records, topic):
            writer.add(record)
        writer.flush()
    events = [codec.decode(r.value) for r in records if r.topic == "events"]
    return root, events  # type: ignore[return-value]


def settings_for(root: str) -> AnalyticsSettings:
    s = platform()
    return AnalyticsSettings(
        s3_endpoint=s.s3_url,
        s3_access_key=s.s3_access_key,
        s3_secret_key=s.s3_secret_key,
        s3_bucket=BUCKET,
        archive_root=root,
        analytics_max_result_rows=5_000,
    )


@pytest.fixture
def analytics(archived: tuple[str, list[m.Event]]) -> Iterator[Analytics]:
    engine = Analytics(settings_for(archived[0]))
    yield engine
    engine.close()


def test_every_table_has_its_declared_columns(analytics: Analytics) -> None:
    for table in TABLES:
        described = analytics.query(f"DESCRIBE {table.name}").rows
        actual = [(row[0], "".join(str(row[1]).split())) for row in described]
        declared = [(c.name, "".join(c.type.split())) for c in table.columns]
        assert actual == declared, table.name


def test_messages_per_conversation_equal_the_log(
    analytics: Analytics, archived: tuple[str, list[m.Event]]
) -> None:
    events = archived[1]
    expected = Counter(e.meta.conversation_id for e in events if isinstance(e, m.MessageSent))
    edits = Counter(
        (e.meta.conversation_id, e.target_seq) for e in events if isinstance(e, m.MessageEdited)
    )
    deleted = {
        (e.meta.conversation_id, e.target_seq)
        for e in events
        if isinstance(e, m.MessageDeleted) and e.scope == m.DeleteScope.FOR_EVERYONE
    }
    answer = analytics.query("SELECT conversation_id, count() FROM messages GROUP BY 1")
    assert dict(answer.rows) == expected
    rows = analytics.query("SELECT conversation_id, seq, edits, deleted FROM messages").rows
    assert {(c, s): n for c, s, n, _ in rows if n} == dict(edits)
    assert {(c, s) for c, s, _, gone in rows if gone} == deleted
    assert len(rows) == sum(expected.values())


def test_members_per_group_equal_the_log(
    analytics: Analytics, archived: tuple[str, list[m.Event]]
) -> None:
    members: dict[str, set[str]] = defaultdict(set)
    for e in archived[1]:
        cid = e.meta.conversation_id
        if isinstance(e, m.ConversationCreated):
            members[cid] = {member.user_id for member in e.members}
        elif isinstance(e, m.MemberAdded):
            members[cid].add(e.user_id)
        elif isinstance(e, m.MemberRemoved):
            members[cid].discard(e.user_id)
    answer = analytics.query(
        "SELECT conversation_id, sum(delta) FROM memberships GROUP BY conversation_id"
    )
    assert dict(answer.rows) == {cid: len(people) for cid, people in members.items()}
    sizes = analytics.query(BY_NAME["conversation_sizes"].sql).rows
    assert dict(sizes) == Counter(len(p) for p in members.values())


def test_read_times_equal_the_log(
    analytics: Analytics, archived: tuple[str, list[m.Event]]
) -> None:
    """The receipts table holds every read watermark, and the saved query's p50 and p99
    per day are those of the latencies computed here from the events."""
    events = archived[1]
    reads = [e for e in events if isinstance(e, m.ReadWatermarkAdvanced)]
    answer = analytics.query(
        "SELECT conversation_id, user_id, up_to_seq, at FROM receipts WHERE kind = 'read'"
    )
    assert sorted(
        (c, u, s, at.replace(tzinfo=UTC) if at.tzinfo is None else at)
        for c, u, s, at in answer.rows
    ) == sorted(
        (e.meta.conversation_id, e.meta.actor.user_id, e.up_to_seq, e.meta.occurred_at)
        for e in reads
    )

    first_read: dict[str, list[tuple[int, datetime]]] = defaultdict(list)
    for e in reads:
        first_read[e.meta.conversation_id].append((e.up_to_seq, e.meta.occurred_at))
    per_day: dict[str, list[int]] = defaultdict(list)
    for sent in events:
        if not isinstance(sent, m.MessageSent):
            continue
        covering = [
            at for up_to, at in first_read[sent.meta.conversation_id] if up_to >= sent.meta.seq
        ]
        if covering:
            waited = min(covering) - sent.meta.occurred_at
            per_day[sent.meta.occurred_at.date().isoformat()].append(
                round(waited.total_seconds() * 1000)
            )
    expected = {
        day: (
            round(sorted(ms)[int(0.5 * len(ms))] / 1000, 3),
            round(sorted(ms)[int(0.99 * len(ms))] / 1000, 3),
            len(ms),
        )
        for day, ms in per_day.items()
    }
    rows = analytics.query(BY_NAME["time_to_read"].sql).rows
    assert {day.isoformat(): (p50, p99, n) for day, p50, p99, n in rows} == expected


def test_every_saved_query_answers(analytics: Analytics) -> None:
    for query in BY_NAME.values():
        answer = analytics.query(query.sql)
        assert answer.rows, query.name
        assert query.x in answer.columns


@pytest.mark.parametrize(
    ("sql", "code"),
    [
        ("SELEC count() FROM events", "syntax_error"),
        ("SELECT count() FROM no_such_table", "unknown_table"),
        ("SELECT no_such_column FROM events", "unknown_column"),
        ("DROP TABLE events", "read_only"),
        ("INSERT INTO events (offset) VALUES (1)", "read_only"),
        ("   ", "empty_query"),
    ],
)
def test_bad_queries_get_clear_errors(analytics: Analytics, sql: str, code: str) -> None:
    with pytest.raises(AnalyticsError) as raised:
        analytics.query(sql)
    assert raised.value.code == code
    assert "FORMAT Native" not in str(raised.value)
    assert "SETTINGS readonly" not in str(raised.value)


def test_an_unbounded_result_is_cut_and_says_so(analytics: Analytics) -> None:
    answer = analytics.query("SELECT number FROM system.numbers")
    assert answer.truncated
    assert len(answer.rows) == analytics.settings.analytics_max_result_rows


def test_a_scan_past_the_read_bound_stops_with_an_error(archived: tuple[str, object]) -> None:
    engine = Analytics(
        settings_for(archived[0]).model_copy(update={"analytics_max_rows_to_read": 1_000})
    )
    try:
        with pytest.raises(AnalyticsError) as raised:
            engine.query("SELECT count() FROM system.numbers WHERE number % 7 = 3")
        assert raised.value.code == "too_many_rows_to_read"
        engine.settings = engine.settings.model_copy(
            update={"analytics_max_execution_s": 1.0, "analytics_max_rows_to_read": 10**12}
        )
        with pytest.raises(AnalyticsError) as timed_out:
            engine.query("SELECT count() FROM system.numbers WHERE cityHash64(number) % 9 = 1")
        assert timed_out.value.code == "timeout"
    finally:
        engine.close()


def test_the_command_end_to_end(archived: tuple[str, object], tmp_path: Path) -> None:
    s = settings_for(archived[0])
    env = {
        **os.environ,
        "PARLEY_S3_ENDPOINT": s.s3_url,
        "PARLEY_S3_BUCKET": s.s3_bucket,
        "PARLEY_ARCHIVE_ROOT": s.archive_prefix,
    }

    def command(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "analytics", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    done = command("sql", "SELECT count() AS n FROM events", "--format", "json")
    assert json.loads(done.stdout)["rows"] == [[EVENTS]], done.stderr
    table = command("sql", "SELECT event_type, count() FROM events GROUP BY 1 ORDER BY 1")
    assert "MessageSent" in table.stdout and "rows" in table.stdout
    csv = command("saved", "daily_active_users", "--format", "csv")
    assert csv.stdout.splitlines()[0] == "day,active_users"
    bad = command("sql", "SELECT * FROM nowhere")
    assert bad.returncode == 2 and bad.stderr.startswith("error unknown_table:")
    report = command("report", "--out", str(tmp_path / "report"), "--format", "html")
    assert report.returncode == 0, report.stderr
    page = (tmp_path / "report" / "report.html").read_text()
    assert "report.html" in report.stdout
    for query in BY_NAME.values():
        assert html.escape(query.title) in page
        assert (tmp_path / "report" / f"{query.name}.png").stat().st_size > 1000
    assert "failed (" not in page
