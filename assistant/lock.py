"""The store's write lock: one writer per store across processes and threads."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from assistant.errors import StoreBusy


class WriteLock:
    """One writer per store across processes (``flock``) and threads; re-entrant in the
    thread that holds it. ``on_first`` runs each time the lock is newly taken. Another
    kind of lock (PostgreSQL's advisory lock) overrides ``_try_take``, ``_release`` and
    ``holder``."""

    def __init__(self, path: Path, timeout: float, on_first: Callable[[], None]) -> None:
        self.path = path
        self.timeout = timeout
        self.on_first = on_first
        self._thread = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    @contextmanager
    def held(self, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        deadline = time.monotonic() + self.timeout
        if not self._thread.acquire(timeout=self.timeout):
            raise self._busy()
        try:
            if self._depth == 0:
                self._take(deadline, on_wait)
            self._depth += 1
            try:
                if self._depth == 1:
                    self.on_first()
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._release()
        finally:
            self._thread.release()

    def _take(self, deadline: float, on_wait: Callable[[str], None] | None) -> None:
        told = False
        while not self._try_take():
            if time.monotonic() >= deadline:
                raise self._busy()
            if not told and on_wait is not None:
                on_wait(f"waiting: another writer ({self.holder()}) is using this "
                        f"store; up to {self.timeout:g}s (ASSISTANT_WRITE_LOCK_TIMEOUT)")
                told = True
            time.sleep(0.05)

    def _try_take(self) -> bool:
        """Take the lock if it is free; False if another process holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return True

    def _release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def holder(self) -> str:
        try:
            pid = self.path.read_text().strip()
        except OSError:
            pid = ""
        return f"pid {pid}" if pid else "another thread or process"

    @property
    def where(self) -> str:
        """The store, as messages name it."""
        return str(self.path.parent)

    def _busy(self) -> StoreBusy:
        return StoreBusy(f"{self.where}: another writer ({self.holder()}) held the "
                         f"store for over {self.timeout:g}s; try again when it has finished "
                         "or raise ASSISTANT_WRITE_LOCK_TIMEOUT")
