"""The demo is seeded in one transaction. On PostgreSQL, an autovacuum ANALYZE that runs during
it cannot see the rows written so far and would record the tables as empty. The seed analyzes
from inside its transaction after every chapter: the statistics count its rows, and the lock it
keeps until the commit makes autovacuum leave the tables alone meanwhile."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from survey_app import demo
from survey_app.extensions import db
from survey_app.surveys import demo as surveys_demo
from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith(("postgres://", "postgresql")),
    reason="PostgreSQL's planner statistics (make test-pg)",
)


def test_statistics_count_the_seeds_own_rows(app, monkeypatch):
    seen = {}

    def concurrent_analyze(ctx):
        # what autovacuum does while the seed is not committed: from another connection, and
        # leaving alone a table whose lock another transaction holds
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as other:
            other.exec_driver_sql("ANALYZE (SKIP_LOCKED) survey_answers")
        return []

    def planner_estimate(ctx):
        seen["estimate"] = db.session.scalar(
            sa.text("SELECT reltuples FROM pg_class WHERE relname = 'survey_answers'")
        )
        seen["rows"] = db.session.scalar(sa.text("SELECT count(*) FROM survey_answers"))
        return []

    story = [demo.seed_users, demo.seed_customers, surveys_demo.seed_demo]
    monkeypatch.setattr(demo, "chapters", lambda: [*story, concurrent_analyze, planner_estimate])
    with app.app_context():
        assert demo.seed_demo(date(2026, 6, 30), customers=200) is not None
        db.session.rollback()
    assert seen["rows"] > 1000
    assert seen["estimate"] == pytest.approx(seen["rows"], rel=0.2)
