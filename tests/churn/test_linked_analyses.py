"""Churn beside complaints and surveys on the demo data: the analysis page's tables (through
their CSV exports) against an independent pandas computation from the raw tables, and the story
the demo tells."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
import sqlalchemy as sa

from survey_app.extensions import db

EN = {"Accept-Language": "en"}
COMPLAINT_LABELS = {
    "Complaint resolved on time": "on_time",
    "Complaint resolved late": "late",
    "Complaint unresolved": "unresolved",
    "Never complained": "none",
}
RECOVERY_LABELS = {
    "Recovery rated 1-2": "poor",
    "Recovery rated 3": "fair",
    "Recovery rated 4-5": "good",
    "Recovery not rated": "not_rated",
}
SATISFACTION_LABELS = {
    "Low (1-2 of 5)": "low",
    "Medium (3 of 5)": "medium",
    "High (4-5 of 5)": "high",
}


@pytest.fixture
def seeded(app, runner):
    # the default demo size: smaller samples leave too few rated or unresolved complaints
    result = runner.invoke(args=["seed-demo", "--as-of", "2026-06-30", "--customers", "2000"])
    assert result.exit_code == 0, result.output


def _frame(sql: str) -> pd.DataFrame:
    return pd.read_sql(sa.text(sql), db.engine)


def _when(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True, format="ISO8601")


def _csv(client, name: str, names: dict) -> dict[str, tuple[int, int, float]]:
    text = client.get(f"/churn/analysis?export={name}", headers=EN).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))[1:]
    return {names[r[0]]: (int(r[1]), int(r[2]), float(r[3])) for r in rows}


def _rates(frame: pd.DataFrame) -> dict[str, tuple[int, int, float]]:
    grouped = frame.groupby("label").churned.agg(["size", "sum"])
    return {
        label: (int(row["size"]), int(row["sum"]), row["sum"] / row["size"])
        for label, row in grouped.iterrows()
    }


def _churned_since(frame: pd.DataFrame, losses: pd.DataFrame) -> pd.Series:
    """Whether a loss of the customer began on or after the row's ``since`` day."""
    merged = frame[["customer_id", "since"]].reset_index().merge(losses, on="customer_id")
    hit = merged[merged.lost_on >= merged.since]["index"].unique()
    return frame.index.isin(hit)


def _check(expected: dict, shown: dict) -> None:
    assert set(shown) == set(expected)
    for label, (n, k, rate) in expected.items():
        assert shown[label][:2] == (n, k), label
        assert shown[label][2] == pytest.approx(rate, abs=1e-6)


def test_churn_by_complaint_outcome_and_recovery_rating(app, seeded, login):
    client = login("manager")
    shown_outcome = _csv(client, "by_complaint", COMPLAINT_LABELS)
    shown_recovery = _csv(client, "by_recovery", RECOVERY_LABELS)
    with app.app_context():
        universe = _frame("SELECT customer_id FROM customer_statuses")
        losses = _frame("SELECT customer_id, lost_on FROM loss_records")
        complaints = _frame(
            "SELECT c.id, c.customer_id, c.state, c.created_at, c.resolved_at, c.resolve_due_at,"
            " r.rating FROM complaints c LEFT JOIN complaint_ratings r ON r.complaint_id = c.id"
            " WHERE c.customer_id IS NOT NULL AND c.merged_into_id IS NULL"
        )
    losses["lost_on"] = pd.to_datetime(losses.lost_on).dt.date
    for column in ("created_at", "resolved_at", "resolve_due_at"):
        complaints[column] = _when(complaints[column])
    latest = (
        complaints.sort_values(["created_at", "id"])
        .groupby("customer_id")
        .tail(1)
        .loc[lambda f: f.customer_id.isin(universe.customer_id)]
        .set_index("customer_id", drop=False)
    )
    done = latest.state.isin(["resolved", "closed"])
    on_time = done & (latest.resolve_due_at.isna() | (latest.resolved_at <= latest.resolve_due_at))
    latest["label"] = "unresolved"
    latest.loc[done, "label"] = "late"
    latest.loc[on_time, "label"] = "on_time"
    latest["since"] = latest.created_at.dt.date
    latest = latest.reset_index(drop=True)
    latest["churned"] = _churned_since(latest, losses)
    others = universe[~universe.customer_id.isin(latest.customer_id)].copy()
    others["label"] = "none"
    others["churned"] = others.customer_id.isin(losses.customer_id)
    expected = _rates(pd.concat([latest[["label", "churned"]], others[["label", "churned"]]]))
    _check(expected, shown_outcome)

    bands = pd.cut(latest.rating, [0, 2, 3, 5], labels=["poor", "fair", "good"])
    latest["label"] = bands.astype(object).where(latest.rating.notna(), "not_rated")
    _check(_rates(latest), shown_recovery)

    # the demo's story: complaints left unresolved, and poor recoveries, go with leaving
    rate = {label: value[2] for label, value in shown_outcome.items()}
    assert rate["unresolved"] > rate["on_time"] + 0.1
    assert rate["unresolved"] > rate["none"] + 0.1
    assert shown_recovery["poor"][2] > shown_recovery["good"][2] + 0.1

    body = client.get("/churn/analysis", headers=EN).get_data(as_text=True)
    for title in (
        "Churn rate by how the latest complaint ended",
        "Churn rate by recovery rating",
        "Churn rate by satisfaction band of the last survey",
        "Complaint unresolved",
        "High (4-5 of 5)",
    ):
        assert title in body
    assert "export=by_satisfaction" in body


