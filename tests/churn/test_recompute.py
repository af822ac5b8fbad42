"""Recomputing statuses, the register and values from the shell, as of any date."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from survey_app.churn import services
from survey_app.churn.models import CustomerStatus, LossRecord, RiskModelRun, Status
from survey_app.customers.models import CustomerValue, Transaction
from survey_app.extensions import db
from survey_app.taxonomy.services import by_code
from tests.churn.scenario import AS_OF, EXPECTED, HISTORIES, build, lost_on


@pytest.fixture
def ids(app):
    with app.app_context():
        return build()


def _recompute(runner, as_of=AS_OF):
    result = runner.invoke(args=["churn", "recompute", "--as-of", as_of.isoformat()])
    assert result.exit_code == 0, result.output
    return result.output


def _statuses(app, ids):
    with app.app_context():
        return {code: db.session.get(CustomerStatus, cid).status.value for code, cid in ids.items()}


def test_recompute_gives_each_customer_their_status(app, runner, ids):
    output = _recompute(runner)
    assert "5 customers" in output and "lost 2" in output
    assert _statuses(app, ids) == EXPECTED
    with app.app_context():
        k1 = db.session.get(CustomerStatus, ids["K1"])
        assert k1.basis == "contract" and k1.lost_on == date(2025, 10, 15)
        s1 = db.session.get(CustomerStatus, ids["S1"])
        assert s1.basis == "rhythm" and s1.threshold_days == 90 and s1.lost_on == lost_on("S1")


def test_statuses_as_of_an_earlier_date(app, runner, ids):
    _recompute(runner, date(2025, 12, 31))
    statuses = _statuses(app, ids)
    assert statuses["W1"] == "lost"  # had not come back yet
    assert statuses["S1"] == "lost" and statuses["A1"] == "active"
    assert statuses["K1"] == "lost"


def test_the_register_holds_one_entry_per_loss_with_its_value(app, runner, ids):
    _recompute(runner)
    with app.app_context():
        records = {
            r.customer.code: r
            for r in db.session.scalars(sa.select(LossRecord).order_by(LossRecord.lost_on))
        }
        assert set(records) == {"S1", "W1", "K1"}
        s1 = records["S1"]
        year_before = [
            d for d in HISTORIES["S1"] if s1.lost_on - timedelta(days=365) <= d < s1.lost_on
        ]
        assert float(s1.last_value) == pytest.approx(100 * len(year_before))
        # CLV lost: the margin of that year (25 per order) through the CLV formula, with the
        # segment's yearly retention r; closed form of sum_{t=1..5} m (r/1.1)^t
        r = db.session.get(CustomerValue, ids["S1"]).retention
        q = r / 1.1
        expected_clv = 25 * len(year_before) * q * (1 - q**5) / (1 - q)
        assert float(s1.clv_lost) == pytest.approx(expected_clv, abs=0.01)
        assert s1.won_back_on is None
        w1 = records["W1"]
        assert w1.lost_on == date(2025, 6, 30) + timedelta(days=90)
        assert w1.won_back_on == date(2026, 1, 1)
        assert records["K1"].lost_on == date(2025, 10, 15)
    _recompute(runner)  # again: nothing duplicated
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LossRecord)) == 3
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RiskModelRun)) == 2


def test_staff_work_survives_a_change_of_definition(app, runner, ids, make_user):
    _recompute(runner)
    user_id, _email = make_user("staff")
    with app.app_context():
        from survey_app.accounts.models import User

        staff = db.session.get(User, user_id)
        record = db.session.scalar(sa.select(LossRecord).where(LossRecord.customer_id == ids["S1"]))
        services.record_reasons(
            staff, record, reason_ids=[by_code("price").id], learnt_how="interview", note="太贵"
        )
        settings = services.churn_settings()
        settings.floor_days = 120
        db.session.commit()
        record_id = record.id
    _recompute(runner)
    with app.app_context():
        record = db.session.get(LossRecord, record_id)
        assert record.lost_on == HISTORIES["S1"][-1] + timedelta(days=120)
        assert [r.code for r in record.reasons] == ["price"] and record.note == "太贵"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LossRecord)) == 3


def test_a_purchase_after_the_loss_makes_the_customer_won_back(app, runner, ids):
    _recompute(runner)
    with app.app_context():
        db.session.add(
            Transaction(customer_id=ids["S1"], occurred_on=date(2026, 6, 1), amount=500, margin=100)
        )
        db.session.commit()
    _recompute(runner)
    with app.app_context():
        assert db.session.get(CustomerStatus, ids["S1"]).status is Status.WON_BACK
        record = db.session.scalar(sa.select(LossRecord).where(LossRecord.customer_id == ids["S1"]))
        assert record.won_back_on == date(2026, 6, 1)


def test_recompute_on_an_empty_database(runner):
    output = _recompute(runner)
    assert "0 customers" in output and "concordance n/a" in output
