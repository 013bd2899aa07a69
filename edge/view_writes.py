"""Word from a view's process that it has written its store: the edge waits on this for a
view to catch up (an inbox entry that must show an event the edge has just pushed).

A view is a RocksDB directory written by another process on this host, and every batch it
writes appends to the directory's write-ahead log; Linux's inotify reports each write. So
a waiter wakes when the view writes (then reads again), or at its deadline, and no timer
ever looks again in between. The watch exists only while someone waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from edge.progress import woken

log = logging.getLogger("parley.edge")

IN_MODIFY = 0x00000002
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_CLOSE_WRITE = 0x00000008
WRITES = IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE


class _Inotify:
    """The three libc calls this needs, through ctypes (the standard library has none)."""

    def __init__(self) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        self.fd: int = fd

    def watch(self, path: Path) -> int:
        wd: int = self._libc.inotify_add_watch(self.fd, os.fsencode(path), WRITES)
        if wd < 0:
            raise OSError(ctypes.get_errno(), f"cannot watch {path}")
        return wd

    def unwatch(self, wd: int) -> None:
        self._libc.inotify_rm_watch(self.fd, wd)

    def drain(self) -> None:
        while True:
            try:
                if not os.read(self.fd, 65536):
                    return
            except BlockingIOError:
                return

    def close(self) -> None:
        os.close(self.fd)


class ViewWrites:
    """`generation` counts the view's writes while someone watches. A reader enters
    `watching()`, notes `generation`, reads the view, and if it is not there yet, waits
    with `after(noted)`: a write made while it read has already moved `generation` on."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.generation = 0
        self._users = 0
        self._waiters: list[asyncio.Future[None]] = []
        self._inotify: _Inotify | None = None
        self._wd: int | None = None

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        self._users += 1
        try:
            if self._wd is None:
                self._watch()
            yield
        finally:
            self._users -= 1
            if not self._users:
                self._unwatch()

    async def after(self, generation: int, timeout_s: float) -> bool:
        """True once the view has written since `generation`; False at the deadline, or at
        once when the view cannot be watched (the caller then takes what it has)."""
        if self.generation > generation:
            return True
        if timeout_s <= 0 or self._wd is None:
            return False
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            return await woken(future, timeout_s)
        finally:
            self._waiters.remove(future)

    def close(self) -> None:
        self._unwatch()
        if self._inotify is not None:
            self._inotify.close()
            self._inotify = None

    def _watch(self) -> None:
        try:
            if self._inotify is None:
                self._inotify = _Inotify()
            self._wd = self._inotify.watch(self.path)
        except OSError as e:
            if e.errno != errno.ENOENT:
                log.warning("cannot watch the view at %s for writes: %s", self.path, e)
            return
        asyncio.get_running_loop().add_reader(self._inotify.fd, self._on_write)

    def _unwatch(self) -> None:
        if self._wd is None or self._inotify is None:
            return
        asyncio.get_running_loop().remove_reader(self._inotify.fd)
        self._inotify.unwatch(self._wd)
        self._inotify.drain()
        self._wd = None

    def _on_write(self) -> None:
        if self._inotify is None:
            return
        self._inotify.drain()
        self.generation += 1
        for future in self._waiters:
            if not future.done():
                future.set_result(None)
