"""Scanning: nothing is served until every configured scanner has read it and found nothing.

Pluggable: a scanner reads a file and answers a `Finding` or None. The built-in one always
runs (the EICAR test file, executables and scripts whatever they claim to be, documents that
run code: PDF actions, Office macros, archives carrying programs); ClamAV's clamd runs too
when PARLEY_CLAMD gives its address (streams/media/clamd.py). A scanner that cannot be
reached is no clean verdict: the job waits and retries, and nothing is served meanwhile.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from media import sniff
from schemas.models import MediaErrorCode

CHUNK_BYTES = 1024 * 1024
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
ENTRY_HEAD_BYTES = 4096
MAX_ENTRIES = 10_000
RISKY_EXTENSIONS = frozenset(
    {"exe", "dll", "scr", "com", "bat", "cmd", "pif", "msi", "msp", "cpl", "hta", "jar", "js"}
    | {"jse", "vbs", "vbe", "wsf", "wsh", "ps1", "psm1", "lnk", "reg", "app", "apk", "dmg"}
    | {"pkg", "sh", "command"}
)
_PDF_ACTIONS = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile)\b")
_OFFICE_MACROS = ("_VBA_PROJECT".encode("utf-16-le"), b"_VBA_PROJECT", b"vbaProject.bin")


@dataclass(frozen=True)
class Finding:
    code: MediaErrorCode
    """MALWARE or DANGEROUS_TYPE."""
    reason: str


class ScannerUnavailableError(RuntimeError):
    """The scanner could not give a verdict (down, timed out): try again later."""


class Scanner(Protocol):
    name: str

    def scan(self, path: Path) -> Finding | None: ...


def chunks(path: Path, overlap: int = 0) -> Iterator[bytes]:
    """The file in chunks, each starting with the last `overlap` bytes of the one before,
    so that a signature split across two chunks is still seen whole."""
    carry = b""
    with path.open("rb") as file:
        while block := file.read(CHUNK_BYTES):
            yield carry + block
            carry = (carry + block)[-overlap:] if overlap else b""


class BuiltinScanner:
    name = "builtin"

    def scan(self, path: Path) -> Finding | None:
        with path.open("rb") as file:
            head = file.read(sniff.SNIFF_BYTES)
        kind = sniff.identify(head)
        if kind is not None and kind.dangerous:
            return Finding(MediaErrorCode.DANGEROUS_TYPE, f"{kind.content_type} is never served")
        if any(EICAR in chunk for chunk in chunks(path, overlap=len(EICAR))):
            return Finding(MediaErrorCode.MALWARE, "EICAR test signature")
        if kind is sniff.ZIP:
            return _archive(path)
        if kind is sniff.PDF:
            return _pdf(path)
        if kind is sniff.OLE2:
            return _office(path)
        return None


def _archive(path: Path) -> Finding | None:
    """Reads the directory and each entry's first bytes only: a zip bomb is never inflated."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_ENTRIES:
                return Finding(MediaErrorCode.DANGEROUS_TYPE, "an archive of too many files")
            for entry in entries:
                extension = entry.filename.rsplit(".", 1)[-1].lower()
                if extension in RISKY_EXTENSIONS:
                    reason = f"an archive carrying a program ({extension})"
                    return Finding(MediaErrorCode.DANGEROUS_TYPE, reason)
                if entry.is_dir() or entry.flag_bits & 0x1:
                    continue  # encrypted entries cannot be read: ClamAV reports those
                with archive.open(entry) as member:
                    head = member.read(ENTRY_HEAD_BYTES)
                if EICAR in head:
                    return Finding(MediaErrorCode.MALWARE, "EICAR test signature in an archive")
                inner = sniff.identify(head)
                if inner is not None and inner.dangerous:
                    reason = f"an archive carrying {inner.content_type}"
                    return Finding(MediaErrorCode.DANGEROUS_TYPE, reason)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as e:
        return Finding(MediaErrorCode.DANGEROUS_TYPE, f"an archive that cannot be read: {e}")
    return None


def _pdf(path: Path) -> Finding | None:
    for chunk in chunks(path, overlap=64):
        found = _PDF_ACTIONS.search(chunk)
        if found:
            name = found.group(1).decode("latin-1")
            return Finding(MediaErrorCode.DANGEROUS_TYPE, f"a PDF that runs code (/{name})")
    return None


def _office(path: Path) -> Finding | None:
    for chunk in chunks(path, overlap=32):
        if any(marker in chunk for marker in _OFFICE_MACROS):
            return Finding(MediaErrorCode.DANGEROUS_TYPE, "an Office document with macros")
    return None


class Scanners:
    """Every scanner in turn; the first finding stands."""

    def __init__(self, scanners: Sequence[Scanner]) -> None:
        self.scanners = tuple(scanners)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.scanners]

    def scan(self, path: Path) -> Finding | None:
        for scanner in self.scanners:
            finding = scanner.scan(path)
            if finding is not None:
                return Finding(finding.code, f"{scanner.name}: {finding.reason}")
        return None
