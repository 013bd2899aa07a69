"""Property-based fuzzing (hypothesis) of what reads records off Kafka: the codec, and the
log writers' whole path from a record to what they write. A short budget runs in the
tests (tests/unit/test_fuzz.py); `python -m bench fuzz` runs `BENCH_CASES` per target and
writes bench/out/fuzz.json.

Inputs are arbitrary bytes, arbitrary bodies behind every known schema's header, and valid
records of every writer schema (old versions too), generated from the schema and then
corrupted (bytes flipped, cut, inserted, lengths made huge). The properties: the codec
raises only its documented errors (MalformedRecordError, UnknownSchemaError); a log writer
(sequencer, account registry) never raises on a record, dead-letters what does not decode,
and every record it writes decodes.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import results
from kafkalog.decoding import UnusableRecordError
from kafkalog.decoding import decode_event as fanout_decode_event
from projections.archive.columns import LAYOUTS
from projections.archive.parquet import ObjectBuilder
from projections.follower import add_event
from projections.follower import decode_event as view_decode_event
from projections.history.store import HistoryBatch
from projections.inbox.store import InboxBatch
from projections.search.store import SearchBatch, SearchStore
from projections.store import ViewStore
from schemas import codec
from schemas import models as m
from schemas.errors import MalformedRecordError, UnknownSchemaError
from schemas.partitioning import partition_for
from schemas.record import AvroRecord
from schemas.registry import writer_schemas
from schemas.topics import REPLY_PARTITION_HEADER, declare_topics
from streams.accounts.registry import AccountRegistry
from streams.accounts.state import AccountState
from streams.fanout.memberships import Memberships
from streams.fanout.routing import RecentEvents, SessionDirectory
from streams.sequencer.state import SequencerState
from streams.sequencer.worker import ConversationSequencer
from streams.store import MemoryStore
from streams.transactional import RecordHandler, TransactionOutput

BENCH_CASES = 10_000
TOPICS = declare_topics("fuzz", partitions=4)
PRIMITIVES: dict[str, st.SearchStrategy[Any]] = {
    "null": st.none(),
    "boolean": st.booleans(),
    "int": st.integers(-(2**31), 2**31 - 1),
    "long": st.integers(-(2**63), 2**63 - 1),
    "float": st.floats(width=32),
    "double": st.floats(),
    "bytes": st.binary(max_size=64),
    "string": st.text(max_size=40),
}
TIMESTAMPS = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
HUGE_LENGTHS = (b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", b"\xfe\xff\xff\xff\x0f", b"\x01")
"""Zig-zag varints: a length near 2^63, one near 2^31, and -1."""


def datum(schema: Any, names: dict[str, Any], namespace: str = "") -> st.SearchStrategy[Any]:
    """Any datum valid for `schema` (fastavro's form: a union's record as (name, datum))."""
    if isinstance(schema, str):
        if schema in PRIMITIVES:
            return PRIMITIVES[schema]
        full = schema if schema in names else f"{namespace}.{schema}"
        return st.deferred(lambda: datum(names[full], names, full.rpartition(".")[0]))
    if isinstance(schema, list):
        return st.one_of([_branch(b, names, namespace) for b in schema])
    kind = schema["type"]
    if schema.get("logicalType") == "timestamp-millis":
        return TIMESTAMPS
    if kind in ("record", "enum", "fixed"):
        full = _full_name(schema, namespace)
        names[full] = schema
        inner = full.rpartition(".")[0]
        if kind == "enum":
            return st.sampled_from(schema["symbols"])
        if kind == "fixed":
            return st.binary(min_size=schema["size"], max_size=schema["size"])
        return st.fixed_dictionaries(
            {f["name"]: datum(f["type"], names, inner) for f in schema["fields"]}
        )
    if kind == "array":
        return st.lists(datum(schema["items"], names, namespace), max_size=3)
    if kind == "map":
        return st.dictionaries(
            st.text(max_size=8), datum(schema["values"], names, namespace), max_size=3
        )
    return datum(kind, names, namespace)


def _full_name(schema: dict[str, Any], namespace: str) -> str:
    name: str = schema["name"]
    space = schema.get("namespace", namespace)
    return name if "." in name or not space else f"{space}.{name}"


def _branch(schema: Any, names: dict[str, Any], namespace: str) -> st.SearchStrategy[Any]:
    """A union branch; a record branch is named, as fastavro writes unions of records."""
    target = schema
    if isinstance(schema, str) and schema not in PRIMITIVES:
        full = schema if schema in names else f"{namespace}.{schema}"
        target = names.get(full, schema)
    if isinstance(target, dict) and target.get("type") == "record":
        full = _full_name(target, namespace)
        return st.tuples(st.just(full), datum(schema, names, namespace))
    return datum(schema, names, namespace)


CONVERSATIONS = ("c1", "c2")
USERS = ("ann", "ben", "cy")


@st.composite
def narrowed(draw: st.DrawFn, value: Any) -> Any:
    """`value` with its ids and seqs drawn from small pools, so that a run of records meets
    the same conversations and people (a create, then sends, edits, removals in it)."""
    if isinstance(value, dict):
        out = {k: draw(narrowed(v)) for k, v in value.items()}
        for key, pool in (("conversation_id", CONVERSATIONS), ("user_id", USERS)):
            if isinstance(out.get(key), str):
                out[key] = draw(st.sampled_from(pool))
        for key in ("seq", "up_to"):
            value_at = out.get(key)
            if isinstance(value_at, int) and not isinstance(value_at, bool):
                out[key] = draw(st.one_of(st.integers(0, 6), st.just(value_at)))
        return out
    if isinstance(value, tuple):
        return tuple(draw(narrowed(v)) for v in value)
    if isinstance(value, list):
        return [draw(narrowed(v)) for v in value]
    return value


def valid_record(
    fingerprints: list[str] | None = None, *, narrow: bool = False
) -> st.SearchStrategy[bytes]:
    """A valid single-object record of any writer schema (of these fingerprints)."""
    schemas = writer_schemas()
    chosen = fingerprints or sorted(schemas)

    def encoded(fp: str) -> st.SearchStrategy[bytes]:
        schema = schemas[fp][1]
        data = datum(schema, {})
        if narrow:
            data = data.flatmap(narrowed)
        return data.map(lambda d: codec.encode_with_schema(schema, d))

    return st.one_of([encoded(fp) for fp in chosen])


@st.composite
def corrupted(draw: st.DrawFn, records: st.SearchStrategy[bytes]) -> bytes:
    data = bytearray(draw(records))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(codec.HEADER_LENGTH, max(len(data), codec.HEADER_LENGTH)))
        how = draw(st.sampled_from(["flip", "cut", "insert", "huge", "append"]))
        if how == "flip" and at < len(data):
            data[at] ^= draw(st.integers(1, 255))
        elif how == "cut":
            del data[at:]
        elif how == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif how == "huge":
            data[at:at] = draw(st.sampled_from(HUGE_LENGTHS))
        else:
            data += draw(st.binary(min_size=1, max_size=16))
    return bytes(data)


def behind_known_header() -> st.SearchStrategy[bytes]:
    headers = [codec.MAGIC + bytes.fromhex(fp) for fp in sorted(writer_schemas())]
    return st.tuples(st.sampled_from(headers), st.binary(max_size=256)).map(lambda p: p[0] + p[1])


def any_record_bytes(fingerprints: list[str] | None = None) -> st.SearchStrategy[bytes]:
    """Mostly valid records (of these schemas, about a few ids), else garbage of every kind."""
    valid = valid_record(fingerprints, narrow=True)
    return st.one_of(
        valid,
        valid,
        st.binary(max_size=256),
        behind_known_header(),
        valid_record(),
        corrupted(valid),
    )


def decodes_or_documented_error(data: bytes) -> None:
    """The codec's contract: a record, or one of its two documented errors."""
    decoded_or_none(data)


