"""Reading the audit log for officers: filtered pages, straight from the audit topic.

The topic is the audit (nothing else holds it, so nothing else can disagree with it); a
page is read from Kafka on request, from the cursor (the offset to go on from) or, with
`since_ms`, from the first offset at that time. One request reads at most `SCAN_LIMIT`
records, so a filter that matches little answers with fewer entries and `more`, never
with a long wait. Blocking: the service calls it in a thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from edge.protocol.compliance import AuditEntry, AuditPage, AuditQuery
from kafkalog.presets import REPLAY, private_reader
from kafkalog.records import position
from schemas import codec
from schemas import models as m
from schemas.errors import MalformedRecordError, UnknownSchemaError
from schemas.topics import TopicSpec

SCAN_LIMIT = 20_000
METADATA_TIMEOUT_S = 10.0
POLL_S = 0.5
READ_WITHIN_S = 30.0
PARTITION = 0


def entry(offset: int, record: m.ComplianceAudit) -> AuditEntry:
    started = isinstance(record, m.ComplianceActionStarted)
    return AuditEntry(
        cursor=offset,
        phase="started" if started else "ended",
        action_id=record.action_id,
        action=record.action,
        officer=record.officer,
        device_id=record.device_id,
        case_ref=record.case_ref,
        target=record.target,
        parameters=record.parameters if isinstance(record, m.ComplianceActionStarted) else {},
        outcome=None if isinstance(record, m.ComplianceActionStarted) else record.outcome,
        detail=None if isinstance(record, m.ComplianceActionStarted) else record.detail,
        origin=record.origin,
        occurred_at_ms=int(record.occurred_at.timestamp() * 1000),
    )


def matches(query: AuditQuery) -> Callable[[AuditEntry], bool]:
    def match(found: AuditEntry) -> bool:
        return (
            (query.officer is None or found.officer == query.officer)
            and (query.action is None or found.action == query.action)
            and (query.about_case is None or found.case_ref == query.about_case)
            and (query.target is None or found.target == query.target)
            and (query.since_ms is None or found.occurred_at_ms >= query.since_ms)
            and (query.until_ms is None or found.occurred_at_ms <= query.until_ms)
        )

    return match


class AuditReader:
    def __init__(self, bootstrap: str, topic: TopicSpec) -> None:
        self.bootstrap = bootstrap
        self.topic = topic

    def page(self, query: AuditQuery) -> AuditPage:
        reader = Consumer(private_reader(self.bootstrap, REPLAY, name="audit-reader"))
        try:
            return self._page(reader, query)
        finally:
            reader.close()

    def _page(self, reader: Consumer, query: AuditQuery) -> AuditPage:
        where = TopicPartition(self.topic.name, PARTITION)
        low, high = reader.get_watermark_offsets(where, timeout=METADATA_TIMEOUT_S, cached=False)
        start = max(query.cursor, low, self._first_at(reader, query.since_ms, high))
        if start >= high:
            return AuditPage(entries=[], next_cursor=max(start, query.cursor), more=False)
        reader.assign([TopicPartition(self.topic.name, PARTITION, start)])
        match = matches(query)
        found: list[AuditEntry] = []
        at = start
        deadline = time.monotonic() + READ_WITHIN_S
        while at < high and at - start < SCAN_LIMIT and len(found) < query.limit:
            if time.monotonic() > deadline:
                raise KafkaException(
                    KafkaError(KafkaError._TIMED_OUT, f"audit read stuck at {at} of {high}")
                )
            for record in reader.consume(num_messages=min(500, high - at), timeout=POLL_S):
                error = record.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        raise KafkaException(error)
                    at = high  # a non-transactional topic: its end is the high watermark
                    break
                _, offset = position(record)
                at = offset + 1
                decoded = _decode(record.value() or b"")
                if decoded is not None and match(shown := entry(offset, decoded)):
                    found.append(shown)
                    if len(found) >= query.limit:
                        break
        return AuditPage(entries=found, next_cursor=at, more=at < high)

    def _first_at(self, reader: Consumer, since_ms: int | None, high: int) -> int:
        """The first offset whose record is at or after `since_ms` (`high` if none is)."""
        if since_ms is None:
            return 0
        [found] = reader.offsets_for_times(
            [TopicPartition(self.topic.name, PARTITION, since_ms)], timeout=METADATA_TIMEOUT_S
        )
        offset: int = found.offset
        return offset if offset >= 0 else high


def _decode(value: bytes) -> m.ComplianceAudit | None:
    """An audit record; anything else (nothing else is written here) is passed over."""
    try:
        decoded = codec.decode(value)
    except (MalformedRecordError, UnknownSchemaError):
        return None
    if isinstance(decoded, m.ComplianceActionStarted | m.ComplianceActionEnded):
        return decoded
    return None
