"""The survey chapter of the demo story."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import sqlalchemy as sa

from survey_app.customers.models import Transaction
from survey_app.extensions import db
from survey_app.surveys import queries
from survey_app.surveys.models import (
    Answer,
    Followup,
    Question,
    Questionnaire,
    Response,
    Status,
)


def test_demo_has_published_surveys_answered_over_two_years(app, runner):
    # the story's invitations are current ones, so it is told as of today
    as_of = date.today()
    result = runner.invoke(args=["seed-demo", "--as-of", as_of.isoformat(), "--customers", "400"])
    assert result.exit_code == 0, result.output
    assert "/s/" in result.output and "/i/" in result.output
    with app.app_context():
        published = db.session.scalars(
            sa.select(Questionnaire).where(Questionnaire.status == Status.PUBLISHED)
        ).all()
        assert {q.template for q in published} == {"pulse", "ecsi"}
        rows = db.session.execute(
            sa.select(Response.customer_id, Response.submitted_at, Answer.value_num)
            .join(Answer, Answer.response_id == Response.id)
            .join(Question, Question.id == Answer.question_id)
            .where(Question.code == "csat")
        ).all()
        last = dict(
            db.session.execute(
                sa.select(Transaction.customer_id, sa.func.max(Transaction.occurred_on)).group_by(
                    Transaction.customer_id
                )
            ).all()
        )
        ecsi = next(q for q in published if q.template == "ecsi")
        states = {state for _inv, state in queries.invitation_page(ecsi.id, 1, 500)[0]}
        recent = queries.followup_counts(since=as_of - timedelta(days=13))
        older = queries.followup_counts(since=as_of - timedelta(days=731))
        notes = db.session.execute(
            sa.select(Followup.created_at, Response.submitted_at).join(
                Response, Response.id == Followup.response_id
            )
        ).all()
    frame = pd.DataFrame(rows, columns=["customer", "when", "csat"])
    assert frame.when.min().date() >= as_of - timedelta(days=731)
    assert frame.when.max().date() <= as_of
    frame["lost"] = frame.customer.map(lambda c: last[c] < as_of - timedelta(days=120))
    means = frame.groupby("lost").csat.mean()
    assert 3.5 < means[False] < 4.6, "a believable satisfaction level"
    assert means[True] < means[False] - 0.3, "customers who later left were less satisfied"
    assert states == {"not_opened", "opened", "partial", "completed", "expired"}
    # the follow-up list shows work done and work waiting: most older detractors were called
    old_done = (older["done"] - recent["done"]) / (older["all"] - recent["all"])
    assert 0.55 < old_done < 0.85, old_done
    assert recent["waiting"] > recent["done"] > 0
    assert all(submitted <= called for called, submitted in notes)
    assert max(called for called, _ in notes).date() <= as_of
