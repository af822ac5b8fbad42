"""Read side of the stored index values."""

from __future__ import annotations

import sqlalchemy as sa

from survey_app.extensions import db

from .models import IndexValue


def stored_periods(granularity: str) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(IndexValue.period)
            .where(IndexValue.granularity == granularity, IndexValue.group_kind == "all")
            .order_by(IndexValue.period)
        )
    )


def stored_groups() -> list[tuple[str, str]]:
    return [
        tuple(row)
        for row in db.session.execute(
            sa.select(IndexValue.group_kind, IndexValue.group_value)
            .distinct()
            .order_by(IndexValue.group_kind, IndexValue.group_value)
        )
    ]


def _of_group(granularity: str, kind: str, value: str) -> sa.Select:
    return sa.select(IndexValue).where(
        IndexValue.granularity == granularity,
        IndexValue.group_kind == kind,
        IndexValue.group_value == value,
    )


def series(granularity: str, kind: str, value: str) -> list[IndexValue]:
    """The group's stored values of every period of the granularity, oldest first."""
    query = _of_group(granularity, kind, value).order_by(IndexValue.period)
    return list(db.session.scalars(query))


def latest(granularity: str, kind: str, value: str, count: int = 2) -> list[IndexValue]:
    """The group's ``count`` most recent stored values of the granularity, newest first."""
    query = _of_group(granularity, kind, value).order_by(IndexValue.period.desc()).limit(count)
    return list(db.session.scalars(query))


def period_values(period: str) -> list[IndexValue]:
    """Every group's stored value of one period."""
    return list(
        db.session.scalars(
            sa.select(IndexValue)
            .where(IndexValue.period == period)
            .order_by(IndexValue.group_kind, IndexValue.group_value)
        )
    )


def values(granularity: str, kind: str, value: str, period: str | None = None) -> list[IndexValue]:
    """Stored values of one group, oldest period first; one period only when ``period`` is given."""
    query = sa.select(IndexValue).where(
        IndexValue.granularity == granularity,
        IndexValue.group_kind == kind,
        IndexValue.group_value == value,
    )
    if period:
        query = query.where(IndexValue.period == period)
    return list(db.session.scalars(query.order_by(IndexValue.period)))