@dataclass
class FuzzRecord:
    """What the log writers read of a consumed Kafka record."""

    data: bytes
    key_bytes: bytes | None
    header_pairs: list[tuple[str, bytes | None]]
    at_partition: int
    topic_name: str

    def value(self) -> bytes:
        return self.data

    def key(self) -> bytes | None:
        return self.key_bytes

    def headers(self) -> list[tuple[str, bytes | None]]:
        return self.header_pairs

    def topic(self) -> str:
        return self.topic_name

    def partition(self) -> int:
        return self.at_partition

    def offset(self) -> int:
        return 0

    def error(self) -> None:
        return None


@dataclass
class CapturingProducer:
    """Records what a transaction would write (a fake, for this pure-logic check)."""

    written: list[tuple[str, bytes]] = field(default_factory=list)

    def produce(self, topic: str, value: bytes, **kwargs: Any) -> None:
        self.written.append((topic, value))

    def poll(self, timeout: float = 0) -> int:
        return 0


HEADERS = st.lists(
    st.tuples(
        st.sampled_from([REPLY_PARTITION_HEADER, "traceparent", "x"]),
        st.one_of(
            st.none(), st.binary(max_size=24), st.integers(-5, 40).map(lambda i: str(i).encode())
        ),
    ),
    max_size=3,
)


Headers = list[tuple[str, bytes | None]]


