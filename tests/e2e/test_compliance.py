"""Compliance end to end, with every process, two edge nodes, the real broker and S3 server:
the role granted and revoked only by the operator's command, everyone else refused, every
action audited (and the audit still there after an edge restarts), an export at an instant
equal to what the history view showed then, a legal hold with every version, the manifest's
digests, a transcript that keeps `<script>` as text, and the officers' command line."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from confluent_kafka import Consumer, TopicPartition
from pydantic import TypeAdapter

from edge.protocol.answers import ConversationEvent
from edge.protocol.compliance import ExportEvent, ExportLine, ExportStatus, Manifest
from kafkalog.presets import REPLAY, private_reader
from tests.compliance_story import Elements
from tests.e2e.cluster import ParleyCluster, eventually, register_and_login
from tests.e2e.officers import all_entries, call, officer, operator
from tests.e2e.people import Person, close_all, create, person
from tests.e2e.ws import RawDevice, send_frame
from tests.integration.log import BOOTSTRAP

LINES: TypeAdapter[Any] = TypeAdapter(ExportLine)
SCRIPT = "<script>alert('owned')</script>"
EXPORT_DEADLINE_S = 120.0


async def finished(
    http: aiohttp.ClientSession, base: str, token: str, export_id: str
) -> ExportStatus:
    found: list[ExportStatus] = []

    async def done() -> bool:
        status, body = await call(http, "GET", f"{base}/v1/compliance/exports/{export_id}", token)
        assert status == 200, body
        found.append(ExportStatus.model_validate(body))
        return found[-1].state != "running"

    await eventually(done, f"export {export_id} to finish", EXPORT_DEADLINE_S)
    assert found[-1].state == "succeeded", found[-1].error
    return found[-1]


async def downloaded(http: aiohttp.ClientSession, status: ExportStatus) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for file in status.files:
        assert file.url is not None
        async with http.get(file.url) as response:
            assert response.status == 200
            assert "attachment" in response.headers.get("Content-Disposition", "")
            files[file.name] = await response.read()
        assert hashlib.sha256(files[file.name]).hexdigest() == file.sha256
    manifest = Manifest.model_validate_json(files["manifest.json"])
    for listed in manifest.files:
        assert hashlib.sha256(files[listed.name]).hexdigest() == listed.sha256
        assert len(files[listed.name]) == listed.size_bytes
    return files


async def export(
    http: aiohttp.ClientSession,
    cluster: ParleyCluster,
    token: str,
    body: dict[str, Any],
    node: int = 0,
) -> tuple[ExportStatus, dict[str, bytes]]:
    status, answer = await call(
        http, "POST", f"{cluster.url(node)}/v1/compliance/exports", token, body
    )
    assert status == 202, answer
    export_id = answer["export_id"]
    # Any node answers for an export, whichever runs it.
    done = await finished(http, cluster.url(1 - node), token, export_id)
    return done, await downloaded(http, done)


def exported_views(files: dict[str, bytes], cid: str) -> dict[int, ExportEvent]:
    lines = [LINES.validate_json(raw) for raw in files["export.jsonl"].splitlines()]
    return {x.seq: x for x in lines if isinstance(x, ExportEvent) and x.conversation_id == cid}


async def history(device: RawDevice, cid: str, at_least: int) -> dict[int, Any]:
    """The conversation as the device's history shows it, once it holds seq `at_least`."""
    shown: dict[int, Any] = {}

    async def holds() -> bool:
        answer = await device.request(
            {"type": "fetch_history", "conversation_id": cid, "after": 0, "limit": 200}
        )
        shown.clear()
        shown.update({e["seq"]: e for e in answer["result"]["events"]})
        return max(shown, default=0) >= at_least

    await eventually(holds, f"history of {cid} to reach {at_least}", 30)
    return shown


def edit_frame(cid: str, seq: int, text: str) -> dict[str, Any]:
    return {
        "type": "edit",
        "conversation_id": cid,
        "seq": seq,
        "body": {"kind": "plain", "text": text},
    }


async def direct_chat(
    http: aiohttp.ClientSession, cluster: ParleyCluster
) -> tuple[Person, Person, str]:
    """ann and bob, each with a device, and their direct conversation."""
    ann = await person(http, cluster, "ann")
    bob = await person(http, cluster, "bob")
    return ann, bob, (await create(http, cluster, ann, "direct", [bob]))["conversation_id"]


