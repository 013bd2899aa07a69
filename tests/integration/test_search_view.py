"""The search view follows the real sequencer's log through the shared view loop: kill -9
while it commits batches loses and duplicates no document, and a rebuild from the log holds
exactly the documents of the live index."""

from __future__ import annotations

import threading
from pathlib import Path

from projections.search.documents import dump
from projections.search.layout import LAST_SEQ
from projections.search.query import SearchReader
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
from tests.integration.view_process import SearchProcess

CONVERSATIONS = 8
PER_CONVERSATION = 150


class Script:
    """Per conversation: alice sends every message; every 10th is edited later, every 25th
    deleted for everyone, one in 30 is end-to-end encrypted (never indexed). Planned with the
    seq the sequencer will give each command, so the index's final documents are known:
    conversation, seq -> text."""

    def __init__(self) -> None:
        self.cids = [f"s{i}" for i in range(CONVERSATIONS)]
        self.seq = dict.fromkeys(self.cids, 1)
        self.expected: dict[tuple[str, int], str] = {}
        self.creations = [create_conversation(cid, "alice", "bob") for cid in self.cids]
        self.steps = [self._step(i) for i in range(PER_CONVERSATION)]

    def _step(self, i: int) -> list[object]:
        commands: list[object] = []
        for cid in self.cids:
            text = f"{cid} message {i} word{i % 7}"
            meta = command_meta(cid, "alice", client_msg_id=f"{cid}-m{i}")
            body: m.PlainBody | m.EncryptedBody = m.PlainBody(text=text)
            if i % 30 == 29:
                body = m.EncryptedBody(
                    scheme=m.E2EEScheme.MEGOLM_V1, sender_key="k", session_id="s", ciphertext=b"x"
                )
            commands.append(m.SendMessage(meta=meta, body=body))
            self.seq[cid] += 1
            if isinstance(body, m.PlainBody):
                self.expected[cid, self.seq[cid]] = text
            if i % 10 == 9:  # edit the message of five steps ago
                target = self.seq[cid] - 5 * (1 + (i % 25 == 24))
                if (cid, target) in self.expected:
                    edited = f"{cid} edited {i}"
                    meta = command_meta(cid, "alice", client_msg_id=f"{cid}-e{i}")
                    commands.append(
                        m.EditMessage(meta=meta, target_seq=target, body=m.PlainBody(text=edited))
                    )
                    self.expected[cid, target] = edited
                    self.seq[cid] += 1
            if i % 25 == 24:
                target = self.seq[cid]
                meta = command_meta(cid, "alice", client_msg_id=f"{cid}-d{i}")
                commands.append(
                    m.DeleteMessage(meta=meta, target_seq=target, scope=m.DeleteScope.FOR_EVERYONE)
                )
                self.expected.pop((cid, target), None)
                self.seq[cid] += 1
        return commands

    def total(self) -> int:
        return sum(self.seq.values())

    def send(self, out: CommandProducer) -> None:
        send_paced(out, self.creations, self.steps)


def applied(reader: SearchReader, script: Script) -> int:
    """The seqs the index has applied, summed over the conversations (its last-seq records)."""
    _, records = dump(reader.searcher())
    return sum(records.get(f"{LAST_SEQ}{cid}", 0) for cid in script.cids)


def test_kill_9_mid_batch_loses_and_duplicates_no_document_and_equals_a_rebuild(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics = fresh_topics(partitions=4)
    sequencer = SequencerProcess(topics, tmp_path / "sequencer")
    live, restarted, rebuilt = SearchProcess.runs(topics, tmp_path)
    for process in (live, restarted, rebuilt):
        process.env["PARLEY_MAX_BATCH"] = "200"  # many commits, so the kill lands in one
    script = Script()
    total = script.total()
    streaming = threading.Thread(target=script.send, args=(CommandProducer(topics),))
    sequencer.start()
    live.start()
    try:
        reader = live.reader(tmp_path / "unused")
        streaming.start()
        wait_until(lambda: applied(reader, script) > total // 4, 90, "a quarter of the events")
        live.kill()
        killed_at = applied(reader, script)
        restarted.start()
        streaming.join()
        wait_until(lambda: applied(reader, script) == total, 120, "every event after the restart")
        wait_until(reader.ready, 30, "the restarted view to say it is ready")
        restarted.stop()
        after_crash = restarted.dump()
        with rebuilt.rebuilt(tmp_path / "unused") as fresh:
            assert applied(fresh, script) == total
        after_rebuild = rebuilt.dump()
    finally:
        if streaming.is_alive():
            streaming.join()
        for process in (live, restarted, rebuilt):
            process.stop()
        sequencer.stop()

    assert 0 < killed_at < total, "the kill happened while the view applied the stream"
    documents, _ = after_crash
    assert {(d.conversation_id, d.seq): d.text for d in documents} == script.expected
    assert len(documents) == len(script.expected), "a document held twice"
    assert after_rebuild == after_crash
    for process in (live, restarted, rebuilt):
        assert "Traceback" not in process.log()
    assert "ready" in rebuilt.log()
