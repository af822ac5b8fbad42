"""Column types shared by every domain."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every engine.

    PostgreSQL stores ``timestamptz``; SQLite stores naive UTC text, which is made aware again on
    the way out. A naive datetime on the way in is refused: it is a bug at the call site.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect):
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        to_naive_utc = self.process_bind_param

        def process(value: datetime | None) -> str | None:
            # SQLite's DATETIME text, "YYYY-MM-DD HH:MM:SS.ffffff", written by ``isoformat``
            # (the same digits) rather than by the DATETIME processor's %-formatting of a
            # dictionary: a complaint's intake converts seven of these
            value = to_naive_utc(value, dialect)
            return None if value is None else value.isoformat(" ", "microseconds")

        return process

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def postgresql_only(index: sa.Index) -> sa.Index:
    """An index that exists on PostgreSQL only (one using a PostgreSQL index method or operator
    class): ``create_all`` leaves it out elsewhere (``ddl_if``), and so does the comparison of
    models and migrations (``migrations/env.py`` reads ``info["dialect"]``)."""
    index.info["dialect"] = "postgresql"
    return index.ddl_if(dialect="postgresql")