def now_ms() -> int:
    return int(time.time() * 1000)


def endpoints(base: str, case: str, export_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every compliance route, as a caller under `case` would call it."""
    redaction = {"case_ref": case, "conversation_id": "dm-x", "seq": 1, "reason": "court order"}
    return [
        ("GET", f"{base}/v1/compliance/audit?case={case}", None),
        ("POST", f"{base}/v1/compliance/exports", {"case": case, "conversation_id": "dm-x"}),
        ("GET", f"{base}/v1/compliance/exports/{export_id}", None),
        ("POST", f"{base}/v1/compliance/erasures", {"case_ref": case, "user_id": "nobody"}),
        ("POST", f"{base}/v1/compliance/redactions", redaction),
        ("PUT", f"{base}/v1/compliance/retention/dm-x", {"case_ref": case, "keep_days": 30}),
    ]


async def test_strangers_users_and_revoked_devices_are_refused_everywhere(
    cluster: ParleyCluster,
) -> None:
    case = f"CASE-{uuid.uuid4().hex[:8]}"
    async with aiohttp.ClientSession() as http:
        base = cluster.url(0)
        name, token = await officer(http, cluster, case)
        ann = await register_and_login(http, base, f"ann{uuid.uuid4().hex[:6]}")
        other_officer, other_token = await officer(http, cluster, f"{case}-other")
        spare = await register_and_login(http, base, name, "phone")
        status, _ = await call(http, "DELETE", f"{base}/v1/devices/{spare['device_id']}", token)
        assert status == 204
        status, started = await call(
            http, "POST", f"{base}/v1/compliance/exports", token, {"case": case, "user_id": "x"}
        )
        assert status == 202, started
        for node in range(len(cluster.ports)):
            for method, url, body in endpoints(cluster.url(node), case, started["export_id"]):
                assert (await call(http, method, url, None, body))[0] == 401, url
                forged = "d-" + "0" * 32 + ".x"
                assert (await call(http, method, url, forged, body))[0] == 401, url

                async def revoked(m: str = method, u: str = url, b: Any = body) -> bool:
                    return (await call(http, m, u, spare["token"], b))[0] == 401

                await eventually(revoked, "the revoked device to be refused", 30)
                for caller in (ann["token"], other_token):
                    status, answer = await call(http, method, url, caller, body)
                    assert (status, answer["error"]["code"]) == (403, "forbidden"), url
        # The officer of the case gets through, on both nodes.
        for node in range(len(cluster.ports)):
            status, _ = await call(
                http, "GET", f"{cluster.url(node)}/v1/compliance/audit?case={case}", token
            )
            assert status == 200
        # Refusals of signed-in callers are audited (who tried what); anonymous ones are not.
        entries = await all_entries(http, base, token, case)
        refusals = {(e["officer"], e["action"]) for e in entries if e.get("outcome") == "refused"}
        actions = (
            "audit.read",
            "export.create",
            "erasure.create",
            "redaction.create",
            "retention.set",
        )
        assert {(who, a) for who in (ann["user_id"], other_officer) for a in actions} <= refusals
        assert {who for who, _ in refusals} == {ann["user_id"], other_officer}


async def test_the_role_is_granted_and_revoked_only_by_the_operators_command(
    cluster: ParleyCluster,
) -> None:
    case = f"CASE-{uuid.uuid4().hex[:8]}"
    async with aiohttp.ClientSession() as http:
        base = cluster.url(0)
        _, token = await officer(http, cluster, case)  # who reads the audit at the end
        name = f"olga{uuid.uuid4().hex[:6]}"
        olga = await register_and_login(http, base, name, "laptop")
        audit_url = f"{base}/v1/compliance/audit?case={case}"
        assert (await call(http, "GET", audit_url, olga["token"]))[0] == 403

        # No user API grants the role: no route of the document names one.
        async with http.get(f"{base}/openapi.json") as response:
            paths = (await response.json())["paths"]
        assert [p for p in paths if "grant" in p or "role" in p] == []

        granted = operator(cluster, "grant-compliance", name, "--case", case)
        assert granted.returncode == 0, granted.stderr
        again = operator(cluster, "grant-compliance", name, "--case", case)
        assert "nothing to change" in again.stdout

        async def olga_answered(status: int) -> bool:
            for node in range(len(cluster.ports)):
                url = f"{cluster.url(node)}/v1/compliance/audit?case={case}"
                if (await call(http, "GET", url, olga["token"]))[0] != status:
                    return False
            return True

        await eventually(lambda: olga_answered(200), "the grant to reach every edge", 30)
        assert (await call(http, "GET", f"{audit_url}-other", olga["token"]))[0] == 403

        for invalid in ("", "a b", "x" * 65, "<b>"):
            refused = operator(cluster, "grant-compliance", name, f"--case={invalid}")
            assert refused.returncode == 1, invalid
        assert operator(cluster, "grant-compliance", "nobody-here", "--case", case).returncode == 1

        revoked = operator(cluster, "revoke-compliance", name, "--case", case)
        assert revoked.returncode == 0 and "revoked" in revoked.stdout, revoked.stderr
        await eventually(lambda: olga_answered(403), "the revocation to reach every edge", 30)

        # The audit holds the operator's grants and revocation, each begun then ended.
        entries = await all_entries(http, base, token, case, target=f"user:{name}")
        assert [(e["action"], e["phase"], e.get("outcome"), e.get("detail")) for e in entries] == [
            ("role.grant", "started", None, None),
            ("role.grant", "ended", "succeeded", "changed"),
            ("role.grant", "started", None, None),
            ("role.grant", "ended", "succeeded", "unchanged"),
            ("role.revoke", "started", None, None),
            ("role.revoke", "ended", "succeeded", "changed"),
        ]
        assert all(e["officer"].startswith("operator:") for e in entries)


async def test_an_export_at_an_instant_is_what_the_history_view_showed_then(
    cluster: ParleyCluster,
) -> None:
    case = f"CASE-{uuid.uuid4().hex[:8]}"
    async with aiohttp.ClientSession() as http:
        _, token = await officer(http, cluster, case)
        ann, bob, cid = await direct_chat(http, cluster)
        a, b = ann.devices[0], bob.devices[0]
        snapshots: list[tuple[int, int, dict[int, Any]]] = []

        async def do(frame: dict[str, Any]) -> int:
            answer = await a.request(frame)
            assert answer["type"] == "response", answer
            seq: int = answer["result"]["seq"]
            return seq

        async def snapshot(seq: int) -> None:
            shown = await history(b, cid, seq)
            snapshots.append((now_ms(), seq, shown))

        first = await do(send_frame(cid, "first words", "m1"))
        second = await do(send_frame(cid, SCRIPT, "m2"))
        await snapshot(second)
        edited = await do(edit_frame(cid, first, "first words, edited"))
        await snapshot(edited)
        reacted = await b.request(
            {"type": "react", "conversation_id": cid, "seq": first, "emoji": "🎉"}
        )
        deleted = await do(
            {"type": "delete", "conversation_id": cid, "seq": second, "scope": "for_everyone"}
        )
        await snapshot(max(deleted, reacted["result"]["seq"]))
        last = await do(edit_frame(cid, first, "first words, edited twice"))
        await snapshot(last)

        for index, (instant, seq, shown) in enumerate(snapshots):
            done, files = await export(
                http,
                cluster,
                token,
                {"case": case, "conversation_id": cid, "as_of_ms": instant},
                node=index % 2,
            )
            views = exported_views(files, cid)
            assert max(views) == seq, f"the export at snapshot {index} ends where the view did"
            assert {s: v.view for s, v in views.items()} == {
                s: ConversationEvent.model_validate(e) for s, e in shown.items()
            }, f"snapshot {index}"
            assert done.progress.percent == 100.0

        # The instants were honest: each snapshot came before the next event happened.
        for (instant, seq, _), (_, _, later) in itertools.pairwise(snapshots):
            assert later[seq + 1]["event"]["occurred_at_ms"] > instant

        # Legal hold: every version of every message, the deleted one too.
        _, files = await export(
            http, cluster, token, {"case": case, "conversation_id": cid, "mode": "legal_hold"}
        )
        texts = [v.text.text for _, v in sorted(exported_views(files, cid).items()) if v.text]
        assert texts == [
            "first words",
            SCRIPT,
            "first words, edited",
            "first words, edited twice",
        ]

        # The transcript keeps the script as text.
        page = files["transcript.html"].decode()
        elements = Elements()
        elements.feed(page)
        assert "script" not in elements.tags
        assert SCRIPT in "".join(elements.text)

        # A person's export: every conversation ann was in.
        _, files = await export(http, cluster, token, {"case": case, "user_id": ann.name})
        lines = [LINES.validate_json(raw) for raw in files["export.jsonl"].splitlines()]
        assert [x.conversation_id for x in lines if x.type == "conversation"] == [cid]
        await close_all(ann, bob)


async def test_every_action_is_audited_and_the_audit_survives_an_edge_restart(
    cluster: ParleyCluster,
) -> None:
    case = f"CASE-{uuid.uuid4().hex[:8]}"
    canary = f"canary-{uuid.uuid4().hex}"
    async with aiohttp.ClientSession() as http:
        name, token = await officer(http, cluster, case)
        ann, bob, cid = await direct_chat(http, cluster)
        answer = await ann.devices[0].request(send_frame(cid, canary, "c1"))
        await history(bob.devices[0], cid, answer["result"]["seq"])
        done, _ = await export(http, cluster, token, {"case": case, "conversation_id": cid})
        before = await all_entries(http, cluster.url(0), token, case, officer=name)

        def actions(entries: list[dict[str, Any]]) -> dict[str, list[tuple[str, str | None]]]:
            paired: dict[str, list[tuple[str, str | None]]] = {}
            for e in entries:
                paired.setdefault(e["action_id"], []).append((e["phase"], e.get("outcome")))
            return paired

        export_entries = [e for e in before if e["action"] == "export.create"]
        assert [(e["phase"], e.get("outcome")) for e in export_entries] == [
            ("started", None),
            ("ended", "succeeded"),
        ]
        ended = export_entries[-1]
        assert ended["target"] == f"conversation:{cid}"
        assert f"manifest_sha256={done.files[-1].sha256}" in ended["detail"]
        reading = before[-1]  # the read that fetched this page: begun, not yet ended
        assert (reading["action"], reading["phase"]) == ("audit.read", "started")
        paired = actions(before[:-1])
        assert paired and all(
            pair == [("started", None), ("ended", "succeeded")] for pair in paired.values()
        ), "each action: its start, then its outcome"
        statuses = [e for e in before if e["action"] == "export.status" and e["phase"] == "ended"]
        assert statuses and statuses[-1]["detail"] == "state=succeeded links"

        cluster.stop_process("edge-0")
        cluster.start_edge(0)

        async def restarted() -> bool:
            status, _ = await call(
                http, "GET", f"{cluster.url(0)}/v1/compliance/audit?case={case}", token
            )
            return status == 200

        await eventually(restarted, "edge 0 to serve again", 60)
        after = await all_entries(http, cluster.url(0), token, case, officer=name)
        assert after[: len(before)] == before, "the audit is the topic: a restart loses nothing"

        # No API edits or deletes it.
        for method in ("PUT", "PATCH", "DELETE", "POST"):
            status, _ = await call(http, method, f"{cluster.url(0)}/v1/compliance/audit", token)
            assert status == 405, method

        # It names ids, never content: the canary is in no audit record.
        assert canary.encode() not in b"".join(audit_records(cluster))
        assert cid.encode() in b"".join(audit_records(cluster))
        await close_all(ann, bob)


def audit_records(cluster: ParleyCluster) -> list[bytes]:
    reader = Consumer(private_reader(BOOTSTRAP, REPLAY, name="test-audit"))
    topic = cluster.topics.audit.name
    try:
        high = reader.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
        reader.assign([TopicPartition(topic, 0, 0)])
        found: list[bytes] = []
        while len(found) < high:
            found += [r.value() or b"" for r in reader.consume(500, timeout=1) if not r.error()]
        return found
    finally:
        reader.close()


async def erasure_reads_complete(
    cli: Callable[..., subprocess.CompletedProcess[str]], erasure_id: str
) -> None:
    """`parley-compliance erasure ID` until it exits 0: every store, nothing left."""
    reports: list[subprocess.CompletedProcess[str]] = []

    async def complete() -> bool:
        reports.append(await asyncio.to_thread(cli, "erasure", erasure_id))
        return reports[-1].returncode == 0

    await eventually(complete, "the erasure's report complete", 60)
    lines = reports[-1].stdout.splitlines()
    assert lines[0].endswith("complete=True") and len(lines) == 9, reports[-1].stdout
    assert all("\tleft 0\t" in line for line in lines[1:]), reports[-1].stdout


async def test_the_officers_command_line_exports_and_checks_the_files(
    cluster: ParleyCluster, tmp_path: Path
) -> None:
    case = f"CASE-{uuid.uuid4().hex[:8]}"
    async with aiohttp.ClientSession() as http:
        name, _ = await officer(http, cluster, case)
        ann, bob, cid = await direct_chat(http, cluster)
        answer = await ann.devices[0].request(send_frame(cid, "for the record", "r1"))
        seq = answer["result"]["seq"]
        await history(bob.devices[0], cid, seq)
        await close_all(ann, bob)

    env = {
        **os.environ,
        "PARLEY_COMPLIANCE_CONFIG_DIR": str(tmp_path / "config"),
        "PARLEY_PASSWORD": "correct horse battery",
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "client.compliance_cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    logged = cli("--server", cluster.url(1), "login", name)
    assert logged.returncode == 0, logged.stderr
    out = tmp_path / "exports"
    exported = cli("export", "--case", case, "--conversation", cid, "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert "all files match their SHA-256 digests" in exported.stdout
    assert "100.0%" in exported.stderr, "the officer saw the progress"
    [directory] = list(out.iterdir())
    assert sorted(p.name for p in directory.iterdir()) == [
        "export.jsonl",
        "manifest.json",
        "transcript.html",
    ]
    assert "for the record" in (directory / "export.jsonl").read_text()
    audit = cli("audit", "--case", case, "--officer", name, "--action", "export.create")
    assert audit.returncode == 0, audit.stderr
    assert [line.split("\t")[2] for line in audit.stdout.splitlines()] == ["started", "ended"]
    refused = cli("export", "--case", "CASE-not-mine", "--conversation", cid, "--out", str(out))
    assert refused.returncode == 1 and "forbidden" in refused.stderr

    # Redaction and retention, through the same REST.
    def redact(at: int) -> subprocess.CompletedProcess[str]:
        return cli(
            "redact", "--case", case, "--conversation", cid, "--seq", str(at), "--reason", "order"
        )

    redacted = redact(seq)
    assert redacted.returncode == 0, redacted.stderr
    assert "MessageRedacted at seq" in redacted.stdout
    missing = redact(seq + 100)
    assert missing.returncode == 1 and "no_such_message" in missing.stderr
    kept = cli("retention", "--case", case, "--conversation", cid, "--keep-days", "30")
    assert kept.returncode == 0 and "RetentionSet at seq" in kept.stdout, kept.stderr
    again = cli("retention", "--case", case, "--conversation", cid, "--keep-days", "30")
    assert again.returncode == 0 and "nothing to change" in again.stdout, again.stderr
    invalid = cli("retention", "--case", case, "--conversation", cid, "--keep-days", "0")
    assert invalid.returncode == 1 and "not a valid retention" in invalid.stderr
    erased = cli("erase", "--case", case, "--user", bob.name)
    assert erased.returncode == 0, erased.stderr
    report = json.loads(erased.stdout)
    assert report["key_destroyed"] is True, report
    assert [c["conversation_id"] for c in report["conversations"]] == [cid], report
    assert f"--erasure-id {report['erasure_id']}" in erased.stderr, "said before it is asked"
    await erasure_reads_complete(cli, report["erasure_id"])
    audit = cli("audit", "--case", case, "--officer", name, "--action", "redaction.create")
    fields = [line.split("\t") for line in audit.stdout.splitlines()]
    assert [(f[2], f[8] if len(f) > 8 else "") for f in fields] == [
        ("started", ""),
        ("ended", "succeeded"),
        ("started", ""),
        ("ended", "failed"),
    ], audit.stdout
