from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from survey_app.accounts.models import User
from survey_app.customers.models import Customer, Transaction
from survey_app.demo import DEMO_USERS
from survey_app.extensions import db
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
