"""The composite satisfaction index: its three 0-100 components and their weighted sum.

Pure numpy/pandas; the formulas are documented in docs/methodology.md, "The composite index".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

#: the ECSI structural model (Tenenhaus et al. 2005), restricted to the constructs present
ECSI_PATHS = (
    ("image", "expectations"),
    ("image", "satisfaction"),
    ("image", "loyalty"),
    ("expectations", "quality"),
    ("expectations", "value"),
    ("expectations", "satisfaction"),
    ("quality", "value"),
    ("quality", "satisfaction"),
    ("value", "satisfaction"),
    ("satisfaction", "loyalty"),
)
DRIVERS = ("image", "expectations", "quality", "value")

#: complaints per 1,000 active customers per month at which the rate part of C reaches 0
RATE_CEILING = 50.0
#: the parts of C and their weights (renormalised over the parts that can be measured)
C_PARTS = {"rate": 0.25, "sla": 0.25, "recovery": 0.25, "reopen": 0.25}
#: the satisfaction bands of the validity panel (lower bounds, 0-100)
BANDS = ((0.0, "0-49"), (50.0, "50-69"), (70.0, "70-84"), (85.0, "85-100"))


def ecsi_paths(constructs) -> list[tuple[str, str]]:
    present = set(constructs)
    return [(a, b) for a, b in ECSI_PATHS if a in present and b in present]


def rescaled(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """An answer on the scale [low, high] on 0-100: ``100 (x - low) / (high - low)``."""
    return 100.0 * (np.asarray(values, dtype=float) - low) / (high - low)


def fallback_scores(items: pd.DataFrame, scales: dict[str, tuple[float, float]]) -> pd.Series:
    """Each respondent's satisfaction when the model cannot run: the mean of their answered
    satisfaction items, each rescaled to 0-100 with its declared scale ends (equal weights)."""
    parts = pd.DataFrame(
        {c: rescaled(items[c].to_numpy(), *scales[c]) for c in items.columns}, index=items.index
    )
    return parts.mean(axis=1, skipna=True).dropna()


def mean_interval(
    scores: np.ndarray, *, resamples: int = 200, seed: int = 0
) -> tuple[float, float] | None:
    """95% percentile bootstrap interval of a mean (respondents drawn with replacement, numpy
    ``default_rng(seed)``); None below 2 values."""
    scores = np.asarray(scores, dtype=float)
    n = len(scores)
    if n < 2:
        return None
    rng = np.random.default_rng(seed)
    means = scores[rng.integers(0, n, size=(resamples, n))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


@dataclass(frozen=True)
class ComplaintInputs:
    complaints: int
    active_customers: int
    months: int
    sla_met: int
    sla_total: int
    ratings: int
    mean_rating: float | None  # 1-5
    reopened: int
    resolved: int


def complaint_handling(inputs: ComplaintInputs) -> tuple[float | None, dict]:
    """C, 0-100: the weighted mean of four parts, each 0-100 (weights :data:`C_PARTS`,
    renormalised over the parts that have data):

    - rate = 100 * max(0, 1 - r / RATE_CEILING), r = complaints per 1,000 active customers
      per month of the period;
    - sla = 100 * (acknowledgements + resolutions within their deadline) / (those due);
    - recovery = 100 * (mean recovery rating - 1) / 4 (ratings 1-5);
    - reopen = 100 * (1 - reopened / resolved or reopened).

    Returns C (None when no part can be measured) and the parts."""
    parts: dict[str, float | None] = {"rate": None, "sla": None, "recovery": None, "reopen": None}
    per_thousand = None
    if inputs.active_customers:
        per_thousand = 1000.0 * inputs.complaints / inputs.active_customers / inputs.months
        parts["rate"] = 100.0 * max(0.0, 1.0 - per_thousand / RATE_CEILING)
    if inputs.sla_total:
        parts["sla"] = 100.0 * inputs.sla_met / inputs.sla_total
    if inputs.ratings and inputs.mean_rating is not None:
        parts["recovery"] = 100.0 * (inputs.mean_rating - 1.0) / 4.0
    if inputs.resolved:
        parts["reopen"] = 100.0 * (1.0 - inputs.reopened / inputs.resolved)
    measured = {k: v for k, v in parts.items() if v is not None}
    details = {"parts": parts, "per_thousand_month": per_thousand}
    if not measured:
        return None, details
    total = sum(C_PARTS[k] for k in measured)
    return sum(C_PARTS[k] * v for k, v in measured.items()) / total, details


def value_weighted_retention(
    customers: pd.DataFrame, spells: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp
) -> tuple[float | None, dict]:
    """R, 0-100: the share of the customer value held at the start of the period that was not
    lost during it, ``100 * sum(v, kept) / sum(v, at start)``.

    ``customers``: index customer_id, columns ``first`` (first purchase) and ``value`` (the
    customer's lifetime value now; customers without one count with 0). ``spells``: the loss
    register, columns ``customer_id``, ``lost_on``, ``returned_on`` and ``clv_lost`` (the
    lifetime value recorded when the loss was). A customer is "at start" when their first
    purchase is before ``start`` and no loss spell of theirs covers ``start`` (lost before it
    and not back by then); "lost" when a spell of theirs begins in [start, end].

    A customer's value ``v`` is the one recorded at their first loss on or after ``start`` when
    they have one, else their value now. A customer who left has little value now (the margin of
    the last year is gone), so today's values would make every past loss weigh almost nothing
    and R of past periods read close to 100; the value recorded when they left is what their
    leaving cost. Returns R (None when no value at start) and the counts."""
    at_start = customers[customers["first"] < start]
    value = at_start["value"]
    if len(spells):
        ongoing = spells[
            (spells["lost_on"] < start)
            & (spells["returned_on"].isna() | (spells["returned_on"] > start))
        ]
        at_start = at_start[~at_start.index.isin(ongoing["customer_id"])]
        following = spells[spells["lost_on"] >= start].sort_values("lost_on")
        at_loss = following.drop_duplicates("customer_id").set_index("customer_id")["clv_lost"]
        value = at_loss.reindex(at_start.index).fillna(at_start["value"])
        began = following[following["lost_on"] <= end]
        lost = at_start.index.isin(began["customer_id"])
    else:
        lost = np.zeros(len(at_start), dtype=bool)
    value = value.reindex(at_start.index).clip(lower=0).to_numpy(dtype=float)
    total = float(value.sum())
    details = {
        "customers": int(len(at_start)),
        "lost": int(lost.sum()),
        "value_at_start": total,
        "value_lost": float(value[lost].sum()),
    }
    if total <= 0:
        return None, details
    return 100.0 * (total - details["value_lost"]) / total, details


def composite(
    components: tuple[float | None, float | None, float | None],
    weights: tuple[float, float, float],
) -> float | None:
    """The weighted sum ``w_S S + w_C C + w_R R`` (weights sum to 1). A missing component
    leaves the others' weights renormalised to sum to 1; None when all are missing."""
    present = [(w, v) for w, v in zip(weights, components, strict=True) if v is not None]
    total = sum(w for w, _v in present)
    if not present or total <= 0:
        return None
    return sum(w * v for w, v in present) / total


#: the weightings shown beside the chosen one (sensitivity)
ALTERNATIVE_WEIGHTS = {
    "equal": (1 / 3, 1 / 3, 1 / 3),
    "survey_heavy": (0.8, 0.1, 0.1),
    "behaviour_heavy": (0.4, 0.3, 0.3),
    "survey_only": (1.0, 0.0, 0.0),
}


def band_of(score: float) -> str:
    label = BANDS[0][1]
    for low, name in BANDS:
        if score >= low:
            label = name
    return label


@dataclass(frozen=True)
class Correlation:
    """Pearson's r over ``n`` pairs with its 95% interval (Fisher's z: ``tanh(atanh r ± 1.96 /
    sqrt(n - 3))``). ``r`` is None below 3 pairs or when either side is constant; the interval
    is None below 4 pairs."""

    r: float | None
    n: int
    low: float | None = None
    high: float | None = None

    @property
    def reading(self) -> str:
        """The sign the interval shows: "negative" or "positive" when it excludes 0, "unclear"
        when it spans 0, "unknown" without an interval."""
        if self.low is None or self.high is None:
            return "unknown"
        if self.high < 0:
            return "negative"
        if self.low > 0:
            return "positive"
        return "unclear"


def correlation(x, y) -> Correlation:
    """Pearson's r over the pairs ``(x[i], y[i])`` where both are known (None marks an
    unknown value), with its 95% interval (scipy's, by Fisher's z)."""
    x = np.array([np.nan if v is None else v for v in x], dtype=float)
    y = np.array([np.nan if v is None else v for v in y], dtype=float)
    known = ~(np.isnan(x) | np.isnan(y))
    x, y = x[known], y[known]
    n = len(x)
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return Correlation(None, n)
    result = stats.pearsonr(x, y)
    r = float(result.statistic)
    if n < 4:
        return Correlation(r, n)
    interval = result.confidence_interval(confidence_level=0.95)
    return Correlation(r, n, float(interval.low), float(interval.high))
