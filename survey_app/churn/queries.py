"""Read-side aggregates for lost customers: the register, the analyses and the at-risk list.
Counting and summing run in SQL; per-customer columns travel only where a survival or period
computation needs them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import sqlalchemy as sa

from survey_app.analytics.churn import LossDefinition
from survey_app.customers.models import Customer, CustomerValue
from survey_app.customers.queries import month_of, raw_frame
from survey_app.extensions import db
from survey_app.taxonomy.models import Reason

from .models import (
    ChurnSettings,
    CohortCount,
    CustomerStatus,
    LossRecord,
    RiskScore,
    Status,
    WinBackAttempt,
    loss_record_reasons,
)


def status_of(customer_id: int) -> CustomerStatus | None:
    return db.session.get(CustomerStatus, customer_id)


def losses_of(customer_id: int) -> list[LossRecord]:
    return list(
        db.session.scalars(
            sa.select(LossRecord)
            .where(LossRecord.customer_id == customer_id)
            .order_by(LossRecord.lost_on.desc())
        )
    )


def as_of() -> date | None:
    """The date of the last recompute."""
    return db.session.scalar(sa.select(sa.func.max(CustomerStatus.as_of)))


def floor_days() -> int:
    """The fewest days without an order after which a customer without a contract can count
    as lost (the loss definition's floor; its default before the settings are first saved)."""
    stored = db.session.scalar(sa.select(ChurnSettings.floor_days).where(ChurnSettings.id == 1))
    return stored if stored is not None else LossDefinition().floor_days


def status_counts() -> dict[str, int]:
    rows = db.session.execute(
        sa.select(CustomerStatus.status, sa.func.count()).group_by(CustomerStatus.status)
    ).all()
    counts = {status.value: 0 for status in Status}
    counts.update({status.value: n for status, n in rows})
    return counts


@dataclass(frozen=True)
class RegisterFilters:
    """The register's filters: still lost only (``open_only``), a tier, a reason or none recorded
    yet (``unexplained``), and the day of loss between ``lost_from`` and ``lost_to`` inclusive."""

    open_only: bool = True
    tier: str = ""
    reason_id: int | None = None
    unexplained: bool = False
    lost_from: date | None = None
    lost_to: date | None = None


def _register_conditions(filters: RegisterFilters) -> list:
    conditions = []
    if filters.open_only:
        conditions.append(LossRecord.won_back_on.is_(None))
    if filters.tier:
        conditions.append(LossRecord.tier == filters.tier)
    if filters.reason_id:
        conditions.append(
            LossRecord.id.in_(
                sa.select(loss_record_reasons.c.loss_record_id).where(
                    loss_record_reasons.c.reason_id == filters.reason_id
                )
            )
        )
    if filters.unexplained:
        conditions.append(~sa.exists().where(loss_record_reasons.c.loss_record_id == LossRecord.id))
    if filters.lost_from:
        conditions.append(LossRecord.lost_on >= filters.lost_from)
    if filters.lost_to:
        conditions.append(LossRecord.lost_on <= filters.lost_to)
    return conditions


def register_totals(filters: RegisterFilters) -> tuple[int, float]:
    """How many register entries match, and the lifetime value they lost."""
    n, clv = db.session.execute(
        sa.select(
            sa.func.count(LossRecord.id), sa.func.coalesce(sa.func.sum(LossRecord.clv_lost), 0)
        ).where(*_register_conditions(filters))
    ).one()
    return n, float(clv)


def _register_rows(filters: RegisterFilters, by_value: bool):
    """Entries with their number of win-back attempts: newest loss first, or the largest CLV lost
    first (``by_value``)."""
    attempts = (
        sa.select(sa.func.count(WinBackAttempt.id))
        .where(WinBackAttempt.loss_record_id == LossRecord.id)
        .scalar_subquery()
    )
    order = (LossRecord.clv_lost.desc(),) if by_value else ()
    return (
        sa.select(LossRecord, attempts.label("attempts"))
        .where(*_register_conditions(filters))
        .order_by(*order, LossRecord.lost_on.desc(), LossRecord.id.desc())
    )


def register_page(filters: RegisterFilters, page: int, per_page: int, *, by_value: bool = False):
    """One page of the register's entries and (attempts)."""
    return db.session.execute(
        _register_rows(filters, by_value).limit(per_page).offset((page - 1) * per_page)
    ).all()


def register_export(filters: RegisterFilters, *, by_value: bool = False, chunk: int = 500):
    """Every matching entry and its attempts, in the page's order, read ``chunk`` rows at a time
    (the reasons of each chunk in one more query)."""
    result = db.session.execute(
        _register_rows(filters, by_value).execution_options(yield_per=chunk)
    )
    for part in result.partitions():
        yield from part


def customer_frame() -> pd.DataFrame:
    """Per customer with purchases: first purchase, segment and current tier (one row each)."""
    frame = raw_frame(
        sa.select(
            CustomerStatus.customer_id,
            CustomerStatus.first_purchase_on,
            Customer.segment,
            CustomerValue.tier,
        )
        .join(Customer, Customer.id == CustomerStatus.customer_id)
        .outerjoin(CustomerValue, CustomerValue.customer_id == CustomerStatus.customer_id)
        .where(CustomerStatus.first_purchase_on.is_not(None)),
        ["customer_id", "first", "segment", "tier"],
    )
    frame["first"] = pd.to_datetime(frame["first"])
    frame["tier"] = frame["tier"].fillna("minor")
    return frame.set_index("customer_id")


def spell_frame() -> pd.DataFrame:
    """Every loss spell of the register: customer_id, lost_on, returned_on, tier at loss and
    clv_lost (the customer's lifetime value when the loss was recorded)."""
    frame = raw_frame(
        sa.select(
            LossRecord.customer_id,
            LossRecord.lost_on,
            LossRecord.won_back_on,
            LossRecord.tier,
            LossRecord.clv_lost,
        ),
        ["customer_id", "lost_on", "returned_on", "tier", "clv_lost"],
    )
    frame["lost_on"] = pd.to_datetime(frame["lost_on"])
    frame["returned_on"] = pd.to_datetime(frame["returned_on"])
    frame["clv_lost"] = frame["clv_lost"].astype(float)
    return frame


def cohort_activity(since: date) -> pd.DataFrame:
    """Distinct buying customers per (first-purchase month, month) for cohorts since ``since``,
    as stored by the last recompute."""
    rows = db.session.execute(
        sa.select(CohortCount.cohort, CohortCount.month, CohortCount.customers).where(
            CohortCount.cohort >= since
        )
    ).all()
    return pd.DataFrame(rows, columns=["cohort", "month", "customers"])


def reason_counts() -> list[tuple[Reason | None, int]]:
    """How often each loss reason was given (an entry can give several), most frequent first;
    ``None`` counts the entries with no reason recorded yet."""
    rows = db.session.execute(
        sa.select(Reason, sa.func.count(loss_record_reasons.c.loss_record_id))
        .join(loss_record_reasons, loss_record_reasons.c.reason_id == Reason.id)
        .group_by(Reason.id)
        .order_by(sa.func.count(loss_record_reasons.c.loss_record_id).desc(), Reason.position)
    ).all()
    unknown = db.session.scalar(
        sa.select(sa.func.count(LossRecord.id)).where(
            ~sa.exists().where(loss_record_reasons.c.loss_record_id == LossRecord.id)
        )
    )
    return [(reason, n) for reason, n in rows] + ([(None, unknown)] if unknown else [])


def value_lost_by_month(since: date, until: date) -> list[dict]:
    """Per month of loss: losses, revenue of their last year, CLV lost, and how many of those
    customers were won back since."""
    month = month_of(LossRecord.lost_on)
    rows = db.session.execute(
        sa.select(
            month,
            sa.func.count(LossRecord.id),
            sa.func.coalesce(sa.func.sum(LossRecord.last_value), 0),
            sa.func.coalesce(sa.func.sum(LossRecord.clv_lost), 0),
            sa.func.count(LossRecord.won_back_on),
        )
        .where(LossRecord.lost_on >= since, LossRecord.lost_on <= until)
        .group_by(month)
        .order_by(month)
    ).all()
    return [
        {
            "month": m,
            "losses": n,
            "revenue": float(revenue),
            "clv": float(clv),
            "won_back": back,
            "win_back_rate": back / n if n else None,
        }
        for m, n, revenue, clv, back in rows
    ]


def win_back_summary() -> dict:
    """Win-back rate overall and split by whether staff contacted the customer."""
    contacted = sa.exists().where(WinBackAttempt.loss_record_id == LossRecord.id)
    rows = db.session.execute(
        sa.select(
            contacted.label("contacted"),
            sa.func.count(LossRecord.id),
            sa.func.count(LossRecord.won_back_on),
        ).group_by(contacted)
    ).all()
    out = {"contacted": (0, 0), "not_contacted": (0, 0)}
    for was_contacted, total, back in rows:
        out["contacted" if was_contacted else "not_contacted"] = (total, back)
    total = sum(t for t, _ in out.values())
    back = sum(b for _, b in out.values())
    out["all"] = (total, back)
    return out


def churn_by_label(
    labels: Mapping[int, str | tuple[str, date]],
    history: tuple[set[int], pd.DataFrame] | None = None,
) -> list[dict]:
    """Churn rate per group of customers given by the caller.

    ``labels`` maps a customer id to a label (how their complaint ended, the band of their
    last satisfaction score, ...) or to ``(label, since)``. With a plain label a customer counts
    as churned when they are lost now; with ``since`` (the complaint's or the survey's date),
    when a loss of theirs began on or after that day, even if they came back later. For each
    label: customers, churned, the rate and its 95% Wilson interval.

    This is how complaint and survey outcomes are set beside leaving without this package
    reading their tables: the caller builds ``labels`` from its own domain. ``history`` is
    ``loss_history()`` when the caller counts several labellings of the same customers."""
    if not labels:
        return []
    items = [(cid, *(v if isinstance(v, tuple) else (v, None))) for cid, v in labels.items()]
    frame = pd.DataFrame(items, columns=["customer_id", "label", "since"])
    lost_now, losses = history or loss_history(frame["customer_id"].tolist())
    churned = frame["customer_id"].isin(lost_now).to_numpy()
    dated = frame["since"].notna().to_numpy()
    if dated.any() and len(losses):
        pairs = frame.loc[dated, ["customer_id", "since"]].reset_index()
        pairs = pairs.merge(losses, on="customer_id")
        hit = pairs.loc[pairs["lost_on"] >= pairs["since"], "index"].unique()
        churned = np.where(dated, frame.index.isin(hit), churned)
    elif dated.any():
        churned = np.where(dated, False, churned)
    counts = (
        frame.assign(churned=churned.astype(int))
        .groupby("label")["churned"]
        .agg(["size", "sum"])
        .sort_index()
    )
    out = []
    for label, (n, k) in zip(counts.index, counts.to_numpy().tolist(), strict=True):
        low, high = wilson(k, n)
        out.append(
            {"label": label, "customers": n, "lost": k, "rate": k / n, "low": low, "high": high}
        )
    return out


#: above this many customers, read every loss at once rather than look them up by id
_SCAN_ABOVE = 5000


def loss_history(ids: list[int] | None = None) -> tuple[set[int], pd.DataFrame]:
    """Which of these customers (default: all) are lost now, and every loss of theirs
    (customer_id, lost_on)."""
    lost_query = sa.select(CustomerStatus.customer_id).where(CustomerStatus.status == Status.LOST)
    loss_query = sa.select(LossRecord.customer_id, LossRecord.lost_on)
    if ids is None or len(ids) > _SCAN_ABOVE:
        lost_now = set(db.session.scalars(lost_query))
        losses = raw_frame(loss_query, ["customer_id", "lost_on"])
        losses["lost_on"] = pd.to_datetime(losses["lost_on"]).dt.date
        return lost_now, losses
    lost_now: set[int] = set()
    rows = []
    for start in range(0, len(ids), 900):  # stay under SQLite's bound-parameter limit
        chunk = ids[start : start + 900]
        lost_now.update(db.session.scalars(lost_query.where(CustomerStatus.customer_id.in_(chunk))))
        rows.extend(db.session.execute(loss_query.where(LossRecord.customer_id.in_(chunk))).all())
    return lost_now, pd.DataFrame(rows, columns=["customer_id", "lost_on"])


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval for a proportion k/n."""
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (centre - half, centre + half)


def risk_page(page: int, per_page: int, tier: str = ""):
    """Customers not lost, by expected value at risk, with their value and status."""
    query = (
        sa.select(RiskScore, Customer, CustomerValue.clv, CustomerValue.tier, CustomerStatus.status)
        .join(Customer, Customer.id == RiskScore.customer_id)
        .outerjoin(CustomerValue, CustomerValue.customer_id == RiskScore.customer_id)
        .outerjoin(CustomerStatus, CustomerStatus.customer_id == RiskScore.customer_id)
    )
    if tier:
        query = query.where(CustomerValue.tier == tier)
    total = db.session.scalar(
        sa.select(sa.func.count()).select_from(
            query.with_only_columns(RiskScore.customer_id).subquery()
        )
    )
    rows = db.session.execute(
        query.order_by(RiskScore.value_at_risk.desc(), RiskScore.customer_id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return rows, total


def risk_totals() -> dict:
    row = db.session.execute(
        sa.select(
            sa.func.count(RiskScore.customer_id),
            sa.func.coalesce(sa.func.sum(RiskScore.value_at_risk), 0),
            sa.func.coalesce(sa.func.avg(RiskScore.probability), 0),
        )
    ).one()
    return {"customers": row[0], "value_at_risk": float(row[1]), "mean_probability": float(row[2])}
