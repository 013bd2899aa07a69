"""The clamd client speaks INSTREAM to a fake clamd on a local socket (ClamAV is not installed
here; the fake follows clamd's documented protocol: zINSTREAM, length-prefixed chunks, a zero
length, one NUL-terminated reply)."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from schemas.models import MediaErrorCode
from streams.media.clamd import ClamdScanner
from streams.media.scan import ScannerUnavailableError
from tests import media_files as f

Reply = Callable[[bytes], bytes]


def clamav_like(stream: bytes) -> bytes:
    return b"stream: Eicar-Test-Signature FOUND\0" if f.EICAR in stream else b"stream: OK\0"


class FakeClamd:
    """Serves one connection at a time; records every stream it was sent."""

    def __init__(self, server: socket.socket, reply: Reply) -> None:
        self.server = server
        self.reply = reply
        self.streams: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                self._session(conn)

    def _session(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        if reader.read(len(b"zINSTREAM\0")) != b"zINSTREAM\0":
            conn.sendall(b"UNKNOWN COMMAND\0")
            return
        stream = b""
        while True:
            (length,) = struct.unpack(">I", reader.read(4))
            if length == 0:
                break
            stream += reader.read(length)
        self.streams.append(stream)
        conn.sendall(self.reply(stream))

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def unix_clamd(tmp_path: Path) -> Iterator[Callable[[Reply], tuple[FakeClamd, str]]]:
    started: list[FakeClamd] = []

    def start(reply: Reply) -> tuple[FakeClamd, str]:
        path = str(tmp_path / f"clamd-{len(started)}.sock")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen()
        started.append(FakeClamd(server, reply))
        return started[-1], path

    yield start
    for fake in started:
        fake.close()


def test_a_clean_file_passes_and_clamd_received_all_of_it(
    tmp_path: Path, unix_clamd: Callable[[Reply], tuple[FakeClamd, str]]
) -> None:
    fake, address = unix_clamd(clamav_like)
    data = f.camera_jpeg() * 40  # several 64 KiB chunks
    path = tmp_path / "upload"
    path.write_bytes(data)
    assert ClamdScanner(address).scan(path) is None
    assert fake.streams == [data]


def test_a_signature_clamd_reports_is_malware(
    tmp_path: Path, unix_clamd: Callable[[Reply], tuple[FakeClamd, str]]
) -> None:
    _, address = unix_clamd(clamav_like)
    path = tmp_path / "upload"
    path.write_bytes(f.EICAR)
    finding = ClamdScanner(address).scan(path)
    assert finding is not None
    assert finding.code is MediaErrorCode.MALWARE
    assert finding.reason == "Eicar-Test-Signature"


def test_over_tcp_too(tmp_path: Path) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen()
    fake = FakeClamd(server, clamav_like)
    try:
        path = tmp_path / "upload"
        path.write_bytes(f.EICAR)
        port = server.getsockname()[1]
        finding = ClamdScanner(f"127.0.0.1:{port}").scan(path)
        assert finding is not None and finding.code is MediaErrorCode.MALWARE
    finally:
        fake.close()


@pytest.mark.parametrize(
    "reply",
    [b"INSTREAM size limit exceeded. ERROR\0", b"", b"stream: lstat() failed. ERROR\0"],
)
def test_an_error_or_no_answer_is_no_verdict(
    tmp_path: Path, unix_clamd: Callable[[Reply], tuple[FakeClamd, str]], reply: bytes
) -> None:
    _, address = unix_clamd(lambda _: reply)
    path = tmp_path / "upload"
    path.write_bytes(b"data")
    with pytest.raises(ScannerUnavailableError):
        ClamdScanner(address).scan(path)


def test_no_clamd_listening_is_no_verdict(tmp_path: Path) -> None:
    path = tmp_path / "upload"
    path.write_bytes(b"data")
    with pytest.raises(ScannerUnavailableError):
        ClamdScanner(str(tmp_path / "nobody.sock")).scan(path)
