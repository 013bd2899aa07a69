"""The chaos suite's figures, from what its clients and view readers recorded: per fault, what
was lost or duplicated and how long until sends, pushes and each view were back.

Pure: bench/chaos.py runs the load and the faults and hands the records here. Definitions
(docs/operations.md repeats them):

- lost: a member device that never got a message the log holds (acknowledged, or seen by
  any device), counted once per (message, device), charged to the fault whose window the
  send started in; `lost_but_in_history` of them the history view still holds, so that a
  client could fetch them (the SDK steps over what a sync snapshot leaves out);
- duplicated: a (conversation, seq) yielded twice to one device, and a client_msg_id the
  log holds under more than one seq;
- sends back: from the kill to the first acknowledgement of a send begun after it;
- pushes back: from the kill to the first arrival of a message sent after it, on any
  device (first) and on every device that was owed one (all);
- view back: from the kill to the end of the last stretch in the window in which the view
  lacked a message written to the log over `STALE_S` earlier (0 when it never did). A
  message's log time is its event's occurred_at, as a device saw it (acknowledged or not);
  for one no device saw, its acknowledgement.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

STALE_S = 1.0


@dataclass(frozen=True)
class Send:
    mid: str
    conversation: str
    device: int
    started: float
    done: float | None
    seq: int | None
    errors: tuple[str, ...]
    """Every failed attempt's error code, in order (client-visible)."""
    outcome: str
    """"acked", "failed" (gave up at the deadline) or "refused" (an error not worth a retry)."""


@dataclass(frozen=True)
class Arrival:
    device: int
    conversation: str
    seq: int
    mid: str
    at: float
    written: float | None = None
    """When the sequencer wrote the event (its occurred_at)."""


@dataclass(frozen=True)
class Reconnect:
    device: int
    at: float


@dataclass(frozen=True)
class ViewSnapshot:
    at: float
    view: str
    last_seqs: dict[str, int]


@dataclass(frozen=True)
class Fault:
    process: str
    at: float
    restarted_at: float | None
    ready_at: float | None


@dataclass
class Records:
    sends: list[Send] = field(default_factory=list)
    arrivals: list[Arrival] = field(default_factory=list)
    reconnects: list[Reconnect] = field(default_factory=list)
    snapshots: list[ViewSnapshot] = field(default_factory=list)
    in_history: set[tuple[str, int]] | None = None
    """Every (conversation, seq) the history view held at the end, when it was read."""


@dataclass(frozen=True)
class World:
    """Who is in which conversation and which devices each person has."""

    members: dict[str, list[str]]
    devices_of: dict[str, list[int]]

    def audience(self, conversation: str) -> list[int]:
        return [d for user in self.members[conversation] for d in self.devices_of[user]]


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _after(moment: float | None, start: float) -> float | None:
    return None if moment is None else round(moment - start, 3)


