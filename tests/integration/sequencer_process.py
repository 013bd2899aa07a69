"""Runs the real sequencer as a separate process, so tests can SIGKILL it mid-stream."""

from __future__ import annotations

from pathlib import Path

from schemas.topics import Topics
from tests.integration.processes import ParleyProcess


class SequencerProcess(ParleyProcess):
    def __init__(
        self,
        topics: Topics,
        state_dir: Path,
        instance: str = "0",
        log_path: Path | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        prefix = topics.commands.name.rsplit(".", 1)[0]
        self.topics = topics
        self.instance = instance
        super().__init__(
            "streams.sequencer",
            prefix,
            state_dir,
            log_path or state_dir / f"sequencer-{instance}.log",
            {
                "PARLEY_PARTITIONS": str(topics.commands.partitions),
                "PARLEY_SEQUENCER_INSTANCE": instance,
                "PARLEY_SEQUENCER_GROUP": f"{prefix}-sequencer",
                **(extra_env or {}),
            },
        )
