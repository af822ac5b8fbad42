"""Survival of customer relationships: Kaplan-Meier curves, the log-rank test, and a Cox model
that ranks active customers by their risk of leaving. Wrappers over lifelines (Davidson-Pilon,
lifelines: survival analysis in Python, JOSS 2019)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test
from lifelines.utils import concordance_index


@dataclass
class SurvivalResult:
    #: one row per group and event time: group, days, at_risk, events, survival, lower, upper
    curves: pd.DataFrame
    #: log-rank test across groups (None with a single group)
    test_statistic: float | None = None
    p_value: float | None = None
    degrees_of_freedom: int | None = None
    groups: list[str] = field(default_factory=list)


def kaplan_meier(
    durations, events, groups=None, alpha: float = 0.05, min_group_size: int = 1
) -> SurvivalResult:
    """Kaplan-Meier (product-limit) survival per group with (1 - alpha) confidence bands.

    S(t) = prod_{t_i <= t} (1 - d_i / n_i), with d_i events and n_i at risk at time t_i; the bands
    are lifelines' exponential Greenwood intervals. Across groups, the log-rank test compares
    observed with expected events (a chi-square with groups - 1 degrees of freedom)."""
    data = pd.DataFrame(
        {
            "duration": np.asarray(durations, dtype=float),
            "event": np.asarray(events, dtype=bool),
            "group": "all" if groups is None else np.asarray(groups, dtype=object),
        }
    )
    sizes = data["group"].value_counts()
    data = data[data["group"].isin(sizes[sizes >= min_group_size].index)]
    frames, names = [], sorted(data["group"].unique(), key=str)
    for name in names:
        part = data[data["group"] == name]
        kmf = KaplanMeierFitter(alpha=alpha)
        kmf.fit(part["duration"], part["event"])
        table = kmf.event_table
        ci = kmf.confidence_interval_survival_function_
        frame = pd.DataFrame(
            {
                "group": name,
                "days": kmf.survival_function_.index.to_numpy(),
                "at_risk": table["at_risk"].to_numpy(),
                "events": table["observed"].to_numpy(),
                "survival": kmf.survival_function_.iloc[:, 0].to_numpy(),
                "lower": ci.iloc[:, 0].to_numpy(),
                "upper": ci.iloc[:, 1].to_numpy(),
            }
        )
        frames.append(frame)
    curves = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    result = SurvivalResult(curves=curves, groups=[str(n) for n in names])
    if len(names) > 1:
        test = multivariate_logrank_test(data["duration"], data["group"], data["event"])
        result.test_statistic = float(test.test_statistic)
        result.p_value = float(test.p_value)
        result.degrees_of_freedom = int(test.degrees_of_freedom)
    return result


def survival_at(curves: pd.DataFrame, group, day: float) -> float:
    """S(day) read off a step curve from :func:`kaplan_meier`."""
    part = curves[(curves["group"] == group) & (curves["days"] <= day)]
    return float(part["survival"].iloc[-1]) if len(part) else 1.0


# --- the at-risk model -------------------------------------------------------------------------

COVARIATES = [
    "gap_share",
    "spend_trend",
    "log_orders",
    "log_spend",
    "recent_complaint",
    "low_last_score",
]
#: a complaint this many days before the snapshot (or fewer) counts as recent
RECENT_COMPLAINT_DAYS = 90
#: a last satisfaction score (rescaled to 0-1) under this is low (1-2 of 5)
LOW_SCORE = 0.5


def snapshot_covariates(
    purchases: pd.DataFrame,
    thresholds: pd.Series,
    spells: pd.DataFrame,
    snapshot: date,
    window_days: int = 180,
    complaints: pd.DataFrame | None = None,
    scores: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Covariates of customers not lost at ``snapshot``, from what was known on that day.

    gap_share: days since the last purchase / the customer's loss threshold (how far along the
    way to "lost" they are); spend_trend: relative change of spend in the last ``window_days``
    against the ``window_days`` before, clipped to [-1, 3]; log_orders, log_spend: log(1 + x) of
    orders and spend in the last 365 days; recent_complaint: 1 when the customer complained in
    the ``RECENT_COMPLAINT_DAYS`` up to the snapshot (``complaints``: customer_id, day);
    low_last_score: 1 when the last satisfaction score given up to the snapshot is under
    ``LOW_SCORE`` (``scores``: customer_id, day, score on 0-1)."""
    s = pd.Timestamp(snapshot)
    past = purchases[purchases["occurred_on"] <= s]
    if past.empty:
        return pd.DataFrame(columns=COVARIATES)
    by = past.groupby("customer_id")
    last = by["occurred_on"].max()
    age = (s - past["occurred_on"]).dt.days
    recent = past["amount"].where(age < window_days, 0).groupby(past["customer_id"]).sum()
    before = (
        past["amount"]
        .where((age >= window_days) & (age < 2 * window_days), 0)
        .groupby(past["customer_id"])
        .sum()
    )
    year = age < 365
    out = pd.DataFrame(index=last.index)
    out["gap_share"] = (s - last).dt.days / thresholds.reindex(last.index).fillna(180).clip(lower=1)
    fallback = pd.Series(np.where(recent > 0, 0.0, -1.0), index=recent.index)
    out["spend_trend"] = ((recent - before) / before.where(before > 0)).fillna(fallback)
    out["spend_trend"] = out["spend_trend"].clip(-1, 3)
    out["log_orders"] = np.log1p(year.groupby(past["customer_id"]).sum())
    out["log_spend"] = np.log1p(past["amount"].where(year, 0).groupby(past["customer_id"]).sum())
    out["recent_complaint"] = 0.0
    if complaints is not None and len(complaints):
        day = pd.to_datetime(complaints["day"])
        recent_ids = complaints.loc[
            (day <= s) & (day > s - pd.Timedelta(days=RECENT_COMPLAINT_DAYS)), "customer_id"
        ]
        out.loc[out.index.isin(recent_ids), "recent_complaint"] = 1.0
    out["low_last_score"] = 0.0
    if scores is not None and len(scores):
        known = scores[pd.to_datetime(scores["day"]) <= s]
        if len(known):
            last_score = known.sort_values("day").groupby("customer_id")["score"].last()
            low_ids = last_score.index[last_score < LOW_SCORE]
            out.loc[out.index.isin(low_ids), "low_last_score"] = 1.0
    in_spell = spells[
        (spells["lost_on"] <= s) & (spells["returned_on"].isna() | (spells["returned_on"] > s))
    ]["customer_id"].unique()
    return out[~out.index.isin(in_spell)]


