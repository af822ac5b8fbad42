"""SQLite writers queue on the companion file lock instead of failing or polling."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from survey_app import sqlite_writers
from survey_app.sqlite_writers import QueuedWritersConnection


def connect(path, busy_ms: int = 0) -> sqlite3.Connection:
    """A queued-writers connection whose own busy timeout is off: without the queue, a second
    writer would fail at once with "database is locked"."""
    connection = sqlite3.connect(path, factory=QueuedWritersConnection, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA busy_timeout={busy_ms}")
    return connection


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "queue.sqlite"
    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT)")
    setup.commit()
    setup.close()
    return path


def test_plain_sqlite_refuses_a_second_writer(database):
    first, second = sqlite3.connect(database), sqlite3.connect(database, timeout=0)
    first.execute("INSERT INTO t (who) VALUES ('first')")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        second.execute("INSERT INTO t (who) VALUES ('second')")
    first.rollback()


def test_a_second_writer_waits_for_the_first_to_commit(database):
    first, second = connect(database), connect(database)
    first.execute("INSERT INTO t (who) VALUES ('first')")
    finished = {}

    def write():
        second.execute("INSERT INTO t (who) VALUES ('second')")
        second.commit()
        finished["at"] = time.monotonic()

    thread = threading.Thread(target=write)
    thread.start()
    time.sleep(0.2)
    assert "at" not in finished  # still queued behind the open transaction
    # readers are never queued: a third connection reads while the first one writes
    reader = connect(database)
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (0,)
    committed = time.monotonic()
    first.commit()
    thread.join(timeout=5)
    assert finished["at"] >= committed
    rows = [who for (who,) in reader.execute("SELECT who FROM t ORDER BY id")]
    assert rows == ["first", "second"]


def test_a_rollback_also_hands_the_lock_on(database):
    first, second = connect(database), connect(database)
    first.execute("INSERT INTO t (who) VALUES ('undone')")
    first.rollback()
    second.execute("INSERT INTO t (who) VALUES ('second')")
    second.commit()
    assert second.execute("SELECT who FROM t").fetchall() == [("second",)]


def test_waiting_is_bounded_so_two_writers_in_one_thread_never_hang(database, monkeypatch):
    monkeypatch.setattr(sqlite_writers, "WAIT_SECONDS", 0.3)
    first, second = connect(database), connect(database)
    first.execute("INSERT INTO t (who) VALUES ('first')")
    began = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        second.execute("INSERT INTO t (who) VALUES ('second')")  # SQLite's own answer
    assert 0.25 <= time.monotonic() - began < 3
    first.commit()


def test_the_app_engine_queues_writers_on_sqlite_only(app):
    from survey_app.extensions import db

    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            queued = isinstance(raw.dbapi_connection, QueuedWritersConnection)
        finally:
            raw.close()
        assert queued == (db.engine.dialect.name == "sqlite")
