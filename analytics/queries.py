"""The saved queries: what `parley-analytics report` runs and charts, and what the
benchmark times over 10M archived events. Plain SQL over the analysts' tables."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SavedQuery:
    name: str
    title: str
    sql: str
    x: str
    """The column a chart puts on its x axis."""
    series: tuple[str, ...]
    """The columns it draws against x."""
    chart: str = "line"
    log_y: bool = False
    """A log scale, for series orders of magnitude apart (p50 and p99 of read times)."""


def _latency(kind: str) -> str:
    """Send-to-receipt latency per message, p50 and p99 per day of sending.

    A message counts as delivered (read) at the first moment any watermark of that kind in
    its conversation covers its seq, whoever's it is (docs/analytics.md says what that
    means for groups and for a sender's own devices). Computed without a join per
    recipient: for each
    conversation, the earliest time any watermark reached at least `s` is a running
    minimum over watermarks in descending `up_to_seq`, and an ASOF JOIN finds, for each
    message, the smallest watermark at or above its seq.
    """
    return f"""WITH reached AS (
    SELECT conversation_id, up_to_seq,
        min(first_at) OVER (PARTITION BY conversation_id ORDER BY up_to_seq DESC
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS at
    FROM (SELECT r.conversation_id, r.up_to_seq, min(r.at) AS first_at
          FROM receipts AS r
          WHERE r.kind = '{kind}'
          GROUP BY r.conversation_id, r.up_to_seq)
)
SELECT toDate(m.sent_at) AS day,
    round(quantileExact(0.5)(dateDiff('millisecond', m.sent_at, w.at)) / 1000, 3) AS p50_s,
    round(quantileExact(0.99)(dateDiff('millisecond', m.sent_at, w.at)) / 1000, 3) AS p99_s,
    count() AS messages
FROM (SELECT conversation_id, seq, sent_at FROM messages) AS m
ASOF JOIN reached AS w ON m.conversation_id = w.conversation_id AND w.up_to_seq >= m.seq
GROUP BY day ORDER BY day"""


SAVED = (
    SavedQuery(
        "daily_active_users",
        "Daily active users (anyone who sent, read or acknowledged anything)",
        """SELECT toDate(occurred_at) AS day, uniqExact(actor_user_id) AS active_users
FROM events WHERE event_type != '' GROUP BY day ORDER BY day""",
        "day",
        ("active_users",),
    ),
    SavedQuery(
        "monthly_active_users",
        "Monthly active users (calendar months)",
        """SELECT toStartOfMonth(occurred_at) AS month, uniqExact(actor_user_id) AS active_users
FROM events WHERE event_type != '' GROUP BY month ORDER BY month""",
        "month",
        ("active_users",),
        "bar",
    ),
    SavedQuery(
        "messages_per_hour",
        "Messages sent per hour",
        """SELECT toStartOfHour(occurred_at) AS hour, count() AS messages
FROM events WHERE event_type = 'MessageSent' GROUP BY hour ORDER BY hour""",
        "hour",
        ("messages",),
    ),
    SavedQuery(
        "conversation_sizes",
        "Conversations by number of members now",
        """SELECT members, count() AS conversations
FROM (SELECT conversation_id, sum(delta) AS members FROM memberships GROUP BY conversation_id)
GROUP BY members ORDER BY members""",
        "members",
        ("conversations",),
        "bar",
    ),
    SavedQuery(
        "time_to_delivered",
        "Time from send to delivered, seconds (p50, p99 per day)",
        _latency("delivered"),
        "day",
        ("p50_s", "p99_s"),
        log_y=True,
    ),
    SavedQuery(
        "time_to_read",
        "Time from send to read, seconds (p50, p99 per day)",
        _latency("read"),
        "day",
        ("p50_s", "p99_s"),
        log_y=True,
    ),
    SavedQuery(
        "retention_cohorts",
        "Weekly retention: share of each week's new users active n weeks later",
        """WITH first_seen AS (
    SELECT actor_user_id AS user_id, toMonday(min(occurred_at)) AS cohort
    FROM events WHERE event_type != '' GROUP BY user_id
), weekly AS (
    SELECT DISTINCT actor_user_id AS user_id, toMonday(occurred_at) AS week
    FROM events WHERE event_type != ''
), sizes AS (SELECT cohort, count() AS size FROM first_seen GROUP BY cohort)
SELECT f.cohort AS cohort, dateDiff('week', f.cohort, w.week) AS weeks_later,
    count() AS active, any(s.size) AS cohort_size, round(count() / any(s.size), 4) AS retained
FROM weekly AS w
INNER JOIN first_seen AS f ON w.user_id = f.user_id
INNER JOIN sizes AS s ON f.cohort = s.cohort
GROUP BY cohort, weeks_later ORDER BY cohort, weeks_later""",
        "weeks_later",
        ("retained",),
        "cohorts",
    ),
)
BY_NAME = {q.name: q for q in SAVED}