class Ledger:
    """The records, indexed once for every fault's window."""

    def __init__(self, world: World, records: Records) -> None:
        self.world = world
        self.records = records
        self.received: dict[int, Counter[tuple[str, int]]] = defaultdict(Counter)
        self.seqs_of_mid: dict[str, set[tuple[str, int]]] = defaultdict(set)
        self.first_arrival: dict[tuple[str, int], float] = {}
        self.sent_at: dict[str, float] = {s.mid: s.started for s in records.sends}
        for arrival in records.arrivals:
            key = (arrival.conversation, arrival.seq)
            self.received[arrival.device][key] += 1
            self.seqs_of_mid[arrival.mid].add(key)
            self.first_arrival[key] = min(self.first_arrival.get(key, arrival.at), arrival.at)
        for send in records.sends:
            if send.seq is not None:
                self.seqs_of_mid[send.mid].add((send.conversation, send.seq))
        written: dict[tuple[str, int], float] = {}
        for send in records.sends:
            if send.seq is not None and send.done is not None:
                written[(send.conversation, send.seq)] = send.done
        for arrival in records.arrivals:  # unacknowledged messages the log holds count too
            if arrival.written is not None:
                key = (arrival.conversation, arrival.seq)
                written[key] = min(written.get(key, arrival.written), arrival.written)
        logged: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for (conversation, seq), at in written.items():
            logged[conversation].append((seq, at))
        # Per conversation: the acknowledged seqs ascending, and the earliest log time among
        # each seq and every later one (what a view lacking that seq has lacked since).
        self.logged_seqs: dict[str, list[int]] = {}
        self.lacking_since: dict[str, list[float]] = {}
        for conversation, pairs in logged.items():
            pairs.sort()
            self.logged_seqs[conversation] = [seq for seq, _ in pairs]
            earliest = list(accumulate(reversed([at for _, at in pairs]), min))
            self.lacking_since[conversation] = earliest[::-1]

    def in_log(self, send: Send) -> tuple[str, int] | None:
        """The (conversation, seq) the log holds the message at, if anyone saw it there."""
        if send.seq is not None:
            return (send.conversation, send.seq)
        seen = self.seqs_of_mid.get(send.mid)
        return min(seen) if seen else None

    def lost(self, sends: Iterable[Send]) -> dict[str, Any]:
        """(message, device) pairs owed and never yielded; of them, how many the history view
        still holds (a client can fetch them: the SDK steps over what a sync answer's
        snapshot leaves out), and examples."""
        count = fetchable = 0
        examples: list[dict[str, Any]] = []
        in_history = self.records.in_history
        for send in sends:
            key = self.in_log(send)
            if key is None:
                continue
            missing = [
                d for d in self.world.audience(send.conversation) if not self.received[d][key]
            ]
            count += len(missing)
            if in_history is not None and key in in_history:
                fetchable += len(missing)
            if missing and len(examples) < 5:
                examples.append({"mid": send.mid, "seq": key[1], "devices": missing[:5]})
        return {
            "lost": count,
            "lost_but_in_history": fetchable if in_history is not None else None,
            "lost_examples": examples,
        }

    def duplicated(self, sends: list[Send]) -> dict[str, int]:
        keys = {self.in_log(s) for s in sends} - {None}
        deliveries = sum(
            max(counts[k] - 1, 0) for counts in self.received.values() for k in keys if k
        )
        messages = sum(1 for s in sends if len(self.seqs_of_mid.get(s.mid, ())) > 1)
        return {"deliveries_by_conversation_seq": deliveries, "messages_by_client_msg_id": messages}

    def staleness(self, snapshot: ViewSnapshot) -> float:
        """How long ago the oldest acknowledged message the view lacks was written."""
        oldest = snapshot.at
        for conversation, seqs in self.logged_seqs.items():
            first_lacking = bisect_right(seqs, snapshot.last_seqs.get(conversation, 0))
            if first_lacking < len(seqs):
                oldest = min(oldest, self.lacking_since[conversation][first_lacking])
        return snapshot.at - oldest


