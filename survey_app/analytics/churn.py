"""Who is lost, as of any date, and churn and retention per period.

Definitions (DOMAIN.md §3): a contractual customer is lost when their contract ends or is cancelled
and no new one starts within a grace period; a non-contractual customer is lost after going longer
without a purchase than their own rhythm allows: ``threshold = max(floor, ceil(k * median gap))``,
or a default when they have fewer than three purchase days. A *spell* is one period of being lost:
``lost_on`` (the first day counted as lost) and ``returned_on`` (the day they bought or signed
again,
NaT while still lost).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

SPELL_COLUMNS = ["customer_id", "lost_on", "returned_on"]
#: status priority: a lost customer is lost even if they were won back before
ACTIVE, AT_RISK, LOST, WON_BACK = "active", "at_risk", "lost", "won_back"


@dataclass(frozen=True)
class LossDefinition:
    rhythm_multiplier: float = 4.0
    floor_days: int = 90
    default_days: int = 180
    at_risk_share: float = 0.6
    renewal_grace_days: int = 30
    renewal_warning_days: int = 60
    won_back_days: int = 365


def _purchase_days(purchases: pd.DataFrame, as_of: date | None = None) -> pd.DataFrame:
    """Distinct (customer_id, purchase day) pairs, sorted by customer then day.

    One sort of a packed int64 key (customer id in the high 32 bits, day number offset into the
    low 32) instead of a frame-wide drop_duplicates and sort: millions of rows in a fraction of
    the time."""
    days = purchases[["customer_id", "occurred_on"]]
    if as_of is not None:
        days = days[days["occurred_on"] <= pd.Timestamp(as_of)]
    day_number = days["occurred_on"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    key = (days["customer_id"].to_numpy(dtype=np.int64) << 32) | (day_number + 2**31)
    key.sort()  # (np.unique hashes first: slower here than sorting and comparing neighbours)
    key = key[np.concatenate(([True], key[1:] != key[:-1]))] if len(key) else key
    return pd.DataFrame(
        {
            "customer_id": key >> 32,
            "occurred_on": ((key & 0xFFFFFFFF) - 2**31)
            .astype("datetime64[D]")
            .astype("datetime64[ns]"),
        }
    )


def rhythm_thresholds(purchases: pd.DataFrame, definition: LossDefinition) -> pd.Series:
    """Days without a purchase after which each customer counts as lost.

    ``max(floor_days, ceil(k * median gap between distinct purchase days))`` for customers with
    at least two gaps; ``default_days`` for the others."""
    days = _purchase_days(purchases)
    gaps = days.groupby("customer_id")["occurred_on"].diff().dt.days
    stats = gaps.groupby(days["customer_id"]).agg(["median", "count"])
    threshold = np.maximum(
        definition.floor_days, np.ceil(definition.rhythm_multiplier * stats["median"].fillna(0))
    )
    threshold = threshold.where(stats["count"] >= 2, definition.default_days)
    return threshold.astype(int).rename("threshold_days")


def rhythm_spells(purchases: pd.DataFrame, thresholds: pd.Series, as_of: date) -> pd.DataFrame:
    """Loss spells of non-contractual customers from their purchase days up to ``as_of``.

    A gap from purchase p to the next purchase n with ``n > p + T`` is a spell from ``p + T`` to
    ``n``; a last purchase with ``as_of >= p + T`` opens a spell that is still running."""
    days = _purchase_days(purchases, as_of)
    if days.empty:
        return pd.DataFrame(columns=SPELL_COLUMNS)
    threshold = pd.to_timedelta(days["customer_id"].map(thresholds).fillna(0), unit="D")
    nxt = days.groupby("customer_id")["occurred_on"].shift(-1)
    lost_on = days["occurred_on"] + threshold
    closed = nxt.notna() & (nxt > lost_on)
    still = nxt.isna() & (lost_on <= pd.Timestamp(as_of))
    spells = pd.DataFrame(
        {
            "customer_id": days["customer_id"],
            "lost_on": lost_on,
            "returned_on": nxt.where(closed),
        }
    )[closed | still]
    return spells.reset_index(drop=True)


def contract_spells(contracts: pd.DataFrame, grace_days: int, as_of: date) -> pd.DataFrame:
    """Loss spells of contractual customers.

    ``contracts`` has customer_id, started_on and effective_end (the earlier of end and
    cancellation; NaT for open-ended). Coverage is the union of contracts; when coverage stops on
    day e and no contract starts by ``e + grace``, the customer is lost from e until the next start
    (or still lost when ``as_of >= e + grace``)."""
    as_of_ts = pd.Timestamp(as_of)
    c = contracts[contracts["started_on"] <= as_of_ts].sort_values(
        ["customer_id", "started_on"], kind="stable"
    )
    if c.empty:
        return pd.DataFrame(columns=SPELL_COLUMNS)
    far = pd.Timestamp("2262-01-01")
    end = c["effective_end"].fillna(far)
    covered_until = end.groupby(c["customer_id"]).cummax()
    next_start = c.groupby("customer_id")["started_on"].shift(-1)
    grace = pd.Timedelta(days=grace_days)
    closed = next_start.notna() & (next_start > covered_until + grace)
    still = next_start.isna() & (covered_until < far) & (covered_until + grace <= as_of_ts)
    spells = pd.DataFrame(
        {
            "customer_id": c["customer_id"],
            "lost_on": covered_until,
            "returned_on": next_start.where(closed),
        }
    )[closed | still]
    return spells.reset_index(drop=True)


def evaluate(
    purchases: pd.DataFrame,
    contracts: pd.DataFrame,
    definition: LossDefinition,
    as_of: date,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Status of every customer with history as of ``as_of``, and all their loss spells.

    Customers with a contract started by ``as_of`` are judged on contracts, the others on their
    purchase rhythm. Status: ``lost`` (a spell is running), else ``at_risk`` (rhythm: at least
    ``at_risk_share`` of the threshold has passed without a purchase; contract: coverage ends
    within ``renewal_warning_days`` or has ended within the grace period), else ``won_back`` (came
    back from a spell within ``won_back_days``), else ``active``.

    Returns ``(statuses, spells)``: statuses indexed by customer_id with status, basis,
    last_purchase_on, threshold_days, lost_on, returned_on."""
    as_of_ts = pd.Timestamp(as_of)
    purchases = purchases[purchases["occurred_on"] <= as_of_ts]
    contracts = contracts[contracts["started_on"] <= as_of_ts]
    contract_ids = pd.Index(contracts["customer_id"].unique())
    rhythm_purchases = purchases[~purchases["customer_id"].isin(contract_ids)]
    thresholds = rhythm_thresholds(rhythm_purchases, definition)
    spells = pd.concat(
        [
            df
            for df in (
                rhythm_spells(rhythm_purchases, thresholds, as_of),
                contract_spells(contracts, definition.renewal_grace_days, as_of),
            )
            if not df.empty
        ]
        or [pd.DataFrame(columns=SPELL_COLUMNS)],
        ignore_index=True,
    )
    for column in ("lost_on", "returned_on"):
        spells[column] = pd.to_datetime(spells[column])

    ids = pd.Index(purchases["customer_id"].unique()).union(contract_ids)
    out = pd.DataFrame(index=ids)
    out.index.name = "customer_id"
    out["basis"] = np.where(out.index.isin(contract_ids), "contract", "rhythm")
    out["last_purchase_on"] = purchases.groupby("customer_id")["occurred_on"].max()
    out["threshold_days"] = thresholds
    open_spells = spells[spells["returned_on"].isna()].groupby("customer_id")["lost_on"].max()
    closed = spells[spells["returned_on"].notna()].sort_values("returned_on")
    last_closed = closed.groupby("customer_id").last()
    out["lost_on"] = open_spells
    out["returned_on"] = pd.NaT
    out.loc[last_closed.index, "returned_on"] = last_closed["returned_on"]
    missing_lost = out["lost_on"].isna() & out["returned_on"].notna()
    out.loc[missing_lost, "lost_on"] = last_closed["lost_on"].reindex(out.index)[missing_lost]

    lost = out.index.isin(open_spells.index)
    days_since = (as_of_ts - out["last_purchase_on"]).dt.days
    rhythm_risk = (out["basis"] == "rhythm") & (
        days_since >= definition.at_risk_share * out["threshold_days"]
    )
    coverage_end = _coverage_end(contracts)
    ends_in = (coverage_end.reindex(out.index) - as_of_ts).dt.days
    contract_risk = (out["basis"] == "contract") & (
        ends_in <= definition.renewal_warning_days
    ).fillna(False)
    recent_return = out["returned_on"].notna() & (
        (as_of_ts - out["returned_on"]).dt.days <= definition.won_back_days
    )
    out["status"] = np.select(
        [lost, rhythm_risk.fillna(False) | contract_risk, recent_return],
        [LOST, AT_RISK, WON_BACK],
        default=ACTIVE,
    )
    return out, spells


