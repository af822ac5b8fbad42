"""SQLite writers queue on a file lock instead of polling for the database's write lock.

SQLite lets one connection write at a time. A second writer gets SQLITE_BUSY and its busy
handler sleeps and retries on a fixed schedule (1, 2, 5, 10, 15, 20, 25 ... 100 ms), so under
concurrent form posts from several gunicorn workers much of the time goes to sleeping while the
lock is already free, and an unlucky writer can lose the race again and again. Here every
connection to a database file takes an exclusive ``flock`` on a companion file
(``<database>-writers``) just before its first write statement and gives it back when its
transaction ends: waiting writers are woken the moment the lock is free.

Waiting is bounded: after ``WAIT_SECONDS`` the statement goes ahead without the file lock and
SQLite's own busy timeout decides, as it would without this module (so a program that writes
from two connections in one thread, or a tool that knows nothing of the file lock, is never
deadlocked). Readers never take the lock (WAL lets them read while one connection writes).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time

WAIT_SECONDS = 10.0
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _is_write(sql: str) -> bool:
    return sql.lstrip()[:7].upper().startswith(_WRITES)


class QueuedWritersConnection(sqlite3.Connection):
    """A ``sqlite3.Connection`` holding the writers' file lock during each write transaction."""

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        path = os.fsdecode(database)
        memory = path in ("", ":memory:") or kwargs.get("uri") or path.startswith("file:")
        self._lock_path = None if memory else path + "-writers"
        self._lock_fd: int | None = None
        self._held = False

    def cursor(self, factory=None):
        return super().cursor(factory or QueuedWritersCursor)

    def execute(self, sql, *args):
        return self.cursor().execute(sql, *args)

    def executemany(self, sql, *args):
        return self.cursor().executemany(sql, *args)

    def _before(self, sql: str) -> None:
        if self._held or self._lock_path is None or not _is_write(sql):
            return
        if self._lock_fd is None:
            self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pass
        else:
            self._held = True
            return
        # Someone is writing: wait for the kernel to hand over the lock, in a helper-free way
        # that still gives up after WAIT_SECONDS (an alarm-free blocking wait cannot).
        deadline = time.monotonic() + WAIT_SECONDS
        pause = 0.00005
        while time.monotonic() < deadline:
            time.sleep(pause)
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pause = min(pause * 2, 0.001)
                continue
            self._held = True
            return

    def _after(self) -> None:
        if self._held and not self.in_transaction:
            self._release()

    def _release(self) -> None:
        if self._held:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            self._held = False

    def commit(self):
        try:
            super().commit()
        finally:
            self._after()

    def rollback(self):
        try:
            super().rollback()
        finally:
            self._after()

    def close(self):
        try:
            super().close()
        finally:
            self._release()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None


class QueuedWritersCursor(sqlite3.Cursor):
    def execute(self, sql, *args):
        connection = self.connection
        connection._before(sql)
        try:
            return super().execute(sql, *args)
        finally:
            connection._after()

    def executemany(self, sql, *args):
        connection = self.connection
        connection._before(sql)
        try:
            return super().executemany(sql, *args)
        finally:
            connection._after()
