"""CLV, tiers, Pareto curve and RFM scores against closed forms and hand-made examples."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from survey_app.analytics.value import assign_tiers, clv, pareto_curve, quintile_scores, rfm


@pytest.mark.parametrize(
    ("m", "r", "d", "h", "ac"),
    [(1000.0, 0.8, 0.1, 5, 0.0), (250.0, 0.5, 0.0, 3, 100.0), (90.0, 1.0, 0.08, 10, 0.0)],
)
def test_clv_matches_the_geometric_series_closed_form(m, r, d, h, ac):
    q = r / (1 + d)
    closed = m * (q * (1 - q**h) / (1 - q) if q != 1 else h) - ac
    assert clv(m, r, discount_rate=d, horizon_years=h, acquisition_cost=ac) == pytest.approx(closed)


def test_clv_by_hand_for_two_years():
    # year 1: 1000 * 0.8 / 1.1 = 727.27; year 2: 1000 * 0.64 / 1.21 = 528.93; minus 200
    value = clv(1000, 0.8, discount_rate=0.1, horizon_years=2, acquisition_cost=200)
    assert value == pytest.approx(727.2727 + 528.9256 - 200, abs=1e-3)


def test_clv_is_vectorised():
    values = clv(np.array([100.0, 200.0]), np.array([0.5, 0.9]), discount_rate=0, horizon_years=1)
    assert values.tolist() == pytest.approx([50.0, 180.0])


def test_tiers_follow_cumulative_value_share():
    # total 100: a=50 (before 0%) key, b=30 (before 50%) key, c=10 (before 80%) general,
    # d=6 (before 90%) general, e=3 (before 96%) minor, f=1 minor, g=0 minor, h=-5 minor
    values = pd.Series({"a": 50, "b": 30, "c": 10, "d": 6, "e": 3, "f": 1, "g": 0, "h": -5})
    tiers = assign_tiers(values, key_share=0.8, general_share=0.95)
    assert tiers.to_dict() == {
        "a": "key",
        "b": "key",
        "c": "general",
        "d": "general",
        "e": "minor",
        "f": "minor",
        "g": "minor",
        "h": "minor",
    }


def test_tiers_with_editable_cut_offs_and_no_value():
    values = pd.Series({1: 40.0, 2: 30.0, 3: 20.0, 4: 10.0})
    assert assign_tiers(values, 0.5, 0.75).tolist() == ["key", "key", "general", "minor"]
    assert set(assign_tiers(pd.Series({1: 0.0, 2: -1.0}))) == {"minor"}
    with pytest.raises(ValueError):
        assign_tiers(values, 0.9, 0.5)


def test_pareto_curve_by_hand():
    curve = pareto_curve(pd.Series([10.0, 60.0, 30.0, 0.0]))
    assert curve["customer_share"].tolist() == [0, 0.25, 0.5, 0.75, 1.0]
    assert curve["value_share"].tolist() == pytest.approx([0, 0.6, 0.9, 1.0, 1.0])


def test_quintile_scores_rank_into_five_groups():
    scores = quintile_scores(np.arange(10, dtype=float))
    assert scores.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # ties share the average rank: 1.5 of 2 -> ceil(1.5 / 2 * 5) = 4
    assert quintile_scores(np.array([7.0, 7.0])).tolist() == [4, 4]


def test_rfm_by_hand():
    purchases = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 2, 2],
            "occurred_on": pd.to_datetime(
                ["2025-01-10", "2025-07-01", "2026-06-01", "2025-06-30", "2026-07-05"]
            ),
            "amount": [100.0, 200.0, 300.0, 50.0, 999.0],
            "margin": [10.0, 20.0, 30.0, 5.0, 99.0],
        }
    )
    out = rfm(purchases, date(2026, 6, 30))
    # window: 30 Jun 2025 < day <= 30 Jun 2026; 5 Jul 2026 is after as_of
    assert out.loc[1].tolist() == [29, 2, 500.0, 50.0]
    assert out.loc[2].tolist() == [365, 0, 0.0, 0.0]
