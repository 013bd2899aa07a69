"""Display names, device names and file names, sealed under their person's key before they
reach a command or a topic (the accounts topic, the media topic and from there every
attachment in the events topic), and opened by the edge that shows them (docs/compliance.md,
"Sealing"). With sealing off they travel plain, as they used to."""

from __future__ import annotations

from schemas import models as m
from sealing.envelope import Context, Purpose, Sealer, UnreadableError


class Names:
    def __init__(self, sealer: Sealer, *, sealing: bool = True) -> None:
        """`sealing` False (PARLEY_SEALING=off, the benchmark's comparison only): new names
        go plain; names sealed before still open."""
        self.sealer = sealer
        self.sealing = sealing

    def display_name(self, user_id: str, name: str) -> tuple[str, m.SealedBody | None]:
        """The record's (plain, sealed) pair: one of them empty."""
        return self._seal(name, Context(Purpose.DISPLAY_NAME, user_id, user_id))

    def device_name(
        self, user_id: str, device_id: str, name: str
    ) -> tuple[str, m.SealedBody | None]:
        return self._seal(name, Context(Purpose.DEVICE_NAME, device_id, user_id))

    def file_name(self, owner: str, media_id: str, name: str) -> tuple[str, m.SealedBody | None]:
        return self._seal(name, Context(Purpose.FILE_NAME, media_id, owner))

    def open_file_name(
        self, owner: str, media_id: str, plain: str, sealed: m.SealedBody | None
    ) -> str:
        """The file's name; empty once its owner's key is gone (erased)."""
        return self._open(plain, sealed, Context(Purpose.FILE_NAME, media_id, owner))

    def open_display_name(self, user_id: str, plain: str, sealed: m.SealedBody | None) -> str:
        """The name; empty once the person's key is gone."""
        return self._open(plain, sealed, Context(Purpose.DISPLAY_NAME, user_id, user_id))

    def open_device_name(
        self, user_id: str, device_id: str, plain: str, sealed: m.SealedBody | None
    ) -> str:
        return self._open(plain, sealed, Context(Purpose.DEVICE_NAME, device_id, user_id))

    def _seal(self, name: str, context: Context) -> tuple[str, m.SealedBody | None]:
        if not self.sealing:
            return name, None
        return "", self.sealer.seal(name, context)

    def _open(self, plain: str, sealed: m.SealedBody | None, context: Context) -> str:
        if sealed is None:
            return plain
        try:
            return self.sealer.open(sealed, context)
        except UnreadableError:
            return ""