def _coverage_end(contracts: pd.DataFrame) -> pd.Series:
    """Per customer, the end of their latest coverage (NaT when a contract is open-ended)."""
    if contracts.empty:
        return pd.Series(dtype="datetime64[ns]")
    open_ended = contracts["effective_end"].isna().groupby(contracts["customer_id"]).any()
    ends = contracts.groupby("customer_id")["effective_end"].max()
    return ends.where(~open_ended)


def churn_by_month(
    first_dates: pd.Series,
    spells: pd.DataFrame,
    month_starts: list[date],
    groups: pd.Series | None = None,
) -> pd.DataFrame:
    """Churn and retention per month (and per group).

    For the month starting at t: ``at_start`` = customers whose first purchase was before t and who
    were not in a loss spell at t (a spell covers t when ``lost_on < t`` and it has not ended by t);
    ``lost`` = spells starting in the month; ``won_back`` = spells ending in the month;
    ``churn_rate = lost / at_start``; ``retention = 1 - churn_rate``.

    ``first_dates`` is indexed by customer_id; ``groups`` (same index) splits the figures."""
    if groups is None:
        groups = pd.Series("all", index=first_dates.index)
    edges = pd.to_datetime(pd.Series(list(month_starts)))
    starts = edges.to_numpy()[:-1] if len(edges) > 1 else edges.to_numpy()
    ends = edges.to_numpy()[1:] if len(edges) > 1 else edges.to_numpy()
    spell_groups = spells["customer_id"].map(groups)
    rows = []
    for group in sorted(groups.dropna().unique(), key=str):
        first = np.sort(pd.to_datetime(first_dates[groups == group]).dropna().to_numpy())
        mine = spells[spell_groups == group]
        lost_on = np.sort(mine["lost_on"].to_numpy(dtype="datetime64[ns]"))
        returned = np.sort(mine["returned_on"].dropna().to_numpy(dtype="datetime64[ns]"))
        for start, end in zip(starts, ends, strict=True):
            at_start = (
                np.searchsorted(first, start, side="left")
                - np.searchsorted(lost_on, start, side="left")
                + np.searchsorted(returned, start, side="right")
            )
            lost = np.searchsorted(lost_on, end, "left") - np.searchsorted(lost_on, start, "left")
            back = np.searchsorted(returned, end, "left") - np.searchsorted(returned, start, "left")
            rate = lost / at_start if at_start else np.nan
            rows.append(
                {
                    "group": group,
                    "month": pd.Timestamp(start).date(),
                    "at_start": int(at_start),
                    "lost": int(lost),
                    "won_back": int(back),
                    "churn_rate": rate,
                    "retention": 1 - rate if at_start else np.nan,
                }
            )
    return pd.DataFrame(
        rows, columns=["group", "month", "at_start", "lost", "won_back", "churn_rate", "retention"]
    )