def outcomes(index: pd.Index, spells: pd.DataFrame, snapshot: date, until: date) -> pd.DataFrame:
    """Time from ``snapshot`` to the first loss after it (event) or to ``until`` (censored)."""
    s, u = pd.Timestamp(snapshot), pd.Timestamp(until)
    later = spells[(spells["lost_on"] > s) & (spells["lost_on"] <= u)]
    first = later.groupby("customer_id")["lost_on"].min().reindex(index)
    return pd.DataFrame(
        {
            "duration": ((first.fillna(u) - s).dt.days).clip(lower=1).astype(float),
            "event": first.notna().astype(int),
        },
        index=index,
    )


#: above this many distinct event times, ``concordance`` hands over to lifelines
_FEW_TIMES = 1000


def concordance(durations, scores, events) -> float:
    """Harrell's concordance index, exactly as ``lifelines.utils.concordance_index`` counts it.

    A pair (i, j) is comparable when i was observed to fail first: t_i < t_j, or t_i <= t_j when
    j is censored; it is concordant when score_i < score_j (higher scores mean longer survival)
    and counts one half when the scores tie. C = (concordant + ties / 2) / comparable pairs.

    Event times here are whole days, so there are few distinct ones: the failures before each
    distinct time are sorted once and every subject's counts are two binary searches, instead
    of lifelines' tree walked in Python (most of a second per call at 100,000 customers). With
    many distinct times lifelines does the work."""
    t = np.asarray(durations, dtype=float)
    p = np.asarray(scores, dtype=float)
    e = np.asarray(events).astype(bool)
    died_t, died_p = t[e], p[e]
    if len(np.unique(died_t)) > _FEW_TIMES:
        return float(concordance_index(t, p, e))
    order = np.argsort(died_t, kind="stable")
    died_t, died_p = died_t[order], died_p[order]
    # how many failures each subject is compared with: those strictly earlier (a failure) or
    # not later (censored); always a prefix of the failures in time order
    before = np.where(e, np.searchsorted(died_t, t, "left"), np.searchsorted(died_t, t, "right"))
    pairs = int(before.sum())
    if pairs == 0:
        raise ZeroDivisionError("No admissable pairs in the dataset.")
    correct = tied = 0
    for size in np.unique(before):
        if size == 0:
            continue
        earlier = np.sort(died_p[:size])
        mine = p[before == size]
        lower = np.searchsorted(earlier, mine, "left")
        correct += int(lower.sum())
        tied += int((np.searchsorted(earlier, mine, "right") - lower).sum())
    return (correct + 0.5 * tied) / pairs


