"""The purchase read that churn and value start from (a driver-level read on SQLite, a binary
COPY on PostgreSQL) gives what the ORM reads from the same rows."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from survey_app.customers import queries
from survey_app.customers.models import Transaction
from survey_app.extensions import db
from tests.customers.factories import add_customer


def _through_the_orm() -> pd.DataFrame:
    rows = db.session.execute(
        sa.select(
            Transaction.customer_id, Transaction.occurred_on, Transaction.amount, Transaction.margin
        )
    ).all()
    frame = pd.DataFrame(
        [(c, pd.Timestamp(d), float(a), float(m)) for c, d, a, m in rows],
        columns=["customer_id", "occurred_on", "amount", "margin"],
    )
    return frame.sort_values(["customer_id", "occurred_on", "amount"]).reset_index(drop=True)


@pytest.mark.parametrize("ids_per_read", [20_000_000, 2])  # one read; several (PostgreSQL)
def test_the_purchase_read_matches_the_orm_row_for_row(app, monkeypatch, ids_per_read):
    monkeypatch.setattr(queries, "PURCHASE_IDS_PER_READ", ids_per_read)
    with app.app_context():
        add_customer(
            "P1",
            [
                (date(1969, 12, 31), "0.01"),  # before the epoch: a negative day number
                (date(1970, 1, 1), "123456789012.34"),  # the column's largest scale
                (date(2026, 2, 28), "-49.95"),  # a refund
            ],
        )
        add_customer("P2", [(date(2026, 12, 6), "88.80"), (date(2026, 12, 6), "88.80")])
        add_customer("P3")  # no purchases

        read = queries.purchase_frame()
        expected = _through_the_orm()
        assert list(read.columns) == ["customer_id", "occurred_on", "amount", "margin"]
        assert [str(t) for t in read.dtypes] == ["int64", "datetime64[ns]", "float64", "float64"]
        assert len(read) == 5
        got = read.sort_values(["customer_id", "occurred_on", "amount"]).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)

        up_to = queries.purchase_frame(as_of=date(2026, 2, 28))
        assert sorted(up_to["occurred_on"].dt.date) == [
            date(1969, 12, 31),
            date(1970, 1, 1),
            date(2026, 2, 28),
        ]


def test_the_purchase_read_of_no_purchases_is_empty(app):
    with app.app_context():
        add_customer("P0")
        read = queries.purchase_frame()
        assert len(read) == 0
        assert list(read.columns) == ["customer_id", "occurred_on", "amount", "margin"]