def yearly_retention(monthly: pd.DataFrame) -> pd.Series:
    """Per group, the yearly retention implied by the months given: the product of (1 - churn
    rate) over them (months without customers at their start are skipped)."""
    valid = monthly.dropna(subset=["retention"])
    return valid.groupby("group")["retention"].prod()


def cohort_counts(purchases: pd.DataFrame) -> pd.DataFrame:
    """Distinct buying customers per (first-purchase month, month): the input of
    :func:`cohort_retention`. Columns cohort, month (first days of months) and customers."""
    if purchases.empty:
        return pd.DataFrame(columns=["cohort", "month", "customers"])
    day = purchases["occurred_on"]
    month = (day.dt.year * 12 + day.dt.month - 1).to_numpy()
    pairs = pd.DataFrame({"customer_id": purchases["customer_id"].to_numpy(), "month": month})
    pairs = pairs.drop_duplicates()
    pairs["cohort"] = pairs.groupby("customer_id")["month"].transform("min")
    counts = pairs.groupby(["cohort", "month"]).size().rename("customers").reset_index()

    def to_date(index):
        return pd.to_datetime({"year": index // 12, "month": index % 12 + 1, "day": 1})

    counts["cohort"] = to_date(counts["cohort"])
    counts["month"] = to_date(counts["month"])
    return counts


def cohort_retention(activity: pd.DataFrame) -> pd.DataFrame:
    """Cohort retention matrix from counts of active customers.

    ``activity`` has cohort (first purchase month, a Timestamp), month (a month in which some of
    them bought) and customers (how many distinct cohort members bought that month). Returns a
    frame indexed by cohort with columns 0, 1, 2, ... (months since the first purchase) holding the
    share of the cohort who bought that month; the size of the cohort is the count at month 0."""
    if activity.empty:
        return pd.DataFrame()
    data = activity.copy()
    data["cohort"] = pd.to_datetime(data["cohort"])
    data["month"] = pd.to_datetime(data["month"])
    data["period"] = (data["month"].dt.year - data["cohort"].dt.year) * 12 + (
        data["month"].dt.month - data["cohort"].dt.month
    )
    table = data.pivot_table(index="cohort", columns="period", values="customers", aggfunc="sum")
    size = table[0] if 0 in table.columns else table.max(axis=1)
    return table.div(size, axis=0).sort_index()
