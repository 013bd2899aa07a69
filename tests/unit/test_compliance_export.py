"""An export's logic, over history in memory: as at an instant (through the history view's
projection), every version (legal hold), a person's conversations, the bodies' opener, the
files and their manifest, and an HTML transcript that keeps hostile text as text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from edge.compliance.bodies import Body, BodyOpener, EventT
from edge.compliance.export import ExportResult, ExportSpec, run_export
from edge.compliance.files import HTML, JSONL, MANIFEST, sha256_of
from edge.compliance.replay import ExportCancelledError
from edge.pages import HistoryPages
from edge.protocol.compliance import ExportEvent, ExportLine, Manifest
from projections.history.scratch import ScratchHistory
from schemas import codec
from schemas import models as m
from tests.compliance_story import Elements, ListSource, Story, export_spec, ms_after

LINES: TypeAdapter[Any] = TypeAdapter(ExportLine)
HOSTILE = "<script>alert(\"x\")</script><img src=x onerror=alert(1)> & 'quoted'"


def spec(
    subject: str, as_of_ms: int, *, mode: str = "as_of", kind: str = "conversation"
) -> ExportSpec:
    return export_spec(subject, as_of_ms, mode=mode, kind=kind)


def export(
    story: Story,
    work: Path,
    asked: ExportSpec,
    opener: BodyOpener | None = None,
    cancelled: bool = False,
) -> ExportResult:
    return run_export(
        asked,
        source=ListSource(story.records()),
        partitions=story.partitions,
        work_dir=work,
        opener=opener or BodyOpener(),
        report=lambda _: None,
        cancelled=lambda: cancelled,
        clock_ms=lambda: 1_800_000_000_000,
    )


def read_lines(result: ExportResult) -> list[Any]:
    text = (result.directory / JSONL).read_text()
    return [LINES.validate_json(line) for line in text.splitlines()]


def events_of(result: ExportResult, cid: str) -> dict[int, ExportEvent]:
    return {
        line.seq: line
        for line in read_lines(result)
        if isinstance(line, ExportEvent) and line.conversation_id == cid
    }


def chat() -> tuple[Story, dict[str, int]]:
    """alice and bob talk; a message is edited twice, one deleted for everyone, one hidden
    by bob for himself, one reacted to. `instants` names moments between the steps."""
    s = Story()
    instants: dict[str, int] = {}
    s.create("dm-ab", "alice", "bob")
    first = s.send("dm-ab", "alice", "hello bob")
    second = s.send("dm-ab", "bob", "hi alice")
    instants["before edits"] = ms_after(s)
    s.edit("dm-ab", "alice", first, "hello bob (edited once)")
    instants["after one edit"] = ms_after(s)
    s.edit("dm-ab", "alice", first, "hello bob (edited twice)")
    s.react("dm-ab", "bob", first, "👍")
    s.delete("dm-ab", "bob", second)
    instants["after the deletion"] = ms_after(s)
    third = s.send("dm-ab", "alice", "later")
    s.delete("dm-ab", "bob", third, for_everyone=False)
    instants["end"] = ms_after(s)
    s.create("dm-cd", "carol", "dave")
    s.send("dm-cd", "carol", "another conversation")
    return s, instants


def test_as_of_an_instant_edits_and_deletions_are_as_they_stood(tmp_path: Path) -> None:
    story, at = chat()
    before = events_of(export(story, tmp_path / "1", spec("dm-ab", at["before edits"])), "dm-ab")
    assert sorted(before) == [1, 2, 3]
    assert before[2].text is not None and before[2].text.text == "hello bob"
    assert before[2].view.edited is None

    once = events_of(export(story, tmp_path / "2", spec("dm-ab", at["after one edit"])), "dm-ab")
    assert once[2].view.edited is not None and once[2].view.edited.seq == 4
    assert once[2].edit_text is not None and once[2].edit_text.text == "hello bob (edited once)"
    assert once[4].text is not None and once[4].text.text == "hello bob (edited once)"

    later = events_of(
        export(story, tmp_path / "3", spec("dm-ab", at["after the deletion"])), "dm-ab"
    )
    assert 3 not in later, "a message deleted for everyone is gone from the view"
    assert later[7].view.type == "MessageDeleted"
    assert later[2].edit_text is not None
    assert later[2].edit_text.text == "hello bob (edited twice)"
    assert later[2].view.reactions == {"👍": ["bob"]}


def test_an_export_as_of_an_instant_is_the_history_view_then(tmp_path: Path) -> None:
    """The replay goes through the view's own projection and page rendering: a page read
    from a view fed the same events renders the same items (deletions "for me" aside,
    which a member sees as placeholders)."""
    story, at = chat()
    instant = at["end"]
    result = export(story, tmp_path / "x", spec("dm-ab", instant))
    exported = {seq: line.view for seq, line in events_of(result, "dm-ab").items()}
    with ScratchHistory(tmp_path / "view") as view:
        for event in story.events:
            if int(event.meta.occurred_at.timestamp() * 1000) <= instant:
                view.add(event, codec.encode(event))
        reader = view.reader()
        page = HistoryPages(reader, _NoInbox()).page(
            "alice", "dm-ab", before=None, after=0, limit=50
        )
    shown = {item.seq: item for item in page.events}
    assert set(shown) == set(exported)
    differing = {seq for seq in shown if shown[seq] != exported[seq]}
    assert differing == {9}, "only bob's deletion for himself, a placeholder for alice"
    assert shown[9].type == "Hidden" and exported[9].type == "MessageDeleted"


def test_legal_hold_keeps_every_version_of_every_message(tmp_path: Path) -> None:
    story, at = chat()
    result = export(story, tmp_path, spec("dm-ab", at["end"], mode="legal_hold"))
    found = events_of(result, "dm-ab")
    assert sorted(found) == list(range(1, 10))
    texts = [line.text.text for _, line in sorted(found.items()) if line.text is not None]
    assert texts == [
        "hello bob",
        "hi alice",
        "hello bob (edited once)",
        "hello bob (edited twice)",
        "later",
    ]
    assert found[3].view.type == "MessageSent", "the deleted message is still held"
    assert all(line.view.edited is None and line.edit_text is None for line in found.values())


def test_a_persons_export_has_the_conversations_they_were_in_by_then(tmp_path: Path) -> None:
    story, at = chat()
    story.add_member("dm-cd", "carol", "alice")
    joined = ms_after(story)
    story.send("dm-cd", "dave", "after alice joined")
    before = read_lines(export(story, tmp_path / "1", spec("alice", at["end"], kind="user")))
    assert [x.conversation_id for x in before if x.type == "conversation"] == ["dm-ab"]
    after = read_lines(export(story, tmp_path / "2", spec("alice", joined, kind="user")))
    assert [x.conversation_id for x in after if x.type == "conversation"] == ["dm-ab", "dm-cd"]
    cd = [x for x in after if x.type == "event" and x.conversation_id == "dm-cd"]
    assert [x.seq for x in cd] == [1, 2, 3], "all of it, from before she joined, to the instant"
    assert after[-1].type == "end" and after[-1].conversations == 2


class SealedByKey:
    """A key store shaped as the crypto part's opener: some keys exist, one was destroyed."""

    def __init__(self) -> None:
        self.places: list[tuple[str, str]] = []

    def text(self, body: Body, conversation_id: str, sender: str) -> str | None:
        assert isinstance(body, m.SealedBody), "only sealed bodies reach the key store"
        self.places.append((conversation_id, sender))
        if body.key_id == "erased-key":
            return None
        return body.ciphertext.decode()[::-1]

    def event(self, event: EventT) -> EventT:
        return event


