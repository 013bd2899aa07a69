"""A client's side of an upload, for tests: PUTs to pre-signed URLs, whole or cut off midway."""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from urllib.parse import urlsplit

from media.uploads import PartTarget, UploadTicket


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


def _connection(url: str) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
    return connection, f"{parts.path}?{parts.query}"


def put(url: str, data: bytes, headers: dict[str, str] | None = None) -> Answer:
    connection, target = _connection(url)
    try:
        connection.request("PUT", target, body=data, headers=headers or {})
        answer = connection.getresponse()
        return Answer(answer.status, answer.read())
    finally:
        connection.close()


def put_cut_off(url: str, data: bytes, sent: int, headers: dict[str, str] | None = None) -> None:
    """Starts a PUT of all of `data`, sends only `sent` bytes, and drops the connection: a
    phone going into a tunnel."""
    connection, target = _connection(url)
    connection.putrequest("PUT", target, skip_accept_encoding=True)
    for name, value in {**(headers or {}), "Content-Length": str(len(data))}.items():
        connection.putheader(name, value)
    connection.endheaders()
    connection.send(data[:sent])
    connection.close()


def part_bytes(ticket: UploadTicket, part: PartTarget, data: bytes) -> bytes:
    start = (part.number - 1) * ticket.part_bytes
    return data[start : start + part.size_bytes]


def send(ticket: UploadTicket, data: bytes, *, only: set[int] | None = None) -> list[int]:
    """PUTs the ticket's parts (or `only` those numbers); returns the statuses in order."""
    statuses = []
    for part in ticket.parts:
        if only is None or part.number in only:
            answer = put(part.url, part_bytes(ticket, part, data), ticket.headers)
            statuses.append(answer.status)
    return statuses
