"""The demo story's churn chapter: contracts for some business customers, statuses, why the lost
ones left (and how we know), and win-back calls, some of which bring customers back."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import sqlalchemy as sa

from survey_app.accounts.models import Role
from survey_app.customers.models import Contract, Customer, Transaction
from survey_app.extensions import db
from survey_app.taxonomy.models import Reason
from survey_app.taxonomy.services import ensure_default_reasons

from . import services
from .models import Channel, LearntHow, LossRecord, Outcome, WinBackAttempt, loss_record_reasons

#: share of each segment that works under yearly contracts
CONTRACT_SHARE = {"大客户": 0.6, "中小企业": 0.2}
#: why customers leave in the story, with weights
LOSS_REASONS = {
    "price": 0.28,
    "competitor": 0.2,
    "service": 0.15,
    "quality": 0.12,
    "delivery": 0.08,
    "no_longer_needed": 0.08,
    "moved": 0.05,
    "unknown": 0.04,
}
LEARNT = [LearntHow.INTERVIEW, LearntHow.EXIT_SURVEY, LearntHow.STAFF_JUDGEMENT]


def seed_demo(ctx) -> list[str]:
    rng: np.random.Generator = ctx.rng
    as_of: date = ctx.as_of
    ensure_default_reasons()  # the migrations add them; a wiped database may lack them
    contracts = _contracts(rng, as_of)
    services.recompute(as_of, with_risk=False)  # the register, to pick whom to call
    explained, attempts, agreed = _reasons_and_win_back(rng, ctx, as_of)
    # the at-risk scores wait for the complaints and surveys (see ``seed_risk``)
    summary = services.recompute(as_of, with_risk=False)
    counts = summary.counts
    return [
        "Lost customers:",
        f"  {contracts} contracts; statuses as of {as_of.isoformat()}: "
        + ", ".join(f"{k} {counts.get(k, 0)}" for k in ("active", "at_risk", "lost", "won_back")),
        f"  {explained} losses explained, {attempts} win-back contacts, {agreed} came back",
    ]


def seed_risk(ctx) -> list[str]:
    """The last chapter: statuses and at-risk scores once the complaints and surveys exist, so
    that a recent complaint and a low last score weigh in the model and show as reasons."""
    summary = services.recompute(ctx.as_of)
    run = services.latest_model_run()
    check = (
        f"out-of-time concordance {summary.holdout_concordance:.3f}"
        if summary.holdout_concordance is not None
        else "no out-of-time check (too few losses)"
    )
    return [
        "At-risk model:",
        f"  {check}; coefficients {run.coefficients if run else '{}'}",
    ]


def _contracts(rng, as_of: date) -> int:
    """Yearly contracts over each contractual customer's buying life; customers who stopped
    buying cancelled their last contract a few weeks after their last order."""
    rows = db.session.execute(
        sa.select(
            Customer.id,
            Customer.code,
            Customer.segment,
            sa.func.min(Transaction.occurred_on),
            sa.func.max(Transaction.occurred_on),
        )
        .join(Transaction, Transaction.customer_id == Customer.id)
        .where(Customer.segment.in_(list(CONTRACT_SHARE)))
        .group_by(Customer.id, Customer.code, Customer.segment)
        .order_by(Customer.id)
    ).all()
    reasons = dict(db.session.execute(sa.select(Reason.code, Reason.id)).all())
    codes, weights = list(LOSS_REASONS), np.array(list(LOSS_REASONS.values()))
    out = []
    for customer_id, code, segment, first, last in rows:
        if rng.random() >= CONTRACT_SHARE[segment]:
            continue
        stopped = (as_of - last).days > 120
        start, n = first, 0
        while True:
            end = start + timedelta(days=364)
            n += 1
            row = {
                "customer_id": customer_id,
                "external_id": f"K-{code}-{n:02d}",
                "started_on": start,
                "ends_on": end,
                "cancelled_on": None,
                "cancel_reason_id": None,
            }
            if stopped and end >= last:
                row["cancelled_on"] = min(last + timedelta(days=int(rng.integers(7, 45))), end)
                row["cancel_reason_id"] = reasons[str(rng.choice(codes, p=weights / weights.sum()))]
                out.append(row)
                break
            out.append(row)
            if end >= as_of:
                break
            start = end + timedelta(days=1)
    if out:
        db.session.execute(Contract.__table__.insert(), out)
    return len(out)


def _reasons_and_win_back(rng, ctx, as_of: date) -> tuple[int, int, int]:
    """Reasons for about two thirds of the open losses; win-back calls to about a third, of
    which some agree and buy again (a purchase is what makes them "won back")."""
    staff = [u for u in ctx.users.values() if u.role is Role.STAFF]
    reasons = dict(db.session.execute(sa.select(Reason.code, Reason.id)).all())
    codes, weights = list(LOSS_REASONS), np.array(list(LOSS_REASONS.values()))
    records = db.session.execute(
        sa.select(LossRecord.id, LossRecord.customer_id, LossRecord.lost_on, LossRecord.tier)
        .where(LossRecord.won_back_on.is_(None))
        .order_by(LossRecord.id)
    ).all()
    links, updates, attempts, purchases = [], [], [], []
    agreed = 0
    for record_id, customer_id, lost_on, tier in records:
        explain = rng.random() < (0.85 if tier == "key" else 0.6)
        if explain:
            picked = rng.choice(
                codes, size=int(rng.integers(1, 3)), replace=False, p=weights / weights.sum()
            )
            links += [{"loss_record_id": record_id, "reason_id": reasons[c]} for c in picked]
            how = LEARNT[
                int(
                    rng.choice(
                        3, p=[0.45 if tier == "key" else 0.25, 0.35, 0.2 if tier == "key" else 0.4]
                    )
                )
            ]
            updates.append({"id": record_id, "learnt_how": how})
        if not staff or rng.random() >= (0.6 if tier == "key" else 0.3):
            continue
        day = lost_on + timedelta(days=int(rng.integers(5, 40)))
        for _ in range(int(rng.integers(1, 4))):
            if day >= as_of:
                break
            outcome = Outcome(
                str(
                    rng.choice(
                        ["no_answer", "declined", "considering", "agreed"], p=[0.35, 0.3, 0.2, 0.15]
                    )
                )
            )
            attempts.append(
                {
                    "loss_record_id": record_id,
                    "attempted_on": day,
                    "channel": Channel(
                        str(
                            rng.choice(
                                ["phone", "email", "visit", "message"], p=[0.5, 0.2, 0.15, 0.15]
                            )
                        )
                    ),
                    "outcome": outcome,
                    "note": "",
                    "staff_id": staff[int(rng.integers(0, len(staff)))].id,
                }
            )
            if outcome is Outcome.AGREED:
                back = day + timedelta(days=int(rng.integers(3, 20)))
                if back < as_of:
                    agreed += 1
                    amount = round(float(rng.lognormal(6.0, 0.6)), 2)
                    purchases.append(
                        {
                            "customer_id": customer_id,
                            "external_id": f"T-WB-{record_id}",
                            "occurred_on": back,
                            "amount": Decimal(f"{amount:.2f}"),
                            "margin": Decimal(f"{amount * 0.25:.2f}"),
                        }
                    )
                break
            if outcome is Outcome.DECLINED:
                break
            day += timedelta(days=int(rng.integers(7, 30)))
    if links:
        db.session.execute(sa.insert(loss_record_reasons), links)
    if updates:
        db.session.execute(sa.update(LossRecord), updates)
    if attempts:
        db.session.execute(WinBackAttempt.__table__.insert(), attempts)
    if purchases:
        db.session.execute(Transaction.__table__.insert(), purchases)
    db.session.flush()
    return len(updates), len(attempts), agreed
