"""Churn and retention per month, and cohort retention, against brute-force computations."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from survey_app.analytics.churn import (
    LossDefinition,
    churn_by_month,
    cohort_counts,
    cohort_retention,
    rhythm_spells,
    rhythm_thresholds,
    yearly_retention,
)


def _random_history(seed: int, customers: int = 40):
    rng = np.random.default_rng(seed)
    rows = []
    for cid in range(1, customers + 1):
        day = pd.Timestamp("2025-01-01") + pd.Timedelta(days=int(rng.integers(0, 300)))
        stop = day + pd.Timedelta(days=int(rng.integers(20, 500)))
        while day < stop:
            rows.append((cid, day))
            day += pd.Timedelta(days=int(rng.gamma(2.0, 12.0)) + 1)
            if rng.random() < 0.05:
                day += pd.Timedelta(days=int(rng.integers(60, 150)))  # a pause, maybe a spell
    return pd.DataFrame(rows, columns=["customer_id", "occurred_on"]).assign(amount=1.0)


def _brute_force(first: pd.Series, spells: pd.DataFrame, month_starts):
    rows = []
    for start, end in zip(month_starts[:-1], month_starts[1:], strict=True):
        t, u = pd.Timestamp(start), pd.Timestamp(end)
        at_start = 0
        for cid, first_day in first.items():
            mine = spells[spells["customer_id"] == cid]
            lost_at_t = any(
                (s.lost_on < t) and (pd.isna(s.returned_on) or s.returned_on > t)
                for s in mine.itertuples()
            )
            at_start += int(first_day < t and not lost_at_t)
        lost = int(((spells["lost_on"] >= t) & (spells["lost_on"] < u)).sum())
        back = int(((spells["returned_on"] >= t) & (spells["returned_on"] < u)).sum())
        rows.append((start, at_start, lost, back))
    return rows


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_churn_by_month_matches_a_brute_force_count(seed):
    history = _random_history(seed)
    rule = LossDefinition(rhythm_multiplier=3, floor_days=30, default_days=90)
    as_of = date(2026, 6, 30)
    spells = rhythm_spells(history, rhythm_thresholds(history, rule), as_of)
    first = history.groupby("customer_id")["occurred_on"].min()
    months = [date(2025, m, 1) for m in range(2, 13)] + [date(2026, m, 1) for m in range(1, 7)]
    got = churn_by_month(first, spells, months)
    expected = _brute_force(first, spells, months)
    assert spells["returned_on"].notna().any() and spells["returned_on"].isna().any()
    assert [(r.month, r.at_start, r.lost, r.won_back) for r in got.itertuples()] == expected
    for row in got.itertuples():
        if row.at_start:
            assert row.churn_rate == pytest.approx(row.lost / row.at_start)
            assert row.retention == pytest.approx(1 - row.lost / row.at_start)


def test_churn_by_month_splits_by_group():
    first = pd.Series(pd.to_datetime(["2025-01-01", "2025-01-01", "2025-01-01"]), index=[1, 2, 3])
    spells = pd.DataFrame(
        {
            "customer_id": [1, 3],
            "lost_on": pd.to_datetime(["2025-03-10", "2025-02-05"]),
            "returned_on": pd.to_datetime([None, "2025-03-20"]),
        }
    )
    groups = pd.Series({1: "key", 2: "key", 3: "minor"})
    got = churn_by_month(
        first, spells, [date(2025, 2, 1), date(2025, 3, 1), date(2025, 4, 1)], groups
    )
    table = {(r.group, r.month.month): (r.at_start, r.lost, r.won_back) for r in got.itertuples()}
    assert table == {
        ("key", 2): (2, 0, 0),
        ("key", 3): (2, 1, 0),
        ("minor", 2): (1, 1, 0),
        ("minor", 3): (0, 0, 1),  # lost on 1 March, back during March
    }
    yearly = yearly_retention(got)
    assert yearly["key"] == pytest.approx(1.0 * 0.5)
    assert yearly["minor"] == pytest.approx(0.0)


def test_cohort_retention_by_hand():
    activity = pd.DataFrame(
        {
            "cohort": pd.to_datetime(["2026-01-01"] * 3 + ["2026-02-01"] * 2),
            "month": pd.to_datetime(
                ["2026-01-01", "2026-02-01", "2026-03-01", "2026-02-01", "2026-04-01"]
            ),
            "customers": [10, 4, 2, 5, 1],
        }
    )
    matrix = cohort_retention(activity)
    assert matrix.loc[pd.Timestamp("2026-01-01")].tolist()[:3] == [1.0, 0.4, 0.2]
    feb = matrix.loc[pd.Timestamp("2026-02-01")]
    assert feb[0] == 1.0 and np.isnan(feb[1]) and feb[2] == pytest.approx(0.2)


def test_cohort_counts_count_distinct_buyers_by_hand():
    purchases = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 2, 2, 3],
            "occurred_on": pd.to_datetime(
                ["2025-12-05", "2025-12-20", "2026-02-01", "2025-12-31", "2026-01-02", "2026-01-15"]
            ),
            "amount": 1.0,
        }
    )
    counts = cohort_counts(purchases)
    got = {
        (c.strftime("%Y-%m"), m.strftime("%Y-%m")): n
        for c, m, n in counts[["cohort", "month", "customers"]].itertuples(index=False)
    }
    # customer 1 (cohort Dec) bought in Dec twice and Feb; 2 (Dec) in Dec and Jan; 3 (Jan) in Jan
    assert got == {
        ("2025-12", "2025-12"): 2,
        ("2025-12", "2026-01"): 1,
        ("2025-12", "2026-02"): 1,
        ("2026-01", "2026-01"): 1,
    }
    matrix = cohort_retention(counts)
    assert matrix.loc[pd.Timestamp("2025-12-01")].tolist() == [1.0, 0.5, 0.5]
