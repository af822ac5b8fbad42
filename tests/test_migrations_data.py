"""Migrations keep data: a database built at the first revision, given rows in every table, then
upgraded one revision at a time to head, filling each newly created table as it appears. At head
every row written at any stage is still there, unchanged, and no foreign key dangles.

Seeding the demo at the first revision is not possible (today's code needs today's schema), so
the rows are written raw, from the schema as it stood at each revision.

The database is a SQLite file, or, when the suite runs on PostgreSQL (``make test-pg``), a
database of its own on that server."""

from __future__ import annotations

import datetime as dt
import decimal
import secrets
import urllib.parse
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask_migrate import upgrade

from survey_app import create_app
from survey_app.config import PROJECT_ROOT
from survey_app.extensions import db
from tests.conftest import TEST_DATABASE_URL


def _value(column: sa.Column, n: int):
    kind = column.type
    if isinstance(kind, sa.Enum) and kind.enums:
        return kind.enums[0]
    if isinstance(kind, sa.Boolean):
        return True
    if isinstance(kind, sa.DateTime):
        return dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    if isinstance(kind, sa.Date):
        return dt.date(2025, 1, 2)
    if isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float):
        return decimal.Decimal("12.34")
    if isinstance(kind, sa.Float):
        return 0.5
    if isinstance(kind, sa.Integer):
        return n
    if isinstance(kind, sa.JSON):
        return []
    if isinstance(kind, sa.String | sa.Text):
        length = getattr(kind, "length", None) or 40
        return f"{column.name[:6]}{n}"[:length]
    return None


def _fill(connection, done: set[str]) -> dict[str, list[dict]]:
    """One row in every table not filled yet; foreign keys point at row 1 of their table."""
    meta = sa.MetaData()
    meta.reflect(bind=connection)
    written = {}
    for table in meta.sorted_tables:
        if table.name in done or table.name == "alembic_version":
            continue
        row = {}
        for column in table.columns:
            if column.foreign_keys:
                target = next(iter(column.foreign_keys)).column.table.name
                row[column.name] = None if column.nullable or target == table.name else 1
                if target == table.name and not column.nullable:
                    row[column.name] = 1
            elif column.primary_key and isinstance(column.type, sa.Integer):
                row[column.name] = 1
            else:
                row[column.name] = _value(column, 1)
        # Reference data the migrations insert may already use id 1: take the next free id.
        if "id" in table.c and connection.scalar(sa.select(sa.func.count()).select_from(table)):
            row["id"] = connection.scalar(sa.select(sa.func.max(table.c.id))) + 1
        connection.execute(table.insert().values(**row))
        written[table.name] = row
        done.add(table.name)
    return written


#: tables a migration folded into another: old name -> (new table, columns it adds). Their rows
#: must be found there, renumbered, with every other column unchanged.
MOVED = {"index_jobs": ("jobs", {"kind": "index"})}


def _rows(connection, table_name: str, key: dict) -> list[dict]:
    table = sa.Table(table_name, sa.MetaData(), autoload_with=connection)
    where = [  # JSON has no equality on PostgreSQL: its value is compared once the row is found
        table.c[name] == value
        for name, value in key.items()
        if name in table.c and not isinstance(table.c[name].type, sa.JSON)
    ]
    return [dict(r._mapping) for r in connection.execute(sa.select(table).where(*where))]


@pytest.fixture
def empty_database(tmp_path: Path):
    """The URL of an empty database on the suite's engine: a SQLite file, or a database of its
    own on the suite's PostgreSQL server (a schema would not do: the search path would find the
    suite's own tables, its Alembic version among them, in ``public``)."""
    if not TEST_DATABASE_URL.startswith(("postgres://", "postgresql")):
        yield f"sqlite:///{tmp_path / 'history.sqlite'}"
        return
    name = f"survey_migrations_{secrets.token_hex(4)}"
    parts = urllib.parse.urlsplit(TEST_DATABASE_URL)._replace(scheme="postgresql+psycopg")
    server = sa.create_engine(urllib.parse.urlunsplit(parts), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with server.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        server.dispose()


def _dangling_foreign_keys(connection) -> list:
    if connection.dialect.name == "sqlite":
        return connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    # PostgreSQL checks every foreign key as rows are written; one left unchecked (NOT VALID)
    # is the only way a row could dangle
    return connection.exec_driver_sql(
        "SELECT conrelid::regclass, conname FROM pg_constraint "
        "WHERE contype = 'f' AND NOT convalidated"
    ).all()


def test_upgrade_from_first_revision_to_head_keeps_every_row(empty_database: str):
    application = create_app({"SQLALCHEMY_DATABASE_URI": empty_database})
    script = ScriptDirectory(str(PROJECT_ROOT / "migrations"))
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    assert len(revisions) >= 2
    written: dict[str, dict] = {}
    done: set[str] = set()
    with application.app_context():
        for revision in revisions:
            upgrade(revision=revision)
            with db.engine.begin() as connection:
                written.update(_fill(connection, done))
        lost = []
        with db.engine.connect() as connection:
            for table_name, row in written.items():
                if table_name in MOVED:
                    table_name, added = MOVED[table_name]
                    row = {**{k: v for k, v in row.items() if k != "id"}, **added}
                    key = {k: v for k, v in row.items() if not isinstance(v, dt.datetime)}
                else:
                    key = {"id": row["id"]} if "id" in row else row
                found = _rows(connection, table_name, key)
                if len(found) != 1:
                    lost.append(f"{table_name}: the row written earlier is gone")
                    continue
                for name, value in row.items():
                    stored = found[0][name]
                    if isinstance(value, dt.datetime) and stored is not None:
                        stored = stored.replace(tzinfo=dt.UTC) if stored.tzinfo is None else stored
                    if stored != value:
                        lost.append(f"{table_name}.{name}: {stored!r} != {value!r}")
            assert lost == []
            assert _dangling_foreign_keys(connection) == []
        db.session.remove()
        db.engine.dispose()
    assert {"users", "customers", "transactions", "complaints", "api_keys"} <= set(written)
