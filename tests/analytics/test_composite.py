"""The composite index formulas, against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from survey_app.analytics import composite as cx


def test_complaint_handling_parts_and_renormalisation():
    c, details = cx.complaint_handling(
        cx.ComplaintInputs(
            complaints=30,
            active_customers=1000,
            months=3,
            sla_met=45,
            sla_total=50,
            ratings=4,
            mean_rating=4.0,
            reopened=2,
            resolved=20,
        )
    )
    # 10 per 1,000 a month -> 80; SLA 90; recovery 75; not reopened 90
    assert details["parts"] == pytest.approx({"rate": 80, "sla": 90, "recovery": 75, "reopen": 90})
    assert c == pytest.approx((80 + 90 + 75 + 90) / 4)
    only_rate, _ = cx.complaint_handling(cx.ComplaintInputs(0, 500, 1, 0, 0, 0, None, 0, 0))
    assert only_rate == 100
    nothing, _ = cx.complaint_handling(cx.ComplaintInputs(3, 0, 1, 0, 0, 0, None, 0, 0))
    assert nothing is None


def test_composite_renormalises_over_known_components():
    assert cx.composite((70, 80, 90), (0.6, 0.2, 0.2)) == pytest.approx(76)
    assert cx.composite((70, None, 90), (0.6, 0.2, 0.2)) == pytest.approx(
        (0.6 * 70 + 0.2 * 90) / 0.8
    )
    assert cx.composite((None, None, None), (0.6, 0.2, 0.2)) is None


def test_value_weighted_retention():
    start, end = pd.Timestamp("2026-04-01"), pd.Timestamp("2026-06-30")
    customers = pd.DataFrame(
        {
            "first": pd.to_datetime(
                [
                    "2025-01-01",
                    "2025-02-01",
                    "2025-03-01",
                    "2026-05-01",
                    "2024-01-01",
                    "2025-01-01",
                    "2024-06-01",
                ]
            ),
            "value": [100.0, 300.0, 600.0, 50.0, 999.0, 10.0, 200.0],  # their values now
        },
        index=[1, 2, 3, 4, 5, 6, 7],
    )
    spells = pd.DataFrame(
        {
            "customer_id": [2, 5, 4, 6, 7],
            "lost_on": pd.to_datetime(
                ["2026-05-10", "2026-01-01", "2026-06-01", "2026-08-01", "2025-06-01"]
            ),
            "returned_on": pd.to_datetime([None, None, None, None, "2025-12-01"]),
            "clv_lost": [500.0, 700.0, 40.0, 400.0, 800.0],  # their values when they left
        }
    )
    # 4 is not a customer at the start (first purchase later); 5 was already lost; 7 was lost
    # and came back before the start. Values: 1 and 3 now, 2 and 6 when they left (in the
    # period, after it), 7 now (the loss before the start is not theirs any more).
    r, details = cx.value_weighted_retention(customers, spells, start, end)
    assert details["customers"] == 5 and details["lost"] == 1
    assert details["value_at_start"] == pytest.approx(100 + 500 + 600 + 400 + 200)
    assert details["value_lost"] == pytest.approx(500)
    assert r == pytest.approx(100 * (1800 - 500) / 1800)
    no_losses = cx.value_weighted_retention(customers, spells.iloc[:0], start, end)
    assert no_losses == (
        100.0,
        {**details, "customers": 6, "lost": 0, "value_at_start": 2209.0, "value_lost": 0.0},
    )


def test_fallback_scores_and_mean_interval():
    items = pd.DataFrame({"a": [10, 1, np.nan], "b": [5.5, 1, 10]}, index=[7, 8, 9])
    scores = cx.fallback_scores(items, {"a": (1, 10), "b": (1, 10)})
    assert scores.to_dict() == pytest.approx({7: 75.0, 8: 0.0, 9: 100.0})
    low, high = cx.mean_interval(np.array([50.0] * 10))
    assert low == high == 50
    assert cx.mean_interval(np.array([1.0])) is None


@pytest.mark.parametrize(
    "score, band", [(0, "0-49"), (49.9, "0-49"), (50, "50-69"), (84.99, "70-84"), (85, "85-100")]
)
def test_bands(score, band):
    assert cx.band_of(score) == band


def test_correlation_matches_numpy_and_fishers_interval():
    x = [1, 2, 3, 4, 5, 6, 7, None, 9]
    y = [2.0, 1.0, 4.0, 3.0, 7.0, 5.0, 8.0, 1.0, None]
    result = cx.correlation(x, y)
    pairs = np.array([[1, 2], [2, 1], [3, 4], [4, 3], [5, 7], [6, 5], [7, 8]], dtype=float)
    r = np.corrcoef(pairs[:, 0], pairs[:, 1])[0, 1]
    # Fisher's z, worked out here: tanh(atanh(r) -/+ z_0.975 / sqrt(n - 3))
    half = 1.959963984540054 / math.sqrt(7 - 3)
    assert result.n == 7 and result.r == pytest.approx(r)
    assert result.low == pytest.approx(math.tanh(math.atanh(r) - half))
    assert result.high == pytest.approx(math.tanh(math.atanh(r) + half))
    assert result.reading == "positive"  # r = 0.87, interval 0.35 to 0.98


@pytest.mark.parametrize(
    "x, y, reading",
    [
        ([1, 2, 3, 4, 5, 6, 7, 8], [9, 7, 8, 5, 6, 3, 4, 1], "negative"),
        ([1, 2, 3, 4, 5, 6], [3, 1, 4, 1, 5, 2], "unclear"),
    ],
)
def test_correlation_reading_follows_the_interval(x, y, reading):
    result = cx.correlation(x, y)
    assert result.reading == reading
    assert (result.high < 0) if reading == "negative" else (result.low < 0 < result.high)


def test_correlation_needs_pairs_that_vary():
    assert cx.correlation([1, 2], [3, 4]) == cx.Correlation(None, 2)
    three = cx.correlation([1, 2, 3], [3, 1, 2])
    assert three.r == pytest.approx(-0.5) and three.low is None and three.reading == "unknown"
    assert cx.correlation([1, 2, 3, 4], [5, 5, 5, 5]) == cx.Correlation(None, 4)
    assert cx.correlation([None] * 5, [1, 2, 3, 4, 5]).n == 0
