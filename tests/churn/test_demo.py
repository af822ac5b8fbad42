"""The demo's churn chapter tells its story: contracts, explained losses, win-back that works."""

from __future__ import annotations

import sqlalchemy as sa

from survey_app.churn.models import (
    CustomerStatus,
    LossRecord,
    RiskScore,
    Status,
    WinBackAttempt,
    loss_record_reasons,
)
from survey_app.customers.models import Contract, CustomerValue, Transaction
from survey_app.extensions import db


def test_demo_chapter(app, runner):
    result = runner.invoke(args=["seed-demo", "--as-of", "2026-06-30", "--customers", "400"])
    assert result.exit_code == 0, result.output
    assert "win-back contacts" in result.output
    with app.app_context():
        count = lambda model: db.session.scalar(sa.select(sa.func.count()).select_from(model))  # noqa: E731
        assert count(Contract) > 10
        assert (
            db.session.scalar(sa.select(sa.func.count()).where(Contract.cancelled_on.is_not(None)))
            > 0
        )
        buyers = db.session.scalar(sa.select(sa.func.count(sa.distinct(Transaction.customer_id))))
        assert count(CustomerStatus) == buyers and count(CustomerValue) == 400
        statuses = dict(
            db.session.execute(
                sa.select(CustomerStatus.status, sa.func.count()).group_by(CustomerStatus.status)
            ).all()
        )
        assert set(statuses) == set(Status)
        assert 0.1 < statuses[Status.LOST] / buyers < 0.35
        assert count(loss_record_reasons) > 0 and count(WinBackAttempt) > 0
        # customers who agreed on a call and bought again are counted as won back
        won_after_call = db.session.scalar(
            sa.select(sa.func.count(sa.distinct(LossRecord.id)))
            .join(WinBackAttempt, WinBackAttempt.loss_record_id == LossRecord.id)
            .where(LossRecord.won_back_on > WinBackAttempt.attempted_on)
        )
        assert won_after_call > 0
        assert count(RiskScore) > 0