def test_every_body_goes_through_the_one_opener(tmp_path: Path) -> None:
    s = Story()
    s.create("dm-ab", "alice", "bob")
    s.send("dm-ab", "alice", "plain words")
    e2ee = m.EncryptedBody(
        scheme=m.E2EEScheme.OLM_V1, sender_key="k", session_id="s", ciphertext=b"\x01"
    )
    s.send_body("dm-ab", "bob", e2ee)
    sealed = m.SealedBody(
        key_id="alice-key", algorithm="AES-256-GCM", nonce=b"n", ciphertext=b"terces"
    )
    s.send_body("dm-ab", "alice", sealed)
    s.send_body("dm-ab", "alice", sealed.model_copy(update={"key_id": "erased-key"}))
    instant = ms_after(s)

    def statuses(opener: BodyOpener | None, work: Path) -> list[tuple[str, str]]:
        found = events_of(export(s, work, spec("dm-ab", instant), opener), "dm-ab")
        return [(x.text.status, x.text.text) for _, x in sorted(found.items()) if x.text]

    assert statuses(None, tmp_path / "1") == [
        ("plain", "plain words"),
        ("e2ee", "[end-to-end encrypted]"),
        ("sealed", "[sealed: no key store]"),
        ("sealed", "[sealed: no key store]"),
    ]
    keys = SealedByKey()
    assert statuses(BodyOpener(sealed=keys), tmp_path / "2") == [
        ("plain", "plain words"),
        ("e2ee", "[end-to-end encrypted]"),
        ("opened", "secret"),
        ("erased", "[erased]"),
    ]
    assert keys.places == [("dm-ab", "alice"), ("dm-ab", "alice")]


