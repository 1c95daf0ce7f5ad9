"""The write lock of a PostgreSQL store (``pgstore``), behind the same door as the file
lock (``lock.WriteLock``)."""

from __future__ import annotations

import os
from typing import Any, Callable

from assistant.errors import StoreError
from assistant.lock import WriteLock
from assistant.pgstore import PgDocStore, lock_key, shown, why


class AdvisoryLock(WriteLock):
    """The write lock of a PostgreSQL store: a session-level ``pg_advisory_lock`` on the
    collection's key, held on its own connection, so it holds across machines; a writer
    that dies (even by SIGKILL) ends its session and so releases it."""

    def __init__(self, store: PgDocStore, timeout: float, on_first: Callable[[], None]) -> None:
        super().__init__(store.path, timeout, on_first)
        self.store = store
        self._conn: Any = None

    def _try_take(self) -> bool:
        import psycopg

        try:
            if self._conn is None:
                self._conn = psycopg.connect(self.store.url, autocommit=True, connect_timeout=10,
                                             application_name=f"assistant writer pid {os.getpid()}")
            taken = self._conn.execute("SELECT pg_try_advisory_lock(%s)",
                                       (lock_key(self.store.schema),)).fetchone()[0]
        except psycopg.OperationalError as e:
            self._drop()
            raise StoreError(f"{shown(self.store.url)}: cannot take the write lock "
                             f"({why(e)}); is PostgreSQL up?") from None
        return bool(taken)

    def _release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute("SELECT pg_advisory_unlock(%s)",
                                   (lock_key(self.store.schema),))
            except Exception:
                pass  # the session is gone, and with it the lock
            self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def holder(self) -> str:
        key = lock_key(self.store.schema) & 0xFFFFFFFFFFFFFFFF
        rows = self.store._run(
            "SELECT a.application_name, a.client_addr FROM pg_locks l JOIN pg_stat_activity a "
            "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND "
            "l.classid = %s AND l.objid = %s", (key >> 32, key & 0xFFFFFFFF))
        if not rows:
            return "another process"
        name, addr = rows[0]
        return f"{name or 'a session'}{f' at {addr}' if addr else ''}"

    @property
    def where(self) -> str:
        return f"{shown(self.store.url)} (collection schema {self.store.schema})"
