"""Runs the real fan-out as a separate process, so tests can SIGKILL it mid-stream and read
the positions its store kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rocksdict import AccessType, Options, Rdict

from kafkalog.rocks import scan
from schemas.topics import Topics
from streams.fanout.memberships import MEMBER
from streams.keys import key, str_after
from streams.state import POSITION
from tests.integration.processes import ParleyProcess


class FanOutProcess(ParleyProcess):
    def __init__(self, topics: Topics, state_dir: Path, log_path: Path) -> None:
        self.topics = topics
        self.prefix = topics.events.name.rsplit(".", 1)[0]
        super().__init__(
            "streams.fanout",
            self.prefix,
            state_dir,
            log_path,
            {"PARLEY_PARTITIONS": str(topics.events.partitions)},
        )

    @property
    def store_path(self) -> Path:
        return self.state_dir / f"{self.prefix}-fanout-0"

    def stored_positions(self) -> dict[int, int]:
        """The next offset per events partition, as the store holds it (read-only: only
        while the process is not running)."""
        db = Rdict(str(self.store_path), Options(raw_mode=True), access_type=AccessType.read_only())
        try:
            found = {p: db.get(key(POSITION, p)) for p in range(self.topics.events.partitions)}
        finally:
            db.close()
        return {p: int(raw) for p, raw in found.items() if raw is not None}

    def log_records(self) -> list[dict[str, Any]]:
        """Its JSON log lines (anything else it printed is left out)."""
        lines = []
        for line in self.log().splitlines():
            if line.startswith("{"):
                lines.append(json.loads(line))
        return lines

    def members(self) -> dict[str, set[str]]:
        """Who is in each conversation, as its store holds it (read-only: only while the
        process is not running)."""
        db = Rdict(str(self.store_path), Options(raw_mode=True), access_type=AccessType.read_only())
        found: dict[str, set[str]] = {}
        prefix = key(MEMBER)
        try:
            for stored, _ in scan(db, prefix):
                cid = str_after(prefix, stored)
                member_prefix = key(MEMBER, cid)
                found.setdefault(cid, set()).add(str_after(member_prefix, stored))
        finally:
            db.close()
        return found
