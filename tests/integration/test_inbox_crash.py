"""kill -9 of the inbox view while it applies a stream of messages and reads: after the
restart every unread count is exact (none lost, none doubled), and the view equals one
rebuilt from the log."""

from __future__ import annotations

import threading
from pathlib import Path

from projections.inbox.query import InboxReader
from schemas import models as m
from tests.integration.log import (
    CommandProducer,
    command_meta,
    create_conversation,
    fresh_topics,
    send_paced,
)
from tests.integration.processes import wait_until
from tests.integration.sequencer_process import SequencerProcess
from tests.integration.view_process import InboxProcess, unread

CONVERSATIONS = 10
PER_CONVERSATION = 200
PEOPLE = ("alice", "bob")


class Script:
    """Per conversation: alice sends every message but one in 40, bob those; alice reads
    at a quarter, bob at three quarters. Planned up front, with the seq the sequencer will
    give each command, so that the expected counts are known before anything runs."""

    def __init__(self) -> None:
        self.cids = [f"s{i}" for i in range(CONVERSATIONS)]
        self.seq = dict.fromkeys(self.cids, 1)
        self.senders: dict[str, dict[int, str]] = {cid: {} for cid in self.cids}
        self.read = {(cid, p): 0 for cid in self.cids for p in PEOPLE}
        self.creations = [create_conversation(cid, "alice", "bob") for cid in self.cids]
        self.steps = [self._step(i) for i in range(PER_CONVERSATION)]

    def _step(self, i: int) -> list[object]:
        commands: list[object] = []
        for cid in self.cids:
            sender = "bob" if i % 40 == 20 else "alice"
            meta = command_meta(cid, sender, client_msg_id=f"{cid}-m{i}")
            commands.append(m.SendMessage(meta=meta, body=m.PlainBody(text=f"message {i}")))
            self.seq[cid] += 1
            self.senders[cid][self.seq[cid]] = sender
            reader = {PER_CONVERSATION // 4: "alice", 3 * PER_CONVERSATION // 4: "bob"}.get(i)
            if reader is not None:
                meta = command_meta(cid, reader, client_msg_id=f"{cid}-r{i}")
                commands.append(m.MarkRead(meta=meta, up_to_seq=self.seq[cid]))
                self.read[cid, reader] = self.seq[cid]
                self.seq[cid] += 1
        return commands

    def total(self) -> int:
        return sum(self.seq.values())

    def expected(self) -> dict[tuple[str, str], int]:
        return {
            (cid, person): sum(
                seq > self.read[cid, person] and sender != person
                for seq, sender in self.senders[cid].items()
            )
            for cid in self.cids
            for person in PEOPLE
        }

    def send(self, out: CommandProducer) -> None:
        send_paced(out, self.creations, self.steps)


def unread_counts(reader: InboxReader, script: Script) -> dict[tuple[str, str], int | None]:
    return {(cid, p): unread(reader, p, cid) for cid in script.cids for p in PEOPLE}


def test_kill_9_mid_batch_loses_and_doubles_no_unread_count_and_equals_a_rebuild(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics = fresh_topics(partitions=4)
    sequencer = SequencerProcess(topics, tmp_path / "sequencer")
    live, restarted, rebuilt = InboxProcess.runs(topics, tmp_path)
    script = Script()
    expected, total = script.expected(), script.total()
    assert 0 < expected["s0", "alice"] < expected["s0", "bob"], "a non-trivial count each"
    streaming = threading.Thread(target=script.send, args=(CommandProducer(topics),))
    sequencer.start()
    live.start()
    reader = live.reader(tmp_path / "reader")

    def applied(view: InboxReader) -> int:
        return sum(view.last_seq(cid) for cid in script.cids)

    try:
        streaming.start()
        wait_until(lambda: applied(reader) > total // 4, 90, "a quarter of the events")
        live.kill()
        killed_at = applied(reader)
        restarted.start()
        streaming.join()
        wait_until(lambda: applied(reader) == total, 120, "every event after the restart")
        wait_until(reader.ready, 30, "the restarted view to say it is ready")
        after_restart = unread_counts(reader, script)
        reader.close()
        restarted.stop()
        after_crash = restarted.dump()
        with rebuilt.rebuilt(tmp_path / "rebuilt-reader") as fresh:
            assert applied(fresh) == total
            after_rebuild = unread_counts(fresh, script)
    finally:
        reader.close()
        streaming.join()
        for process in (live, restarted, rebuilt):
            process.stop()
        sequencer.stop()

    assert killed_at < total, "the kill happened before the view had applied the stream"
    assert after_restart == expected
    assert after_rebuild == expected
    assert rebuilt.dump() == after_crash
    for process in (live, restarted, rebuilt):
        assert "Traceback" not in process.log()