@dataclass
class RiskModel:
    coefficients: dict[str, float]
    train_rows: int
    holdout_rows: int
    train_concordance: float | None
    holdout_concordance: float | None
    horizon_days: int
    fitter: CoxPHFitter | None = None

    def probability(self, covariates: pd.DataFrame) -> pd.Series:
        """P(lost within the horizon) = 1 - S(horizon | x)."""
        if self.fitter is None or covariates.empty:
            return pd.Series(0.0, index=covariates.index)
        surv = self.fitter.predict_survival_function(
            covariates[list(self.fitter.params_.index)], times=[self.horizon_days]
        )
        return (1 - surv.iloc[0]).clip(0, 1).set_axis(covariates.index)


def _fit(frame: pd.DataFrame) -> CoxPHFitter | None:
    """Cox fit on the covariates that vary in ``frame`` (a flag nobody has, such as a recent
    complaint where no complaints are recorded, carries no information and is left out)."""
    if frame["event"].sum() < 5 or len(frame) < 20:
        return None
    used = [c for c in COVARIATES if frame[c].nunique() > 1]
    if not used:
        return None
    fitter = CoxPHFitter(penalizer=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifelines warns on near-separation; the check is below
        fitter.fit(frame[[*used, "duration", "event"]], "duration", "event")
    return fitter


def fit_risk_model(
    purchases: pd.DataFrame,
    thresholds: pd.Series,
    spells: pd.DataFrame,
    as_of: date,
    horizon_days: int = 180,
    complaints: pd.DataFrame | None = None,
    scores: pd.DataFrame | None = None,
) -> RiskModel:
    """A Cox proportional-hazards model of time to loss, validated out of time.

    Validation: fit on the snapshot ``as_of - 2h`` with outcomes up to ``as_of - h``, then score
    the snapshot ``as_of - h`` and compare with what happened up to ``as_of`` (Harrell's
    concordance). The model returned is refitted on the later snapshot, ready to score ``as_of``."""
    as_of_ts = pd.Timestamp(as_of)
    h = pd.Timedelta(days=horizon_days)
    early, late = (as_of_ts - 2 * h).date(), (as_of_ts - h).date()

    def frame(snapshot, until):
        x = snapshot_covariates(
            purchases, thresholds, spells, snapshot, complaints=complaints, scores=scores
        )
        return x.join(outcomes(x.index, spells, snapshot, until))

    train, holdout = frame(early, late), frame(late, as_of)
    early_fit = _fit(train)
    holdout_c = None
    if early_fit is not None and holdout["event"].sum() > 0:
        hazard = early_fit.predict_partial_hazard(holdout[list(early_fit.params_.index)])
        holdout_c = concordance(holdout["duration"], -hazard, holdout["event"])
    final = _fit(holdout)
    return RiskModel(
        coefficients={k: float(v) for k, v in final.params_.items()} if final is not None else {},
        train_rows=len(train),
        holdout_rows=len(holdout),
        train_concordance=_train_concordance(final, holdout),
        holdout_concordance=holdout_c,
        horizon_days=horizon_days,
        fitter=final,
    )


def _train_concordance(fitter: CoxPHFitter | None, frame: pd.DataFrame) -> float | None:
    """The concordance of a fit on its own data (lifelines' ``concordance_index_``)."""
    if fitter is None:
        return None
    hazard = fitter.predict_partial_hazard(frame[list(fitter.params_.index)])
    return concordance(frame["duration"], -hazard, frame["event"])


def risk_drivers(covariates: pd.DataFrame) -> pd.Series:
    """Plain reasons behind a risk score, as comma-separated codes: a long gap against the
    customer's own rhythm, spend falling against the half-year before, a recent complaint, a
    low last satisfaction score."""
    none = pd.Series(0.0, index=covariates.index)
    flags = {
        "long_gap": covariates["gap_share"] >= 0.5,
        "declining_spend": covariates["spend_trend"] <= -0.3,
        "recent_complaint": covariates.get("recent_complaint", none) > 0,
        "low_last_score": covariates.get("low_last_score", none) > 0,
    }
    codes = pd.Series("", index=covariates.index)
    for code, flag in flags.items():
        codes = codes.where(~flag, codes + "," + code)
    return codes.str.lstrip(",")