def writer_handles_anything(
    new_writer: Callable[[], RecordHandler], input_topic: str
) -> Callable[[list[tuple[bytes, Headers]]], None]:
    """The property for one log writer, over a run of records: handle() never raises, what
    does not decode goes to the dead letters, and everything written decodes."""

    def check(case: list[tuple[bytes, Headers]]) -> None:
        writer = new_writer()
        for data, headers in case:
            handle_one(writer, input_topic, data, headers)

    return check


def handle_one(writer: RecordHandler, input_topic: str, data: bytes, headers: Headers) -> None:
    decoded = decoded_or_none(data)
    meta = getattr(decoded, "meta", None)
    key = getattr(meta, "conversation_id", None) or getattr(meta, "user_id", None)
    partition = partition_for(key, TOPICS.commands.partitions) if isinstance(key, str) else 0
    producer = CapturingProducer()
    out = TransactionOutput(producer)  # type: ignore[arg-type]
    record = FuzzRecord(data, None, headers, partition, input_topic)
    writer.handle(record, out)  # type: ignore[arg-type]
    writer.committed(out)
    for topic, value in producer.written:
        if topic != TOPICS.dead_letters.name:
            codec.decode(value)
    if decoded is None:
        assert any(topic == TOPICS.dead_letters.name for topic, _ in producer.written)


def decoded_or_none(data: bytes) -> AvroRecord | None:
    try:
        return codec.decode(data)
    except (MalformedRecordError, UnknownSchemaError):
        return None


