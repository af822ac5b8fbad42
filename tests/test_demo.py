from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from survey_app.accounts.models import User
from survey_app.customers.models import Customer, Transaction
from survey_app.demo import DEMO_USERS, episode_of
from survey_app.extensions import db
from survey_app.index.models import IndexValue
from tests.conftest import sign_in


def _fingerprint(app):
    with app.app_context():
        return db.session.execute(
            sa.select(
                sa.func.count(Transaction.id),
                sa.func.sum(Transaction.amount),
                sa.func.min(Transaction.occurred_on),
                sa.func.max(Transaction.occurred_on),
            )
        ).one(), db.session.scalars(sa.select(Customer.name).order_by(Customer.code)).all()


def _clear(app):
    with app.app_context():
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())


def test_seed_demo_tells_a_full_story_and_prints_the_logins(app, runner):
    result = runner.invoke(args=["seed-demo", "--as-of", "2026-06-30"])
    assert result.exit_code == 0, result.output
    for email, password, _role, _name in DEMO_USERS:
        assert email in result.output and password in result.output
    assert "/login" in result.output
    as_of = date(2026, 6, 30)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 2000
        last = (
            sa.select(Transaction.customer_id, sa.func.max(Transaction.occurred_on).label("last"))
            .group_by(Transaction.customer_id)
            .subquery()
        )
        lost = db.session.scalar(
            sa.select(sa.func.count()).where(last.c.last < as_of - timedelta(days=180))
        )
        recent = db.session.scalar(
            sa.select(sa.func.count()).where(last.c.last >= as_of - timedelta(days=60))
        )
        span = db.session.execute(
            sa.select(sa.func.min(Transaction.occurred_on), sa.func.max(Transaction.occurred_on))
        ).one()
        segments = set(db.session.scalars(sa.select(Customer.segment).distinct()))
    assert 150 < lost < 800, "some customers left, most did not"
    assert recent > 1000
    assert span[0] >= as_of - timedelta(days=730) and span[1] <= as_of
    assert len(segments) == 3
    _assert_the_service_problem_shows_in_the_index(app, as_of)


def _assert_the_service_problem_shows_in_the_index(app, as_of: date) -> None:
    """The demo's delivery problem (three months, ten months back): satisfaction dips and
    complaints rise while it lasts, and the losses it causes are recorded three to five
    months after it began, as the index report's validity panel is meant to show."""
    first, last = episode_of(as_of)
    with app.app_context():
        months = db.session.scalars(
            sa.select(IndexValue).where(
                IndexValue.granularity == "month", IndexValue.group_kind == "all"
            )
        ).all()
    assert len(months) == 18

    def mean(values) -> float:
        values = list(values)
        return sum(values) / len(values)

    during = [v for v in months if first <= v.period_start <= last]
    after = [v for v in months if 3 <= _months_between(first, v.period_start) <= 5]
    rest = [v for v in months if v not in during and v not in after]
    assert len(during) == 3 and len(after) == 3 and len(rest) == 12

    def churn(v: IndexValue) -> float:
        return 100 * v.details["retention"]["lost"] / v.details["retention"]["customers"]

    def complaints(v: IndexValue) -> float:
        return v.details["complaint"]["per_thousand_month"]

    assert mean(v.satisfaction for v in during) < mean(v.satisfaction for v in rest) - 5
    assert mean(map(complaints, during)) > 1.5 * mean(map(complaints, rest))
    assert mean(map(churn, after)) > mean(map(churn, rest)) + 1


def _months_between(first: date, later: date) -> int:
    return (later.year - first.year) * 12 + later.month - first.month


def test_seed_demo_is_deterministic_and_refuses_a_non_empty_database(app, runner):
    assert (
        runner.invoke(args=["seed-demo", "--as-of", "2026-01-31", "--customers", "50"]).exit_code
        == 0
    )
    first = _fingerprint(app)
    again = runner.invoke(args=["seed-demo", "--as-of", "2026-01-31", "--customers", "50"])
    assert again.exit_code == 0 and "nothing was seeded" in again.output
    assert _fingerprint(app) == first
    _clear(app)
    assert (
        runner.invoke(args=["seed-demo", "--as-of", "2026-01-31", "--customers", "50"]).exit_code
        == 0
    )
    assert _fingerprint(app) == first


def test_demo_logins_work(app, runner):
    runner.invoke(args=["seed-demo", "--customers", "10"])
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == len(DEMO_USERS)
    for email, password, _role, _name in DEMO_USERS:
        assert sign_in(app.test_client(), email, password).status_code == 302
