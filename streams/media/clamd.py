"""ClamAV's clamd as a scanner, over its socket protocol (INSTREAM), Unix socket or TCP.

`zINSTREAM\0`, then the file as chunks each prefixed by its length (4 bytes, big-endian),
then a zero length; clamd answers `stream: OK\0`, `stream: <signature> FOUND\0` or an
`... ERROR\0`. An error, a refused connection or a timeout is no verdict
(ScannerUnavailableError): the job is retried, never passed.
"""

from __future__ import annotations

import socket
import struct
from pathlib import Path

from schemas.models import MediaErrorCode
from streams.media.scan import Finding, ScannerUnavailableError

CHUNK_BYTES = 64 * 1024
"""Under clamd's default StreamMaxLength per chunk; the whole stream is limited by clamd."""
MAX_REPLY_BYTES = 4096


class ClamdScanner:
    name = "clamd"

    def __init__(self, address: str, *, timeout_s: float = 60.0) -> None:
        """`address`: a Unix socket path (`/run/clamav/clamd.ctl`) or `host:port`."""
        self.address = address
        self.timeout_s = timeout_s

    def _connect(self) -> socket.socket:
        if self.address.startswith("/"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            target: str | tuple[str, int] = self.address
        else:
            host, _, port = self.address.rpartition(":")
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            target = (host or "127.0.0.1", int(port))
        sock.settimeout(self.timeout_s)
        try:
            sock.connect(target)
        except OSError as e:
            sock.close()
            raise ScannerUnavailableError(f"clamd at {self.address}: {e}") from e
        return sock

    def scan(self, path: Path) -> Finding | None:
        try:
            with self._connect() as sock, path.open("rb") as file:
                sock.sendall(b"zINSTREAM\0")
                while block := file.read(CHUNK_BYTES):
                    sock.sendall(struct.pack(">I", len(block)) + block)
                sock.sendall(struct.pack(">I", 0))
                reply = _read_reply(sock)
        except OSError as e:
            raise ScannerUnavailableError(f"clamd at {self.address}: {e}") from e
        return _verdict(reply)


def _read_reply(sock: socket.socket) -> str:
    reply = b""
    while not reply.endswith(b"\0") and len(reply) < MAX_REPLY_BYTES:
        data = sock.recv(MAX_REPLY_BYTES)
        if not data:
            break
        reply += data
    return reply.rstrip(b"\0\n").decode("utf-8", "replace")


def _verdict(reply: str) -> Finding | None:
    status = reply.removeprefix("stream:").strip()
    if status == "OK":
        return None
    if status.endswith(" FOUND"):
        return Finding(MediaErrorCode.MALWARE, status.removesuffix(" FOUND"))
    raise ScannerUnavailableError(f"clamd answered {reply!r}")