class MemoryViewStore:
    """What a view's batch reads and writes of its store, in memory (a fake, for this
    pure-logic check: the batches and their `apply` are the real ones)."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)

    def scan(self, prefix: bytes, start: bytes | None = None) -> list[tuple[bytes, bytes]]:
        first = start or prefix
        return sorted((k, v) for k, v in self.data.items() if k.startswith(prefix) and k >= first)

    def write(self, changes: dict[bytes, bytes | None], positions: dict[int, int]) -> None:
        for key, value in changes.items():
            if value is None:
                self.data.pop(key, None)
            else:
                self.data[key] = value


def view_events(case: list[bytes]) -> Iterator[tuple[m.Event, bytes]]:
    """The events of `case` as a view's follower reads them: what `decode_event` refuses
    (it does not decode, or is no event) is parked, so left out here."""
    for data in case:
        record = FuzzRecord(data, None, [], 0, TOPICS.events.name)
        try:
            event = cast(m.Event, view_decode_event(record))  # type: ignore[arg-type]
        except UnusableRecordError:
            continue
        yield event, data


def views_apply_anything(case: list[bytes]) -> None:
    """The views' path for events-topic records (projections/follower.py `_process`): what
    `decode_event` refuses is parked, every event goes through `add_event` into each view's
    real batch, which applies it or names why it is unusable (parked too), never raises."""
    stores = {HistoryBatch: MemoryViewStore(), InboxBatch: MemoryViewStore()}
    for event, data in view_events(case):
        for new_batch, store in stores.items():
            batch = new_batch(cast(ViewStore, store))
            if add_event(batch, event, data) is None:
                batch.commit()


def search_applies_anything(case: list[bytes]) -> None:
    """The search view's path (the same follower as the other views) into a real tantivy
    index, fresh for each case: an event is applied or named unusable (parked), never
    raises; the batch commits."""
    index_dir = Path(tempfile.mkdtemp(prefix="parley-fuzz-search-"))
    try:
        store = SearchStore(index_dir, heap_bytes=SEARCH_HEAP_BYTES)
        batch = SearchBatch(store)
        for event, data in view_events(case):
            add_event(batch, event, data)
        batch.commit()
        store.close()
    finally:
        shutil.rmtree(index_dir, ignore_errors=True)


SEARCH_HEAP_BYTES = 15_000_000
"""tantivy's smallest writer heap: a case's index holds a few documents."""


def archive_writes_anything(topic: str) -> Callable[[list[bytes]], None]:
    """The archive writer's path for records of `topic` ("events" or "accounts"): each
    becomes a row of the topic's table (one marked malformed when it does not decode or
    flatten) and of the raw family, and both Parquet files are written, without raising."""

    def check(case: list[bytes]) -> None:
        spool = Path(tempfile.mkdtemp(prefix="parley-fuzz-archive-"))
        try:
            builder = ObjectBuilder(spool, "fuzz", LAYOUTS[topic])
            for offset, data in enumerate(case):
                builder.add(offset, 1_700_000_000_000 + offset, None, data)
            builder.finish()
        finally:
            shutil.rmtree(spool, ignore_errors=True)

    return check


def fanout_routes_anything(case: list[bytes]) -> None:
    """The fan-out's path for events-topic records (streams/fanout/processor.py `_route`):
    what `decode_event` refuses is parked; every event folds into memberships, is
    remembered and routed, without raising."""
    memberships = Memberships(MemoryStore())
    recent = RecentEvents()
    directory = SessionDirectory()
    for user in USERS:
        directory.update(user, 0, 2**40)
    for data in case:
        record = FuzzRecord(data, None, [], 0, TOPICS.events.name)
        try:
            event = fanout_decode_event(record)  # type: ignore[arg-type]
        except UnusableRecordError:
            continue
        audience = memberships.apply(event)
        meta = cast(m.Event, event).meta
        recent.add(meta.conversation_id, meta.seq, data, 0)
        directory.route(audience, 0)
    memberships.flush({0: len(case)})


def command_runs(prefix: str) -> st.SearchStrategy[list[tuple[bytes, Headers]]]:
    """Runs of one to eight command records (of the schemas named `prefix`...) with headers."""
    records = st.tuples(any_record_bytes(_fingerprints(prefix)), HEADERS)
    return st.lists(records, min_size=1, max_size=8)


def _fingerprints(prefix: str) -> list[str]:
    return sorted(fp for fp, (name, _) in writer_schemas().items() if name.startswith(prefix))


@dataclass(frozen=True)
class Target:
    name: str
    strategy: st.SearchStrategy[Any]
    check: Callable[[Any], None]


def targets() -> list[Target]:
    sequencer = writer_handles_anything(
        lambda: ConversationSequencer(
            bootstrap="unused",
            topics=TOPICS,
            state=SequencerState(MemoryStore()),
            group_id="fuzz-sequencer",
        ),
        TOPICS.commands.name,
    )
    accounts = writer_handles_anything(
        lambda: AccountRegistry(
            bootstrap="unused",
            topics=TOPICS,
            state=AccountState(MemoryStore()),
            group_id="fuzz-accounts",
        ),
        TOPICS.account_commands.name,
    )
    events = st.lists(any_record_bytes(_fingerprints("parley.event.")), min_size=1, max_size=8)
    return [
        Target("codec: arbitrary bytes", st.binary(max_size=512), decodes_or_documented_error),
        Target(
            "codec: a known header, any body", behind_known_header(), decodes_or_documented_error
        ),
        Target(
            "codec: every writer schema, corrupted",
            corrupted(valid_record()),
            decodes_or_documented_error,
        ),
        Target("sequencer: any run of command records", command_runs("parley.command."), sequencer),
        Target(
            "accounts: any run of command records",
            command_runs("parley.account.command."),
            accounts,
        ),
        Target("views: any run of events-topic records", events, views_apply_anything),
        Target(
            "search view: any run of events-topic records",
            events,
            search_applies_anything,
        ),
        Target("fan-out: any run of events-topic records", events, fanout_routes_anything),
        Target(
            "archive: any run of events-topic records", events, archive_writes_anything("events")
        ),
        Target(
            "archive: any run of accounts-topic records",
            st.lists(
                any_record_bytes(_fingerprints("parley.account.event.")), min_size=1, max_size=8
            ),
            archive_writes_anything("accounts"),
        ),
    ]


def run_target(target: Target, cases: int, *, raise_failure: bool = True) -> dict[str, Any]:
    """`cases` examples of `target`. A property that fails raises (with hypothesis's shrunk
    counter-example), or with `raise_failure=False` is reported in the result."""
    seen: Counter[str] = Counter()

    @settings(
        max_examples=cases,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(target.strategy)
    def prop(value: Any) -> None:
        seen["cases"] += 1
        target.check(value)

    began = time.perf_counter()
    failure: str | None = None
    try:
        prop()
    except Exception as e:
        if raise_failure:
            raise
        failure = "\n".join([f"{type(e).__name__}: {e}", *getattr(e, "__notes__", [])])
    return {
        "target": target.name,
        "cases": seen["cases"],
        "seconds": round(time.perf_counter() - began, 1),
        "failure": failure,
    }


def run(out_dir: Path, cases: int = BENCH_CASES, only: str = "") -> dict[str, Any]:
    """Every target (whose name holds one of the comma-separated `only`, when given) with
    `cases` examples; writes fuzz.json."""
    outcomes = []
    wanted = [w for w in only.split(",") if w]
    for target in targets():
        if wanted and not any(w in target.name for w in wanted):
            continue
        print(f"[fuzz] {target.name}: {cases} cases", flush=True)
        outcomes.append(run_target(target, cases, raise_failure=False))
        done = outcomes[-1]
        held = "FAILED: " + done["failure"] if done["failure"] else "holds"
        print(f"[fuzz] {done['cases']} cases in {done['seconds']} s: {held}", flush=True)
    summary = {"benchmark": "fuzz", "cases_per_target": cases, "targets": outcomes}
    results.write(summary, out_dir, "fuzz")
    return summary
