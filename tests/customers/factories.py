"""Small hand-made customer histories for tests (call inside an app context; commits)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from survey_app.customers.models import Contract, Customer, Transaction
from survey_app.extensions import db


def add_customer(
    code: str,
    purchases=(),
    *,
    segment: str = "零售",
    name: str = "",
    contracts=(),
    margin_rate: str = "0.25",
) -> int:
    """``purchases``: (date, amount) pairs; ``contracts``: (start, end, cancelled) triples."""
    customer = Customer(code=code, name=name or f"客户{code}", segment=segment, region="华东")
    db.session.add(customer)
    db.session.flush()
    for n, (day, amount) in enumerate(purchases):
        db.session.add(
            Transaction(
                customer_id=customer.id,
                external_id=f"{code}-{n}",
                occurred_on=day,
                amount=Decimal(str(amount)),
                margin=(Decimal(str(amount)) * Decimal(margin_rate)).quantize(Decimal("0.01")),
            )
        )
    for n, (start, end, cancelled) in enumerate(contracts):
        db.session.add(
            Contract(
                customer_id=customer.id,
                external_id=f"K-{code}-{n}",
                started_on=start,
                ends_on=end,
                cancelled_on=cancelled,
            )
        )
    db.session.commit()
    return customer.id


def every(days: int, start: date, end: date):
    """Purchase days from ``start`` every ``days`` days up to ``end``."""
    out, day = [], start
    while day <= end:
        out.append(day)
        day = date.fromordinal(day.toordinal() + days)
    return out