def fault_figures(ledger: Ledger, fault: Fault, until: float) -> dict[str, Any]:
    """The figures of one fault, over its window [fault.at, until)."""
    records = ledger.records
    window = [s for s in records.sends if fault.at <= s.started < until]
    after = [s for s in window if s.outcome == "acked" and s.done is not None]
    sends_back = min((s.done for s in after if s.done is not None), default=None)
    latencies = [s.done - s.started for s in after if s.done is not None]
    arrivals = [a for a in records.arrivals if fault.at <= ledger.sent_at.get(a.mid, 0.0) < until]
    first_push = min((a.at for a in arrivals), default=None)
    per_device: dict[int, float] = {}
    for a in arrivals:
        per_device[a.device] = min(per_device.get(a.device, a.at), a.at)
    owed = {d for s in window for d in ledger.world.audience(s.conversation)}
    all_pushes = max(per_device.values(), default=None) if owed <= per_device.keys() else None
    errors = Counter(code for s in window for code in s.errors)
    return {
        "process": fault.process,
        "at": round(fault.at, 3),
        "restarted_after_s": _after(fault.restarted_at, fault.at),
        "ready_after_s": _after(fault.ready_at, fault.at),
        "window_s": round(until - fault.at, 1),
        "sent": len(window),
        "acked": len(after),
        **ledger.lost(window),
        "duplicated": ledger.duplicated(window),
        "sends_back_s": _after(sends_back, fault.at),
        "max_send_latency_s": _seconds(max(latencies, default=None)),
        "pushes_back_first_s": _after(first_push, fault.at),
        "pushes_back_all_s": _after(all_pushes, fault.at),
        "devices_never_pushed_to": len(owed - per_device.keys()),
        "views_back_s": {
            view: _seconds(view_back(ledger, view, fault.at, until))
            for view in sorted({s.view for s in records.snapshots})
        },
        "views_max_staleness_s": {
            view: _seconds(max_staleness(ledger, view, fault.at, until))
            for view in sorted({s.view for s in records.snapshots})
        },
        "client_errors": dict(errors),
        "sends_failed": sum(1 for s in window if s.outcome != "acked"),
        "reconnects": sum(1 for r in records.reconnects if fault.at <= r.at < until),
    }


def _window(ledger: Ledger, view: str, start: float, until: float) -> list[ViewSnapshot]:
    return [s for s in ledger.records.snapshots if s.view == view and start <= s.at < until]


def view_back(ledger: Ledger, view: str, start: float, until: float) -> float | None:
    """0 if the view never fell `STALE_S` behind in the window; None if it never came back."""
    snapshots = _window(ledger, view, start, until)
    stale = [s for s in snapshots if ledger.staleness(s) >= STALE_S]
    if not stale:
        return 0.0
    back = [s.at for s in snapshots if s.at > stale[-1].at]
    return back[0] - start if back else None


def max_staleness(ledger: Ledger, view: str, start: float, until: float) -> float | None:
    return max((ledger.staleness(s) for s in _window(ledger, view, start, until)), default=None)


def figures(world: World, records: Records, faults: list[Fault], ended: float) -> dict[str, Any]:
    """Per fault, and for the whole run."""
    ledger = Ledger(world, records)
    bounds = [f.at for f in faults[1:]] + [ended]
    per_fault = [fault_figures(ledger, f, until) for f, until in zip(faults, bounds, strict=True)]
    return {
        "faults": per_fault,
        "total": {
            "sent": len(records.sends),
            "acked": sum(1 for s in records.sends if s.outcome == "acked"),
            "deliveries": len(records.arrivals),
            **ledger.lost(records.sends),
            "duplicated": ledger.duplicated(records.sends),
            "sends_failed": sum(1 for s in records.sends if s.outcome != "acked"),
            "client_errors": dict(Counter(c for s in records.sends for c in s.errors)),
            "reconnects": len(records.reconnects),
        },
    }


@dataclass(frozen=True)
class Timeline:
    """What the plot shows, in seconds since the load began."""

    faults: list[tuple[float, str]]
    acked_per_s: list[tuple[float, int]]
    arrived_per_s: list[tuple[float, int]]
    send_latency: list[tuple[float, float]]
    staleness: dict[str, list[tuple[float, float]]]


def timeline(world: World, records: Records, faults: list[Fault], began: float) -> Timeline:
    ledger = Ledger(world, records)
    acked = Counter(int(s.done - began) for s in records.sends if s.done is not None)
    arrived = Counter(int(a.at - began) for a in records.arrivals)
    seconds = range(max([*acked, *arrived], default=0) + 1)
    staleness: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for snapshot in records.snapshots:
        staleness[snapshot.view].append((snapshot.at - began, ledger.staleness(snapshot)))
    return Timeline(
        faults=[(f.at - began, f.process) for f in faults],
        acked_per_s=[(t, acked[t]) for t in seconds],
        arrived_per_s=[(t, arrived[t]) for t in seconds],
        send_latency=[
            (s.started - began, s.done - s.started) for s in records.sends if s.done is not None
        ],
        staleness=dict(staleness),
    )
