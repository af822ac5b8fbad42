"""The complaints chapter of the demo: every state, timelines along the table, the recovery story."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from survey_app.complaints import workflow
from survey_app.complaints.models import State
from survey_app.extensions import db


def test_demo_complaints_tell_the_story(app, runner):
    result = runner.invoke(args=["seed-demo", "--as-of", "2026-06-30"])
    assert result.exit_code == 0, result.output
    assert "/complaint/t/" in result.output and "/complaint\n" in result.output
    with app.app_context():
        complaints = pd.read_sql(
            sa.text("SELECT id, state, customer_id, created_at, due_at FROM complaints"), db.engine
        )
        events = pd.read_sql(
            sa.text(
                "SELECT complaint_id, action, from_state, to_state FROM complaint_events "
                "WHERE kind = 'state'"
            ),
            db.engine,
        )
        ratings = pd.read_sql(
            sa.text("SELECT complaint_id, rating FROM complaint_ratings"), db.engine
        )
        last = pd.read_sql(
            sa.text(
                "SELECT customer_id, MAX(occurred_on) AS last FROM transactions "
                "GROUP BY customer_id"
            ),
            db.engine,
        )
    assert 200 <= len(complaints) <= 600
    assert set(complaints.state) == {s.value for s in State}
    for row in events.itertuples():
        transition = workflow.find(State(row.from_state), row.action)
        assert transition is not None and transition.new_state.value == row.to_state
    assert complaints.due_at.notna().any()  # some are open and due
    last["lost"] = pd.to_datetime(last["last"]) < pd.Timestamp("2026-01-01")
    rated = ratings.merge(complaints, left_on="complaint_id", right_on="id").merge(
        last, on="customer_id"
    )
    by_fate = rated.groupby("lost").rating.mean()
    assert by_fate[True] < by_fate[False] - 1  # the customers who left were handled worse
