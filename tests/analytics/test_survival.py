"""Kaplan-Meier, the log-rank test and the at-risk model against hand computations."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from survey_app.analytics import survival
from survey_app.analytics.churn import LossDefinition, rhythm_spells, rhythm_thresholds
from survey_app.analytics.survival import (
    fit_risk_model,
    kaplan_meier,
    outcomes,
    risk_drivers,
    snapshot_covariates,
    survival_at,
)

DURATIONS = [2, 3, 3, 5, 6, 8, 8, 9]
EVENTS = [1, 1, 0, 1, 0, 1, 1, 0]


def test_kaplan_meier_matches_the_product_limit_formula_by_hand():
    result = kaplan_meier(DURATIONS, EVENTS)
    curve = result.curves
    # t=2: 7/8; t=3: x 6/7 (one censored at 3 leaves 5 at risk); t=5: x 4/5; t=8: x 1/3
    expected = {2: 7 / 8, 3: 7 / 8 * 6 / 7, 5: 0.75 * 4 / 5, 6: 0.6, 8: 0.6 / 3, 9: 0.2}
    for day, s in expected.items():
        assert survival_at(curve, "all", day) == pytest.approx(s)
    assert survival_at(curve, "all", 1) == 1.0
    row = curve[curve["days"] == 8].iloc[0]
    assert (row["at_risk"], row["events"]) == (3, 2)


def test_kaplan_meier_band_is_the_exponential_greenwood_interval():
    result = kaplan_meier(DURATIONS, EVENTS, alpha=0.05)
    z = stats.norm.ppf(0.975)
    # at t=5: S=0.6; sum d/(n(n-d)) over t=2,3,5 = 1/56 + 1/42 + 1/20
    s, greenwood = 0.6, 1 / 56 + 1 / 42 + 1 / 20
    v = greenwood / np.log(s) ** 2
    lower, upper = s ** np.exp(z * np.sqrt(v)), s ** np.exp(-z * np.sqrt(v))
    row = result.curves[result.curves["days"] == 5].iloc[0]
    assert row["lower"] == pytest.approx(lower, abs=1e-6)
    assert row["upper"] == pytest.approx(upper, abs=1e-6)


def _log_rank_by_hand(durations, events, groups):
    """Two-group log-rank: sum over event times of O - E and the hypergeometric variance."""
    d, e, g = map(np.asarray, (durations, events, groups))
    o_minus_e, var = 0.0, 0.0
    for t in np.unique(d[e == 1]):
        at_risk = d >= t
        n, n1 = at_risk.sum(), (at_risk & (g == "a")).sum()
        deaths = ((d == t) & (e == 1)).sum()
        d1 = ((d == t) & (e == 1) & (g == "a")).sum()
        o_minus_e += d1 - deaths * n1 / n
        if n > 1:
            var += deaths * (n1 / n) * (1 - n1 / n) * (n - deaths) / (n - 1)
    chi2 = o_minus_e**2 / var
    return chi2, stats.chi2.sf(chi2, 1)


def test_log_rank_test_matches_the_formula():
    rng = np.random.default_rng(4)
    durations = np.concatenate(
        [rng.exponential(10, 40).round() + 1, rng.exponential(20, 40).round() + 1]
    )
    events = rng.random(80) < 0.8
    groups = np.array(["a"] * 40 + ["b"] * 40)
    result = kaplan_meier(durations, events, groups)
    chi2, p = _log_rank_by_hand(durations, events.astype(int), groups)
    assert result.test_statistic == pytest.approx(chi2, rel=1e-6)
    assert result.p_value == pytest.approx(p, rel=1e-6)
    assert result.degrees_of_freedom == 1 and result.groups == ["a", "b"]


def test_small_groups_can_be_left_out():
    result = kaplan_meier([1, 2, 3, 4], [1, 1, 1, 1], ["x", "x", "x", "y"], min_group_size=2)
    assert result.groups == ["x"] and result.p_value is None


def test_snapshot_covariates_by_hand():
    purchases = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 1],
            "occurred_on": pd.to_datetime(["2025-03-01", "2025-06-01", "2025-11-01", "2025-12-01"]),
            "amount": [100.0, 300.0, 50.0, 50.0],
        }
    )
    spells = pd.DataFrame(columns=["customer_id", "lost_on", "returned_on"]).astype(
        {"lost_on": "datetime64[ns]", "returned_on": "datetime64[ns]"}
    )
    x = snapshot_covariates(purchases, pd.Series({1: 120}), spells, date(2026, 1, 30))
    row = x.loc[1]
    assert row["gap_share"] == pytest.approx(60 / 120)  # 60 days since 1 Dec, threshold 120
    # last 180 days (since 3 Aug 2025): 50 + 50; the 180 before (since 4 Feb): 100 + 300
    assert row["spend_trend"] == pytest.approx((100 - 400) / 400)
    assert row["log_orders"] == pytest.approx(np.log1p(4))  # all within 365 days
    assert row["log_spend"] == pytest.approx(np.log1p(500))
    assert risk_drivers(x).loc[1] == "long_gap,declining_spend"


def test_risk_model_ranks_leavers_first_out_of_time():
    """Customers who slow down before leaving: the model must rank them out of time."""
    rng = np.random.default_rng(7)
    rows = []
    start, end = pd.Timestamp("2024-01-01"), pd.Timestamp("2026-06-30")
    for cid in range(1, 601):
        leaves = rng.random() < 0.4
        stop = start + pd.Timedelta(days=int(rng.integers(200, 900))) if leaves else end
        day, gap = start + pd.Timedelta(days=int(rng.integers(0, 30))), float(rng.uniform(8, 25))
        while day <= min(stop, end):
            rows.append((cid, day, float(rng.lognormal(4, 0.4))))
            slow = 1 + 2 * max(0.0, 1 - (stop - day).days / 150) if leaves else 1
            day += pd.Timedelta(days=max(1, int(rng.gamma(2, gap * slow / 2))))
    purchases = pd.DataFrame(rows, columns=["customer_id", "occurred_on", "amount"])
    rule = LossDefinition(rhythm_multiplier=4, floor_days=45, default_days=120)
    as_of = date(2026, 6, 30)
    thresholds = rhythm_thresholds(purchases, rule)
    spells = rhythm_spells(purchases, thresholds, as_of)
    model = fit_risk_model(purchases, thresholds, spells, as_of, horizon_days=180)
    assert model.holdout_concordance is not None and model.holdout_concordance > 0.65
    assert model.coefficients["gap_share"] > 0  # a longer gap means a higher hazard
    x = snapshot_covariates(purchases, thresholds, spells, as_of)
    p = model.probability(x)
    assert ((p >= 0) & (p <= 1)).all()
    far, near = x["gap_share"] >= 0.7, x["gap_share"] <= 0.2
    assert p[far].mean() > p[near].mean()


def test_complaint_and_score_covariates_by_hand():
    purchases = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4],
            "occurred_on": pd.to_datetime(["2026-01-20"] * 4),
            "amount": [100.0] * 4,
        }
    )
    spells = pd.DataFrame(columns=["customer_id", "lost_on", "returned_on"]).astype(
        {"lost_on": "datetime64[ns]", "returned_on": "datetime64[ns]"}
    )
    snapshot = date(2026, 1, 30)
    complaints = pd.DataFrame(
        {
            # 1: 89 days before (recent); 2: 90 days before (not); 3: after the snapshot
            "customer_id": [1, 2, 3],
            "day": [date(2025, 11, 2), date(2025, 11, 1), date(2026, 2, 1)],
        }
    )
    scores = pd.DataFrame(
        {
            # 1: low then high (the last counts); 2: high then low; 3: low after the snapshot
            "customer_id": [1, 1, 2, 2, 3],
            "day": [
                date(2025, 6, 1),
                date(2025, 9, 1),
                date(2025, 6, 1),
                date(2025, 9, 1),
                date(2026, 3, 1),
            ],
            "score": [0.25, 1.0, 0.75, 0.49, 0.0],
        }
    )
    x = snapshot_covariates(
        purchases,
        pd.Series(120, index=[1, 2, 3, 4]),
        spells,
        snapshot,
        complaints=complaints,
        scores=scores,
    )
    assert x["recent_complaint"].to_dict() == {1: 1.0, 2: 0.0, 3: 0.0, 4: 0.0}
    assert x["low_last_score"].to_dict() == {1: 0.0, 2: 1.0, 3: 0.0, 4: 0.0}
    drivers = risk_drivers(x)
    assert drivers.loc[1] == "recent_complaint"
    assert drivers.loc[2] == "low_last_score"
    assert drivers.loc[4] == ""


def test_risk_model_learns_that_complainers_leave():
    """Most leavers complained one to three months before their last order, while still buying
    as usual (the complaint is the early warning); the Cox model must give a
    recent complaint a positive coefficient, and equal to lifelines fitted by hand on the same
    rows; without complaints on record the flag is left out rather than breaking the fit."""
    from lifelines import CoxPHFitter

    rng = np.random.default_rng(11)
    rows, complaints = [], []
    start, end = pd.Timestamp("2024-01-01"), pd.Timestamp("2026-06-30")
    for cid in range(1, 701):
        leaves = rng.random() < 0.4
        stop = start + pd.Timedelta(days=int(rng.integers(300, 900))) if leaves else end
        if leaves and rng.random() < 0.6:
            complaints.append((cid, (stop - pd.Timedelta(days=int(rng.integers(30, 85)))).date()))
        elif rng.random() < 0.05:
            complaints.append((cid, (start + pd.Timedelta(days=int(rng.integers(0, 900)))).date()))
        day, gap = start + pd.Timedelta(days=int(rng.integers(0, 30))), float(rng.uniform(8, 25))
        while day <= min(stop, end):
            rows.append((cid, day, float(rng.lognormal(4, 0.4))))
            day += pd.Timedelta(days=max(1, int(rng.gamma(2, gap / 2))))
    purchases = pd.DataFrame(rows, columns=["customer_id", "occurred_on", "amount"])
    complaint_frame = pd.DataFrame(complaints, columns=["customer_id", "day"])
    rule = LossDefinition(rhythm_multiplier=4, floor_days=45, default_days=120)
    as_of = date(2026, 6, 30)
    thresholds = rhythm_thresholds(purchases, rule)
    spells = rhythm_spells(purchases, thresholds, as_of)
    model = fit_risk_model(
        purchases, thresholds, spells, as_of, horizon_days=180, complaints=complaint_frame
    )
    assert model.coefficients["recent_complaint"] > 0.5
    assert "low_last_score" not in model.coefficients  # nobody has a score: no information

    # independent: the same snapshot and outcomes, fitted with lifelines directly
    late = date(2026, 1, 1)
    x = snapshot_covariates(purchases, thresholds, spells, late, complaints=complaint_frame)
    x = x.join(outcomes(x.index, spells, late, as_of))
    by_hand = CoxPHFitter(penalizer=0.01).fit(
        x[
            [
                "gap_share",
                "spend_trend",
                "log_orders",
                "log_spend",
                "recent_complaint",
                "duration",
                "event",
            ]
        ],
        "duration",
        "event",
    )
    for name, value in by_hand.params_.items():
        assert model.coefficients[name] == pytest.approx(value, rel=1e-6)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_concordance_counts_pairs_and_ties_as_lifelines_does(seed):
    from lifelines.utils import concordance_index

    rng = np.random.default_rng(seed)
    n = 3000
    days = rng.integers(1, 60, n).astype(float)  # whole days: many tied times
    events = rng.random(n) < 0.4
    scores = np.round(rng.normal(size=n) - days / 30, 1)  # rounded: many tied scores
    expected = concordance_index(days, scores, events)
    assert survival.concordance(days, scores, events) == pytest.approx(expected, abs=1e-12)
    # many distinct times: lifelines does the work, same answer
    exact = rng.random(n) * 100
    assert survival.concordance(exact, scores, events) == pytest.approx(
        concordance_index(exact, scores, events), abs=1e-12
    )


def test_concordance_of_a_fit_matches_the_fitters_own():
    from lifelines import CoxPHFitter

    rng = np.random.default_rng(7)
    x = rng.normal(size=800)
    days = np.ceil(rng.exponential(60 * np.exp(-0.7 * x))).clip(1, 180)
    frame = pd.DataFrame({"x": x, "duration": days, "event": (days < 180).astype(int)})
    fitter = CoxPHFitter().fit(frame, "duration", "event")
    hazard = fitter.predict_partial_hazard(frame[["x"]])
    assert survival.concordance(frame["duration"], -hazard, frame["event"]) == pytest.approx(
        fitter.concordance_index_, abs=1e-12
    )
    with pytest.raises(ZeroDivisionError):
        survival.concordance([1.0, 2.0], [0.1, 0.2], [0, 0])
