from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey_app.db_types import UTCDateTime, utcnow
from survey_app.extensions import db


class Customer(db.Model):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the customer's id in the company's own systems; re-imports match on it
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str | None] = mapped_column(sa.String(254), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    segment: Mapped[str] = mapped_column(sa.String(60), default="", index=True)
    region: Mapped[str] = mapped_column(sa.String(60), default="", index=True)
    first_seen_on: Mapped[date | None] = mapped_column(sa.Date())
    assigned_staff_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    #: loaded when used (only the customer's page shows it), not joined into every customer read
    assigned_staff = relationship("User")

    def __repr__(self) -> str:
        return f"<Customer {self.code}>"


class Transaction(db.Model):
    __tablename__ = "transactions"
    __table_args__ = (sa.Index("ix_transactions_customer_date", "customer_id", "occurred_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"))
    #: id in the source system; re-imports match on it
    external_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    occurred_on: Mapped[date] = mapped_column(sa.Date(), index=True)
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))
    #: gross margin of the sale, the basis of customer value
    margin: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))


class Contract(db.Model):
    """A contract with a customer: for contractual business, the loss is its end or cancellation."""

    __tablename__ = "contracts"
    __table_args__ = (sa.Index("ix_contracts_customer_start", "customer_id", "started_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"))
    #: id in the source system; re-imports match on it
    external_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    started_on: Mapped[date] = mapped_column(sa.Date())
    #: planned end; None for an open-ended contract
    ends_on: Mapped[date | None] = mapped_column(sa.Date())
    cancelled_on: Mapped[date | None] = mapped_column(sa.Date())
    #: why it was cancelled, from the shared reason list
    cancel_reason_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("reasons.id", ondelete="SET NULL")
    )

    cancel_reason = relationship("Reason", lazy="joined")

    @property
    def effective_end(self) -> date | None:
        """The day the contract stopped (or will stop) covering the customer."""
        if self.cancelled_on and (self.ends_on is None or self.cancelled_on < self.ends_on):
            return self.cancelled_on
        return self.ends_on


class ValueSettings(db.Model):
    """The one row of settings behind customer lifetime value and tiers (id is always 1)."""

    __tablename__ = "value_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: yearly discount rate d of the CLV formula
    discount_rate: Mapped[float] = mapped_column(default=0.10)
    #: years summed in the CLV formula
    horizon_years: Mapped[int] = mapped_column(default=5)
    #: cost of winning one customer, subtracted once
    acquisition_cost: Mapped[Decimal] = mapped_column(sa.Numeric(12, 2), default=Decimal("0"))
    #: yearly retention r used when a segment has too little history to estimate its own
    default_retention: Mapped[float] = mapped_column(default=0.75)
    #: key customers make up this cumulative share of total value (the 80 of 80/20)
    key_share: Mapped[float] = mapped_column(default=0.80)
    #: key + general customers make up this share; the rest are minor
    general_share: Mapped[float] = mapped_column(default=0.95)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CustomerValue(db.Model):
    """Value figures of one customer as of the last recompute (``flask churn recompute``)."""

    __tablename__ = "customer_values"

    customer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    as_of: Mapped[date] = mapped_column(sa.Date())
    #: days since the last purchase; None without purchases
    recency_days: Mapped[int | None]
    #: orders in the 365 days up to as_of
    frequency: Mapped[int] = mapped_column(default=0)
    #: revenue in the 365 days up to as_of
    monetary: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2), default=Decimal("0"))
    #: gross margin in the 365 days up to as_of: the m of the CLV formula
    annual_margin: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2), default=Decimal("0"))
    retention: Mapped[float] = mapped_column(default=0.0)
    clv: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2), default=Decimal("0"))
    #: "key", "general" or "minor"
    tier: Mapped[str] = mapped_column(sa.String(10), index=True, default="minor")
    #: recency, frequency and monetary quintile scores, e.g. "545"
    rfm: Mapped[str] = mapped_column(sa.String(3), default="")
