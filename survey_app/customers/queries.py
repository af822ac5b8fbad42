"""Read-side aggregates over customers and their transactions, computed in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from survey_app.extensions import db

from .models import Customer, Transaction


@dataclass(frozen=True)
class CustomerRow:
    customer: Customer
    orders: int
    revenue: Decimal
    last_purchase_on: date | None


def _activity():
    return (
        sa.select(
            Transaction.customer_id.label("customer_id"),
            sa.func.count(Transaction.id).label("orders"),
            sa.func.coalesce(sa.func.sum(Transaction.amount), 0).label("revenue"),
            sa.func.max(Transaction.occurred_on).label("last_purchase_on"),
        )
        .group_by(Transaction.customer_id)
        .subquery()
    )


def customer_page(page: int, per_page: int, search: str = "", segment: str = "", region: str = ""):
    """One page of customers with their order count, revenue and last purchase date.

    Returns ``(rows, total)``; ``search`` matches code, name, e-mail or phone (case-insensitive)."""
    activity = _activity()
    query = sa.select(
        Customer, activity.c.orders, activity.c.revenue, activity.c.last_purchase_on
    ).outerjoin(activity, activity.c.customer_id == Customer.id)
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(
            sa.or_(
                sa.func.lower(Customer.code).like(pattern),
                sa.func.lower(Customer.name).like(pattern),
                sa.func.lower(Customer.email).like(pattern),
                Customer.phone.like(pattern),
            )
        )
    if segment:
        query = query.where(Customer.segment == segment)
    if region:
        query = query.where(Customer.region == region)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = db.session.execute(
        query.order_by(Customer.name, Customer.id).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return [CustomerRow(row[0], row[1] or 0, Decimal(row[2] or 0), row[3]) for row in rows], total


def distinct_values(column) -> list[str]:
    return [
        value
        for value in db.session.scalars(sa.select(column).distinct().order_by(column))
        if value
    ]


def customer_summary(customer_id: int) -> dict:
    row = db.session.execute(
        sa.select(
            sa.func.count(Transaction.id),
            sa.func.coalesce(sa.func.sum(Transaction.amount), 0),
            sa.func.coalesce(sa.func.sum(Transaction.margin), 0),
            sa.func.min(Transaction.occurred_on),
            sa.func.max(Transaction.occurred_on),
        ).where(Transaction.customer_id == customer_id)
    ).one()
    return {
        "orders": row[0],
        "revenue": Decimal(row[1]),
        "margin": Decimal(row[2]),
        "first_purchase_on": row[3],
        "last_purchase_on": row[4],
    }


def transactions_page(customer_id: int, page: int, per_page: int):
    query = (
        sa.select(Transaction)
        .where(Transaction.customer_id == customer_id)
        .order_by(Transaction.occurred_on.desc(), Transaction.id.desc())
    )
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def totals() -> dict:
    customers = db.session.scalar(sa.select(sa.func.count()).select_from(Customer))
    transactions, revenue = db.session.execute(
        sa.select(
            sa.func.count(Transaction.id), sa.func.coalesce(sa.func.sum(Transaction.amount), 0)
        )
    ).one()
    return {"customers": customers, "transactions": transactions, "revenue": Decimal(revenue)}


def customer_ids(search: str = "", segment: str = "", region: str = "") -> list[int]:
    """Ids of every customer matching the same filters as ``customer_page``."""
    query = sa.select(Customer.id)
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(
            sa.or_(
                sa.func.lower(Customer.code).like(pattern),
                sa.func.lower(Customer.name).like(pattern),
                sa.func.lower(Customer.email).like(pattern),
                Customer.phone.like(pattern),
            )
        )
    if segment:
        query = query.where(Customer.segment == segment)
    if region:
        query = query.where(Customer.region == region)
    return list(db.session.scalars(query.order_by(Customer.id)))