def test_churn_by_satisfaction_band_and_at_risk_reasons(app, seeded, login):
    client = login("manager")
    shown = _csv(client, "by_satisfaction", SATISFACTION_LABELS)
    with app.app_context():
        universe = _frame("SELECT customer_id FROM customer_statuses")
        losses = _frame("SELECT customer_id, lost_on FROM loss_records")
        answers = _frame(
            "SELECT r.id AS response_id, r.customer_id, r.submitted_at, q.template,"
            " a.value_num, a.item_id, sq.construct AS q_construct, mi.construct AS i_construct,"
            " sq.scale_min, sq.scale_max"
            " FROM survey_responses r JOIN survey_answers a ON a.response_id = r.id"
            " JOIN survey_questions sq ON sq.id = a.question_id"
            " JOIN questionnaires q ON q.id = r.questionnaire_id"
            " LEFT JOIN survey_matrix_items mi ON mi.id = a.item_id"
            " WHERE r.customer_id IS NOT NULL AND r.submitted_at IS NOT NULL"
        )
    losses["lost_on"] = pd.to_datetime(losses.lost_on).dt.date
    construct = answers.q_construct.where(answers.item_id.isna(), answers.i_construct)
    kept = answers[
        (construct == "satisfaction")
        & ~answers.template.isin(["recovery", "exit"])
        & answers.value_num.notna()
        & (answers.scale_max > answers.scale_min)
    ].copy()
    assert len(kept) > 100
    kept["score"] = (kept.value_num - kept.scale_min) / (kept.scale_max - kept.scale_min)
    kept["submitted_at"] = _when(kept.submitted_at)
    per_response = kept.groupby(["response_id", "customer_id", "submitted_at"], as_index=False)[
        "score"
    ].mean()
    last = (
        per_response.sort_values(["submitted_at", "response_id"])
        .groupby("customer_id")
        .tail(1)
        .loc[lambda f: f.customer_id.isin(universe.customer_id)]
        .reset_index(drop=True)
    )
    last["label"] = pd.cut(
        last.score, [-0.01, 0.5, 0.75, 1.01], right=False, labels=["low", "medium", "high"]
    ).astype(str)
    last["since"] = last.submitted_at.dt.date
    last["churned"] = _churned_since(last, losses)
    _check(_rates(last), shown)
    # the demo's story: low scorers leave more often than high scorers
    assert shown["low"][2] > shown["medium"][2] > shown["high"][2]
    _at_risk_reasons(app, client)


def _at_risk_reasons(app, client):
    """The at-risk list gives a recent complaint and a low last score as reasons, exactly for
    the customers the raw tables say, and the model learnt that both raise the hazard."""
    import json

    assert "Out-of-time check: concordance" in client.get("/churn/at-risk", headers=EN).get_data(
        as_text=True
    )
    listed = client.get("/churn/at-risk?export=csv", headers=EN).get_data(as_text=True)
    assert "complained in the last 90 days" in listed
    assert "low score in the last survey" in listed
    with app.app_context():
        run = json.loads(_frame("SELECT coefficients FROM risk_model_runs").coefficients.iloc[-1])
        # the demo's story, learnt by the model: both raise the hazard
        assert run["recent_complaint"] > 0 and run["low_last_score"] > 0
        scores = _frame("SELECT customer_id, as_of, drivers FROM risk_scores")
        complaints = _frame(
            "SELECT customer_id, created_at FROM complaints"
            " WHERE customer_id IS NOT NULL AND merged_into_id IS NULL"
        )
    as_of = pd.Timestamp(scores.as_of.iloc[0], tz="UTC")
    complaints["created_at"] = _when(complaints.created_at).dt.normalize()
    recent = set(
        complaints[
            (complaints.created_at <= as_of)
            & (complaints.created_at > as_of - pd.Timedelta(days=90))
        ].customer_id
    )
    flagged = set(scores[scores.drivers.str.contains("recent_complaint")].customer_id)
    assert flagged and flagged == recent & set(scores.customer_id)
