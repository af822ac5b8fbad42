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

    assigned_staff = relationship("User", lazy="joined")

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
