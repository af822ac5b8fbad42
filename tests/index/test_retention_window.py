"""R is unknown, not 100, before losses can be seen: a loss is recorded no sooner than the loss
definition's floor after a customer's last order, so in the first floor-days of the purchase
history no loss is on record whatever happened."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from survey_app.churn import services as churn_services
from survey_app.customers.models import Customer, Transaction
from survey_app.extensions import db
from survey_app.index import services
from survey_app.index.models import IndexValue

AS_OF = date(2025, 12, 31)
#: the purchase history's first day; with the default floor of 90 days, losses can be seen
#: from 2025-04-01 on
FIRST = date(2025, 1, 1)


@pytest.fixture
def history(app):
    """Twelve customers buying every fortnight from FIRST; four stop in February."""
    with app.app_context():
        for n in range(12):
            customer = Customer(code=f"W{n:03d}", name=f"客户{n}", segment="零售")
            db.session.add(customer)
            db.session.flush()
            last = date(2025, 2, 28) if n < 4 else AS_OF - timedelta(days=5)
            day, k = FIRST + timedelta(days=n), 0
            while day <= last:
                db.session.add(
                    Transaction(
                        customer_id=customer.id,
                        external_id=f"W{n:03d}-{k}",
                        occurred_on=day,
                        amount=100,
                        margin=30,
                    )
                )
                day, k = day + timedelta(days=14), k + 1
        db.session.commit()
        churn_services.recompute(AS_OF)
        db.session.commit()


def _stored(period: str) -> IndexValue:
    return db.session.scalar(
        sa.select(IndexValue).where(IndexValue.period == period, IndexValue.group_kind == "all")
    )


def test_periods_before_losses_can_be_seen_have_no_r(app, history, login):
    with app.app_context():
        services.compute([services.parse_period(p) for p in ("2025-02", "2025-04", "2025-05")])
        db.session.commit()
        february, april, may = (_stored(p) for p in ("2025-02", "2025-04", "2025-05"))
    # February: customers at start, none lost on record yet (their losses fall in May)
    assert february.details["retention"]["customers"] == 12
    assert february.retention is None
    assert february.details["retention"]["observable_from"] == "2025-04-01"
    weights = (february.weight_s, february.weight_c)
    parts = [
        (w, v)
        for w, v in zip(weights, (february.satisfaction, february.complaint_handling), strict=True)
        if v is not None
    ]
    if parts:
        expected = sum(w * v for w, v in parts) / sum(w for w, _v in parts)
        assert february.composite == pytest.approx(expected)
    else:
        assert february.composite is None
    # from April on, losses can be seen: the four customers who stopped are lost in May
    assert april.retention == pytest.approx(100.0)
    assert "observable_from" not in april.details["retention"]
    assert may.details["retention"]["lost"] == 4
    assert may.retention < 100.0

    client = login("manager")
    page = client.get("/index/?granularity=month&period=2025-05", headers={"Accept-Language": "en"})
    assert "Losses can be seen from Apr 1, 2025 on" in page.get_data(as_text=True)
