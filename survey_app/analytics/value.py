"""Customer value: recency/frequency/monetary, lifetime value and key/general/minor tiers.

Sources: DOMAIN.md §4 (CLV with margin, retention and discount; tiers by the 80/20 rule); RFM as
in Hughes (1994), quintile scores 1-5 with 5 the best.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

TIERS = ("key", "general", "minor")


def rfm(purchases: pd.DataFrame, as_of: date, window_days: int = 365) -> pd.DataFrame:
    """Recency, frequency and monetary figures per customer as of ``as_of``.

    ``purchases`` has customer_id, occurred_on (datetime64), amount and margin; later rows are
    ignored. Per customer: recency_days (days since the last purchase), and over the last
    ``window_days`` (``as_of - window < day <= as_of``): frequency (orders), monetary (revenue)
    and annual_margin."""
    as_of_ts = pd.Timestamp(as_of)
    data = purchases[purchases["occurred_on"] <= as_of_ts]
    by = data.groupby("customer_id")
    recent = data["occurred_on"] > as_of_ts - pd.Timedelta(days=window_days)
    out = pd.DataFrame({"recency_days": (as_of_ts - by["occurred_on"].max()).dt.days})
    out["frequency"] = recent.groupby(data["customer_id"]).sum().astype(int)
    out["monetary"] = data["amount"].where(recent, 0.0).groupby(data["customer_id"]).sum()
    out["annual_margin"] = data["margin"].where(recent, 0.0).groupby(data["customer_id"]).sum()
    return out


def quintile_scores(values: np.ndarray) -> np.ndarray:
    """Scores 1..5 by quintile of the (average) rank: higher value, higher score."""
    n = len(values)
    if n == 0:
        return np.array([], dtype=int)
    ranks = pd.Series(values).rank(method="average").to_numpy()
    return np.clip(np.ceil(ranks / n * 5).astype(int), 1, 5)


def clv(
    annual_margin,
    retention,
    *,
    discount_rate: float,
    horizon_years: int,
    acquisition_cost: float = 0.0,
):
    """Customer lifetime value, DOMAIN.md §4:

        CLV = sum_{t=1..H} m * r^t / (1+d)^t  -  AC

    m is the yearly margin (assumed constant), r the yearly retention rate, d the discount rate, H
    the horizon in years and AC the acquisition cost. The first year's margin is counted at the
    end of year one, when the customer has stayed with probability r. Works on scalars or arrays."""
    m = np.asarray(annual_margin, dtype=float)
    r = np.asarray(retention, dtype=float)
    q = r / (1.0 + discount_rate)
    factor = sum(q**t for t in range(1, int(horizon_years) + 1))
    return m * factor - acquisition_cost


def assign_tiers(
    values: pd.Series, key_share: float = 0.8, general_share: float = 0.95
) -> pd.Series:
    """Key / general / minor by cumulative share of value (the 80/20 rule).

    Customers are sorted by value, largest first. A customer is "key" while the value of the
    customers ranked above them is below ``key_share`` of the total (so the customer who crosses
    the line is still key), "general" likewise up to ``general_share``, "minor" after. Customers
    with no positive value are minor; ties are broken by index for a stable result."""
    if not 0 < key_share <= general_share <= 1:
        raise ValueError("need 0 < key_share <= general_share <= 1")
    tiers = pd.Series("minor", index=values.index, dtype=object)
    positive = values[values > 0]
    total = float(positive.sum())
    if total <= 0:
        return tiers
    ordered = positive.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    before = (ordered.cumsum() - ordered) / total
    tiers[before.index[before < key_share]] = "key"
    general = before.index[(before >= key_share) & (before < general_share)]
    tiers[general] = "general"
    return tiers


def pareto_curve(values: pd.Series) -> pd.DataFrame:
    """The Pareto (Lorenz-like) curve: after ranking customers by value, largest first, the share
    of customers against the share of total value they make. Starts at (0, 0)."""
    ordered = np.sort(np.clip(np.asarray(values, dtype=float), 0, None))[::-1]
    n, total = len(ordered), ordered.sum()
    customer_share = np.arange(0, n + 1) / max(n, 1)
    value_share = (
        np.concatenate([[0.0], np.cumsum(ordered) / total]) if total > 0 else np.zeros(n + 1)
    )
    return pd.DataFrame({"customer_share": customer_share, "value_share": value_share})
