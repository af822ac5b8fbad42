"""The composite satisfaction index: its weights, their history, the stored values per period and
group (recomputation jobs: ``survey_app.jobs``)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey_app.db_types import UTCDateTime, utcnow
from survey_app.extensions import db

#: default component weights (satisfaction, complaint handling, retention)
DEFAULT_WEIGHTS = (0.6, 0.2, 0.2)


def _enum(cls, length: int = 20):
    return sa.Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class IndexSettings(db.Model):
    """The one row (id 1) holding the component weights of the composite index."""

    __tablename__ = "index_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    weight_s: Mapped[float] = mapped_column(default=DEFAULT_WEIGHTS[0])
    weight_c: Mapped[float] = mapped_column(default=DEFAULT_WEIGHTS[1])
    weight_r: Mapped[float] = mapped_column(default=DEFAULT_WEIGHTS[2])
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def weights(self) -> tuple[float, float, float]:
        return (self.weight_s, self.weight_c, self.weight_r)


class WeightChange(db.Model):
    """One change of the component weights: who, when, the weights before and after."""

    __tablename__ = "index_weight_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    changed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    old_s: Mapped[float]
    old_c: Mapped[float]
    old_r: Mapped[float]
    new_s: Mapped[float]
    new_c: Mapped[float]
    new_r: Mapped[float]

    changed_by = relationship("User")


class IndexValue(db.Model):
    """The index of one period (a month or a quarter) for one group of customers ("all", a
    segment or a value tier), with the inputs it was computed from. A recomputation replaces the
    row of its period and group; the weights stored here are those in force at that time, so a
    later change of weights never shifts a stored value."""

    __tablename__ = "index_values"
    __table_args__ = (sa.UniqueConstraint("period", "group_kind", "group_value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "2026-03" (month) or "2026-Q1" (quarter)
    period: Mapped[str] = mapped_column(sa.String(7), index=True)
    granularity: Mapped[str] = mapped_column(sa.String(7))
    period_start: Mapped[date] = mapped_column(sa.Date())
    period_end: Mapped[date] = mapped_column(sa.Date())
    #: "all", "segment" or "tier"
    group_kind: Mapped[str] = mapped_column(sa.String(10))
    group_value: Mapped[str] = mapped_column(sa.String(60), default="")
    satisfaction: Mapped[float | None]
    complaint_handling: Mapped[float | None]
    retention: Mapped[float | None]
    composite: Mapped[float | None]
    weight_s: Mapped[float]
    weight_c: Mapped[float]
    weight_r: Mapped[float]
    #: 95% bootstrap percentile interval of the satisfaction index (model runs only)
    s_low: Mapped[float | None]
    s_high: Mapped[float | None]
    #: the interval carried to the composite (S interval, C and R held fixed)
    composite_low: Mapped[float | None]
    composite_high: Mapped[float | None]
    #: "model" (PLS), "fallback" (mean of the satisfaction items) or "" (no responses)
    s_method: Mapped[str] = mapped_column(sa.String(10), default="")
    responses: Mapped[int] = mapped_column(default=0)
    complaints: Mapped[int] = mapped_column(default=0)
    customers: Mapped[int] = mapped_column(default=0)
    #: the parts of C and R and the model's outputs (drivers, negative weights)
    details: Mapped[dict] = mapped_column(sa.JSON(), default=dict)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def weights(self) -> tuple[float, float, float]:
        return (self.weight_s, self.weight_c, self.weight_r)

    @property
    def negative_weights(self) -> dict:
        return (self.details or {}).get("negative_weights") or {}