def test_the_manifest_names_each_file_with_its_digest(tmp_path: Path) -> None:
    story, at = chat()
    result = export(story, tmp_path, spec("dm-ab", at["end"]))
    assert [f.name for f in result.files] == [JSONL, HTML, MANIFEST]
    manifest = Manifest.model_validate_json((result.directory / MANIFEST).read_text())
    assert [f.name for f in manifest.files] == [JSONL, HTML]
    for listed in [*manifest.files, result.files[-1]]:
        path = result.directory / listed.name
        assert listed.sha256 == sha256_of(path)
        assert listed.size_bytes == path.stat().st_size
    assert not (tmp_path / "scratch").exists(), "the scratch view is gone"


def test_the_transcript_keeps_hostile_text_as_text(tmp_path: Path) -> None:
    s = Story()
    s.create("g-1", "alice", "bob", name=HOSTILE)
    sent = s.send("g-1", "alice", HOSTILE)
    s.edit("g-1", "alice", sent, HOSTILE + " again")
    s.react("g-1", "bob", sent, "<b>")
    result = export(s, tmp_path, spec("g-1", ms_after(s)))
    page = (result.directory / HTML).read_text()
    elements = Elements()
    elements.feed(page)
    assert "script" not in elements.tags and "img" not in elements.tags and "b" not in elements.tags
    assert HOSTILE in "".join(elements.text), "shown to the officer as the text it was"
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def test_cancelling_stops_an_export_and_leaves_no_scratch(tmp_path: Path) -> None:
    s = Story()
    s.create("dm-ab", "alice", "bob")
    for i in range(5000):
        s.send("dm-ab", "alice", f"message {i}")
    with pytest.raises(ExportCancelledError):
        export(s, tmp_path, spec("dm-ab", ms_after(s)), cancelled=True)
    assert not (tmp_path / "scratch").exists()


def test_an_export_line_names_no_more_than_the_view_shows(tmp_path: Path) -> None:
    """Each line parses as its protocol model, with nothing left over (the lines are the
    published format of docs/protocol.md)."""
    story, at = chat()
    result = export(story, tmp_path, spec("dm-ab", at["end"]))
    for raw in (result.directory / JSONL).read_text().splitlines():
        parsed = LINES.validate_json(raw)
        assert json.loads(parsed.model_dump_json()) == json.loads(raw)


class _NoInbox:
    def entries(self, user_id: str) -> list[Any]:
        return []

    def activity(self, user_id: str) -> list[tuple[str, int]]:
        return []

    def entry(self, user_id: str, conversation_id: str) -> Any:
        return None

    def refresh(self) -> None:
        return None
