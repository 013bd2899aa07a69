"""Several transactional loops in one process, each a *lane* that owns its share of the input
partitions, so that one partition waiting on Kafka does not hold up the others.

One loop used to run one transaction over every partition it owned: a batch mixing two
conversations commits only when every partition it writes can be written, so a broker that
died and led one of them stalled every conversation (issue 15, a three-broker cluster).
Each lane is a static member of the same consumer group, with a transactional id of its
own: the group shares the partitions out among the lanes of every instance (the range
assignor: with 8 partitions and 4 lanes, two each), and a lane's transactions touch only its
own partitions of the input and of the log. Lanes share nothing else but the process and
its store (each has its own state object over it, and the partitions, hence the keys, of
different lanes never meet).

What a lane's transaction still shares with the others: the outcomes partition of each edge
node whose commands it answers, the transaction coordinator of its id and the group
coordinator. docs/operations.md says what that means when a broker dies.

A lane that ends (a Kafka error, a bug) ends the process: the others are stopped and its
error raised, and kafkalog's worker policy restarts or exits the process as for one loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from kafkalog.worker import Worker

log = logging.getLogger("parley.lanes")
JOIN_S = 15.0
"""How long a stopping lane may take to finish its transaction before the process goes on
without it (its Kafka calls time out after 10 s)."""


def lane_id(stem: str, lane: int) -> str:
    """Lane 0 keeps the stem (a process of one lane is what it always was), lane k > 0 is
    `<stem>-lane<k>`: the static member id and transactional id of the lane."""
    return stem if lane == 0 else f"{stem}-lane{lane}"


class Lanes:
    """Runs every loop on a thread of its own until `stop()` or until one of them ends."""

    def __init__(self, loops: Sequence[Worker]) -> None:
        self.loops = list(loops)
        self.stopping = threading.Event()
        self.ended = threading.Event()
        self.failures: list[BaseException] = []
        self._lock = threading.Lock()

    def run(self) -> None:
        threads = [
            threading.Thread(target=self._run_lane, args=(k, loop), name=f"lane-{k}")
            for k, loop in enumerate(self.loops)
        ]
        for thread in threads:
            thread.start()
        while not self.ended.wait(0.5):  # a timed wait, so the main thread takes signals
            pass
        self.stop()
        for thread in threads:
            thread.join(JOIN_S)
        if self.failures:
            raise self.failures[0]
        if not self.stopping.is_set():
            raise RuntimeError("a lane ended without being asked to")

    def stop(self) -> None:
        self.stopping.set()
        for loop in self.loops:
            loop.stop()
        self.ended.set()

    def _run_lane(self, lane: int, loop: Worker) -> None:
        try:
            loop.run()
        except BaseException as e:
            log.error("lane %d failed: %s; stopping every lane", lane, e)
            with self._lock:
                self.failures.append(e)
        finally:
            self.ended.set()
