"""Use cases for lost customers: the loss definition, recomputing statuses, the register and
win-back work. The caller commits."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from survey_app import bulk
from survey_app.accounts.models import Role, User
from survey_app.analytics import churn as churn_math
from survey_app.analytics import survival
from survey_app.analytics import value as value_math
from survey_app.complaints import queries as complaint_queries
from survey_app.customers import queries as customer_queries
from survey_app.customers import services as customer_services
from survey_app.customers.models import CustomerValue
from survey_app.db_types import utcnow
from survey_app.errors import DomainError, NotFound, PermissionDenied
from survey_app.extensions import db
from survey_app.jobs import services as jobs
from survey_app.jobs.models import Job
from survey_app.surveys import queries as survey_queries
from survey_app.surveys import services as survey_services
from survey_app.surveys.models import Invitation as SurveyInvitation
from survey_app.taxonomy.models import Reason

from .models import (
    Channel,
    ChurnAnalysis,
    ChurnSettings,
    CohortCount,
    CustomerStatus,
    LearntHow,
    LossRecord,
    Outcome,
    RiskModelRun,
    RiskScore,
    Status,
    WinBackAttempt,
    loss_record_reasons,
)

log = logging.getLogger(__name__)
RISK_HORIZON_DAYS = 180


def churn_settings() -> ChurnSettings:
    """The loss definition, created with the documented defaults on first use."""
    settings = db.session.get(ChurnSettings, 1)
    if settings is None:
        defaults = churn_math.LossDefinition()
        settings = ChurnSettings(id=1, **defaults.__dict__)
        db.session.add(settings)
        db.session.flush()
    return settings


def definition() -> churn_math.LossDefinition:
    s = churn_settings()
    return churn_math.LossDefinition(
        **{name: getattr(s, name) for name in churn_math.LossDefinition.__dataclass_fields__}
    )


def update_churn_settings(actor: User, **values) -> ChurnSettings:
    """Change the definition of a lost customer (admins only); run a recompute to apply it."""
    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied(_l("Only an administrator can change these settings."))
    if not 0 < values["at_risk_share"] < 1:
        raise DomainError(_l("Give a share between 0 and 1."), field="at_risk_share")
    settings = churn_settings()
    for name, value in values.items():
        setattr(settings, name, value)
    settings.updated_at = utcnow()
    db.session.flush()
    return settings


@dataclass
class RecomputeSummary:
    as_of: date
    customers: int
    counts: dict[str, int]
    new_losses: int
    won_back: int
    holdout_concordance: float | None


def recompute(
    as_of: date, *, with_risk: bool = True, progress: jobs.Progress | None = None
) -> RecomputeSummary:
    """Re-evaluate every customer as of ``as_of``: churn status, value and tier, the register of
    losses (one entry per loss spell, kept in step), (unless ``with_risk`` is False) the at-risk
    scores, and the analysis page's figures. ``progress(done, total)`` is called after each
    stage (a queued job commits there, so its page can show how far it has got)."""
    total = 5 if with_risk else 4
    step = progress or (lambda done, total: None)
    step(0, total)
    rule = definition()
    purchases = customer_queries.purchase_frame(as_of)
    contracts = customer_queries.contract_frame()
    statuses, spells = churn_math.evaluate(purchases, contracts, rule, as_of)
    first = purchases.groupby("customer_id")["occurred_on"].min()
    statuses["first_purchase_on"] = first
    _store_statuses(statuses, as_of)
    _store_cohorts(churn_math.cohort_counts(purchases))
    step(1, total)

    segments = customer_queries.segments()
    months = [(pd.Timestamp(as_of) - pd.DateOffset(months=12 - i)).date() for i in range(13)]
    monthly = churn_math.churn_by_month(
        first, spells, months, segments.reindex(first.index).fillna("")
    )
    retention = churn_math.yearly_retention(monthly).to_dict()
    customer_services.recompute_values(as_of, retention, purchases, segments)
    step(2, total)

    new_losses, won_back = _sync_register(spells, purchases, segments, retention)
    step(3, total)
    run = None
    scores = survey_queries.satisfaction_scores()
    if with_risk:
        run = _score_risk(purchases, statuses, spells, as_of, rule, scores)
        step(4, total)
    store_analyses(as_of, scores)
    churn_settings().recomputed_at = utcnow()
    db.session.flush()
    step(total, total)
    counts = statuses["status"].value_counts().to_dict()
    log.info("churn recompute as of %s: %s", as_of, counts)
    return RecomputeSummary(
        as_of, len(statuses), counts, new_losses, won_back, run.holdout_concordance if run else None
    )


def _dates(series: pd.Series) -> list:
    """datetime64 values as ``date`` objects, NaT as None (what the driver wants)."""
    return series.dt.date.astype(object).where(series.notna(), None).tolist()


def _store_statuses(statuses: pd.DataFrame, as_of: date) -> None:
    db.session.execute(sa.delete(CustomerStatus))
    columns = {
        "customer_id": statuses.index.astype(int).tolist(),
        "status": [Status(s) for s in statuses["status"]],
        "basis": statuses["basis"].tolist(),
        "first_purchase_on": _dates(statuses["first_purchase_on"]),
        "last_purchase_on": _dates(statuses["last_purchase_on"]),
        "threshold_days": [
            None if pd.isna(t) else int(t) for t in statuses["threshold_days"].tolist()
        ],
        "lost_on": _dates(statuses["lost_on"]),
        "returned_on": _dates(statuses["returned_on"]),
    }
    columns["as_of"] = [as_of] * len(statuses)
    bulk.insert_columns(CustomerStatus.__table__, columns)


def _store_cohorts(counts: pd.DataFrame) -> None:
    db.session.execute(sa.delete(CohortCount))
    rows = [
        {"cohort": c.date(), "month": m.date(), "customers": int(n)}
        for c, m, n in zip(counts["cohort"], counts["month"], counts["customers"], strict=True)
    ]
    if rows:
        db.session.execute(CohortCount.__table__.insert(), rows)


def _sync_register(
    spells: pd.DataFrame, purchases: pd.DataFrame, segments: pd.Series, retention: dict
) -> tuple[int, int]:
    """One register entry per loss spell. Entries that staff worked on (reasons, attempts, how
    learnt) survive a change of definition by moving to the customer's nearest new spell; the
    others follow the spells exactly."""
    existing = pd.DataFrame(
        db.session.execute(
            sa.select(
                LossRecord.id,
                LossRecord.customer_id,
                LossRecord.lost_on,
                LossRecord.won_back_on,
                LossRecord.last_value,
                LossRecord.clv_lost,
                LossRecord.tier,
                LossRecord.learnt_how.is_not(None)
                | sa.exists().where(loss_record_reasons.c.loss_record_id == LossRecord.id)
                | sa.exists().where(WinBackAttempt.loss_record_id == LossRecord.id),
            )
        ).all(),
        columns=[
            "id",
            "customer_id",
            "lost_on",
            "won_back_on",
            "last_value",
            "clv_lost",
            "tier",
            "worked",
        ],
    )
    stored = {
        row[0]: row[1:]
        for row in existing[["id", "won_back_on", "last_value", "clv_lost", "tier"]].itertuples(
            index=False, name=None
        )
    }
    spells = spells.copy()
    spells["lost_on"] = spells["lost_on"].dt.date
    spells["returned_on"] = [None if pd.isna(v) else v.date() for v in spells["returned_on"]]
    values = _spell_values(spells, purchases, segments, retention)
    key = existing.set_index(["customer_id", "lost_on"])["id"].to_dict() if len(existing) else {}
    matched: set[int] = set()
    inserts, updates = [], []
    for (cid, lost_on, returned_on), (last_value, clv, tier) in zip(
        spells[["customer_id", "lost_on", "returned_on"]].itertuples(index=False, name=None),
        values,
        strict=True,
    ):
        record_id = key.get((cid, lost_on))
        if record_id is None:
            inserts.append(
                {
                    "customer_id": int(cid),
                    "lost_on": lost_on,
                    "last_purchase_on": None,
                    "last_value": last_value,
                    "clv_lost": clv,
                    "tier": tier,
                    "won_back_on": returned_on,
                    "note": "",
                    "created_at": utcnow(),
                }
            )
        else:
            matched.add(record_id)
            if stored[record_id] != (returned_on, last_value, clv, tier):  # else nothing to write
                updates.append(
                    {
                        "id": record_id,
                        "won_back_on": returned_on,
                        "last_value": last_value,
                        "clv_lost": clv,
                        "tier": tier,
                    }
                )
    stale = existing[~existing["id"].isin(matched)] if len(existing) else existing
    worked = stale[stale["worked"].astype(bool)] if len(stale) else stale
    free = stale[~stale["worked"].astype(bool)] if len(stale) else stale
    if len(free):
        db.session.execute(sa.delete(LossRecord).where(LossRecord.id.in_(free["id"].tolist())))
    new_keys = {(r["customer_id"], r["lost_on"]): r for r in inserts}
    for row in worked.itertuples(index=False):
        # Move staff work onto the nearest unclaimed new spell of the same customer.
        candidates = [k for k in new_keys if k[0] == row.customer_id]
        if not candidates:
            continue
        nearest = min(candidates, key=lambda k: abs((k[1] - row.lost_on).days))
        spell = new_keys.pop(nearest)
        inserts.remove(spell)
        updates.append(
            {
                "id": int(row.id),
                "lost_on": spell["lost_on"],
                "won_back_on": spell["won_back_on"],
                "last_value": spell["last_value"],
                "clv_lost": spell["clv_lost"],
                "tier": spell["tier"],
            }
        )
    if inserts:
        for start in range(0, len(inserts), 5000):
            db.session.execute(LossRecord.__table__.insert(), inserts[start : start + 5000])
    if updates:
        db.session.execute(sa.update(LossRecord), updates)
    db.session.flush()
    return len(inserts), int(spells["returned_on"].notna().sum())


def _spell_values(
    spells: pd.DataFrame, purchases: pd.DataFrame, segments: pd.Series, retention: dict
) -> list[tuple]:
    """Per spell: revenue in the 365 days before the loss, the CLV lost and the tier at loss.

    The CLV lost is the CLV formula applied to the margin of the year before leaving, with the
    segment's yearly retention: what the customer was worth when they left. The tier at loss is
    where that CLV falls among today's customers (today's smallest key and general CLV are the
    cut-offs), so a customer who left is not judged by the value they no longer bring."""
    if spells.empty:
        return []
    settings = customer_services.value_settings()
    frame = spells[["customer_id", "lost_on"]].reset_index()
    frame["lost_ts"] = pd.to_datetime(frame["lost_on"])
    joined = frame.merge(purchases, on="customer_id", how="left")
    window = (joined["occurred_on"] < joined["lost_ts"]) & (
        joined["occurred_on"] >= joined["lost_ts"] - pd.Timedelta(days=365)
    )
    revenue = joined["amount"].where(window, 0).groupby(joined["index"]).sum()
    margin = joined["margin"].where(window, 0).groupby(joined["index"]).sum()
    r = (
        frame["customer_id"]
        .map(segments)
        .map(retention)
        .fillna(settings.default_retention)
        .clip(0, 1)
    )
    clv = value_math.clv(
        margin.reindex(frame["index"]).fillna(0).to_numpy(),
        r.to_numpy(),
        discount_rate=settings.discount_rate,
        horizon_years=settings.horizon_years,
        acquisition_cost=float(settings.acquisition_cost),
    )
    cut = dict(
        db.session.execute(
            sa.select(CustomerValue.tier, sa.func.min(CustomerValue.clv)).group_by(
                CustomerValue.tier
            )
        ).all()
    )
    key_min = float(cut.get("key", np.inf))
    general_min = float(cut.get("general", key_min))
    out = []
    for idx, value in zip(frame["index"], clv, strict=True):
        tier = "key" if value >= key_min else "general" if value >= general_min else "minor"
        if value <= 0:
            tier = "minor"
        out.append((Decimal(f"{revenue.get(idx, 0.0):.2f}"), Decimal(f"{value:.2f}"), tier))
    return out


def _score_risk(purchases, statuses, spells, as_of: date, rule, scores: list) -> RiskModelRun:
    """Fit the at-risk model (validated out of time) and score every customer not lost."""
    thresholds = statuses["threshold_days"].astype(float).fillna(rule.default_days)
    complaints = pd.DataFrame(complaint_queries.complaint_days(), columns=["customer_id", "day"])
    scores = pd.DataFrame(scores, columns=["customer_id", "day", "score"])
    model = survival.fit_risk_model(
        purchases,
        thresholds,
        spells,
        as_of,
        RISK_HORIZON_DAYS,
        complaints=complaints,
        scores=scores,
    )
    db.session.execute(sa.delete(RiskScore))
    covariates = survival.snapshot_covariates(
        purchases, thresholds, spells, as_of, complaints=complaints, scores=scores
    )
    covariates = covariates[covariates.index.isin(statuses.index[statuses["status"] != "lost"])]
    probability = model.probability(covariates)
    drivers = survival.risk_drivers(covariates)
    ending = statuses.index[(statuses["basis"] == "contract") & (statuses["status"] == "at_risk")]
    drivers[drivers.index.isin(ending)] = (
        drivers[drivers.index.isin(ending)].radd("contract_ending,").str.rstrip(",")
    )
    clv = customer_queries.raw_frame(
        sa.select(CustomerValue.customer_id, CustomerValue.clv), ["customer_id", "clv"]
    ).set_index("customer_id")["clv"]
    value = clv.astype(float).reindex(covariates.index).fillna(0.0).clip(lower=0.0).to_numpy()
    probability = np.asarray(probability, dtype=float)
    bulk.insert_columns(
        RiskScore.__table__,
        {
            "customer_id": covariates.index.astype(int).tolist(),
            "as_of": [as_of] * len(covariates),
            "probability": probability.tolist(),
            "value_at_risk": [Decimal(f"{v:.2f}") for v in (probability * value).tolist()],
            "gap_ratio": covariates["gap_share"].astype(float).tolist(),
            "spend_trend": covariates["spend_trend"].astype(float).tolist(),
            "drivers": drivers.tolist(),
        },
    )
    run = RiskModelRun(
        as_of=as_of,
        horizon_days=model.horizon_days,
        train_rows=model.train_rows,
        holdout_rows=model.holdout_rows,
        holdout_concordance=model.holdout_concordance,
        train_concordance=model.train_concordance,
        coefficients=json.dumps({k: round(v, 4) for k, v in model.coefficients.items()}),
    )
    db.session.add(run)
    db.session.flush()
    return run


# --- the register and win-back ------------------------------------------------------------------


def get_loss_record(record_id: int) -> LossRecord:
    record = db.session.get(LossRecord, record_id)
    if record is None:
        raise NotFound(_l("No such entry in the lost-customer register."))
    return record


def _require_staff(actor: User) -> None:
    if not actor.has_role(Role.STAFF, Role.ADMIN):
        raise PermissionDenied(_l("Only service staff can record this."))


def record_reasons(
    actor: User,
    record: LossRecord,
    *,
    reason_ids: list[int],
    learnt_how: str | None,
    note: str,
) -> LossRecord:
    """Record why a customer left (reasons from the shared list) and how that was learnt."""
    _require_staff(actor)
    reasons = list(
        db.session.scalars(
            sa.select(Reason).where(Reason.id.in_(reason_ids or [-1]), Reason.for_losses)
        )
    )
    if len(reasons) != len(set(reason_ids)):
        raise DomainError(_l("Choose reasons from the list."), field="reasons")
    if reasons and not learnt_how:
        raise DomainError(_l("Say how the reason was learnt."), field="learnt_how")
    record.reasons = reasons
    record.learnt_how = LearntHow(learnt_how) if learnt_how else None
    record.note = note.strip()
    record.updated_at = utcnow()
    record.updated_by_id = actor.id
    db.session.flush()
    log.info("loss record %s: reasons %s", record.id, [r.code for r in reasons])
    return record


def record_exit_survey_reasons(
    customer_id: int, reason_codes: list[str], note: str = ""
) -> LossRecord | None:
    """Fill the reasons of a customer's latest open loss from an exit questionnaire (the surveys
    domain calls this when a lost customer answers). Reasons already recorded by staff are kept
    and the new ones added; unknown or inactive codes are ignored. Returns the entry, or None
    when the customer has no open loss."""
    record = db.session.scalar(
        sa.select(LossRecord)
        .where(LossRecord.customer_id == customer_id, LossRecord.won_back_on.is_(None))
        .order_by(LossRecord.lost_on.desc())
        .limit(1)
    )
    if record is None:
        return None
    found = db.session.scalars(
        sa.select(Reason).where(Reason.code.in_(reason_codes), Reason.for_losses, Reason.active)
    )
    record.reasons = list(dict.fromkeys([*record.reasons, *found]))
    record.learnt_how = LearntHow.EXIT_SURVEY
    if note.strip():
        record.note = (record.note + "\n" + note.strip()).strip()
    record.updated_at = utcnow()
    db.session.flush()
    return record


#: options of the exit template's "why did you leave" question whose code differs from the
#: loss reason they mean ("other" is no loss reason: the free text goes to the note)
EXIT_OPTION_REASONS = {"need": "no_longer_needed"}
#: an exit questionnaire link stays valid this long
EXIT_INVITATION_DAYS = 30


def send_exit_questionnaire(actor: User, record: LossRecord) -> SurveyInvitation:
    """The lost customer's personal link to the exit questionnaire (a published one made from
    the "exit" template): one per loss, created on the first click, the same one afterwards."""
    _require_staff(actor)
    if record.won_back_on is not None:
        raise DomainError(_l("This customer has been won back: no exit questionnaire is needed."))
    invitation = survey_services.subject_invitation(
        "exit", "loss", record.id, record.customer_id, valid_days=EXIT_INVITATION_DAYS
    )
    log.info("exit questionnaire for loss %s by %s", record.id, actor.email)
    return invitation


def exit_invitations(record_ids: list[int]) -> dict[int, SurveyInvitation]:
    """The exit-questionnaire invitations of these losses, by loss id."""
    if not record_ids:
        return {}
    rows = db.session.scalars(
        sa.select(SurveyInvitation).where(
            SurveyInvitation.purpose == "loss", SurveyInvitation.subject_id.in_(record_ids)
        )
    )
    return {row.subject_id: row for row in rows}


def open_exit_invitations() -> list[tuple[LossRecord, SurveyInvitation]]:
    """Unanswered, unexpired exit invitations of customers still lost: for the link export."""
    return db.session.execute(
        sa.select(LossRecord, SurveyInvitation)
        .join(
            SurveyInvitation,
            sa.and_(
                SurveyInvitation.purpose == "loss", SurveyInvitation.subject_id == LossRecord.id
            ),
        )
        .where(
            LossRecord.won_back_on.is_(None),
            SurveyInvitation.completed_at.is_(None),
            SurveyInvitation.expires_at > utcnow(),
        )
        .order_by(LossRecord.lost_on.desc(), LossRecord.id.desc())
    ).all()


@survey_services.on_submitted("exit")
def _reasons_from_exit_survey(event: survey_services.Submitted) -> None:
    """A lost customer answered an exit questionnaire (through their loss's link or any personal
    invitation): the reasons they ticked fill their open loss, their words go to its note."""
    customer_id = event.response.customer_id
    if customer_id is None:
        return
    codes = [EXIT_OPTION_REASONS.get(code, code) for code in event.choices("exit_reasons")]
    words = event.text("exit_win_back")
    note = f"{_l('Exit questionnaire')}: {words}" if words else ""
    record_exit_survey_reasons(customer_id, codes, note=note)


def log_attempt(
    actor: User,
    record: LossRecord,
    *,
    attempted_on: date,
    channel: str,
    outcome: str,
    note: str,
    today: date,
) -> WinBackAttempt:
    """Log a contact with a lost customer. A customer is counted as won back only when they
    buy again (the recompute sees the purchase), whatever the attempt's outcome."""
    _require_staff(actor)
    if attempted_on > today:
        raise DomainError(_l("The date cannot be in the future."), field="attempted_on")
    if attempted_on < record.lost_on - timedelta(days=30):
        raise DomainError(
            _l("The contact is dated long before the customer was lost."), field="attempted_on"
        )
    attempt = WinBackAttempt(
        loss_record=record,
        attempted_on=attempted_on,
        channel=Channel(channel),
        outcome=Outcome(outcome),
        note=note.strip(),
        staff_id=actor.id,
    )
    db.session.add(attempt)
    db.session.flush()
    return attempt


def latest_model_run() -> RiskModelRun | None:
    return db.session.scalar(sa.select(RiskModelRun).order_by(RiskModelRun.id.desc()).limit(1))


def tier_by_customer(ids) -> dict[int, str]:
    return dict(
        db.session.execute(
            sa.select(CustomerValue.customer_id, CustomerValue.tier).where(
                CustomerValue.customer_id.in_(list(ids))
            )
        ).all()
    )


# --- analyses ------------------------------------------------------------------------------------


@dataclass
class Analysis:
    as_of: date
    group_by: str
    monthly: pd.DataFrame
    cohorts: pd.DataFrame
    survival: survival.SurvivalResult
    reasons: list
    value_lost: list[dict]
    win_back: dict
    counts: dict[str, int]
    linked: LinkedChurn


@dataclass
class LinkedChurn:
    """Churn beside the other domains (rows of ``queries.churn_by_label``, in a fixed order)."""

    #: customers who complained, by how their latest complaint ended, and those who did not
    by_complaint: list[dict]
    #: customers who complained, by the recovery rating of their latest complaint
    by_recovery: list[dict]
    #: customers who answered a survey, by the satisfaction band of their last one
    by_satisfaction: list[dict]


def _ordered(rows: list[dict], order: tuple[str, ...]) -> list[dict]:
    rank = {label: i for i, label in enumerate(order)}
    return sorted(rows, key=lambda row: rank.get(row["label"], len(rank)))


def linked_churn(scores: list[tuple[int, date, float]] | None = None) -> LinkedChurn:
    """Churn rates of customers grouped by their complaints and their satisfaction, over the
    customers whose status is computed. A customer counts as churned when a loss of theirs
    began on or after their latest complaint (or last survey); one who never complained, when
    any loss of theirs is recorded. ``scores``: ``surveys.queries.satisfaction_scores()`` when
    the caller has read them already."""
    from . import queries

    universe = set(db.session.scalars(sa.select(CustomerStatus.customer_id)))
    complaints = {
        cid: row
        for cid, row in complaint_queries.latest_complaint_by_customer().items()
        if cid in universe
    }
    by_complaint = {cid: ("none", date.min) for cid in universe}
    by_complaint.update({cid: (outcome, day) for cid, (outcome, _b, day) in complaints.items()})
    by_recovery = {cid: (band, day) for cid, (_o, band, day) in complaints.items()}
    by_satisfaction = {
        cid: (band, day)
        for cid, (band, day, _score) in survey_queries.last_satisfaction_by_customer(scores).items()
        if cid in universe
    }
    history = queries.loss_history()
    return LinkedChurn(
        by_complaint=_ordered(
            queries.churn_by_label(by_complaint, history), (*complaint_queries.OUTCOMES, "none")
        ),
        by_recovery=_ordered(
            queries.churn_by_label(by_recovery, history), complaint_queries.RECOVERY_BANDS
        ),
        by_satisfaction=_ordered(
            queries.churn_by_label(by_satisfaction, history), survey_queries.SATISFACTION_BANDS
        ),
    )


#: the ways the analysis page splits customers; each has its stored figures
GROUPINGS = ("tier", "segment")
#: months of churn and retention the page shows
ANALYSIS_MONTHS = 12


def _survival_and_rates(
    as_of: date, customers: pd.DataFrame, spells: pd.DataFrame, group_by: str, months: int
) -> tuple:
    """Monthly churn and retention per group (with the "all" rows) and Kaplan-Meier curves by
    group, with the first day of each month shown and of the month after them. The months are
    the last ``months`` complete ones: that of ``as_of`` counts from its last day on (a few days
    of a month set beside whole ones would read as a sudden fall in churn)."""
    groups = customers[group_by].fillna("")
    last_complete = pd.Timestamp(as_of + timedelta(days=1)).to_period("M") - 1
    start = (last_complete - (months - 1)).to_timestamp()
    month_starts = [(start + pd.DateOffset(months=i)).date() for i in range(months + 1)]
    monthly = churn_math.churn_by_month(customers["first"], spells, month_starts, groups)
    overall = churn_math.churn_by_month(customers["first"], spells, month_starts)
    monthly = pd.concat([overall, monthly], ignore_index=True)

    first_loss = spells.groupby("customer_id")["lost_on"].min().reindex(customers.index)
    end = first_loss.fillna(pd.Timestamp(as_of))
    durations = (end - customers["first"]).dt.days.clip(lower=0)
    km = survival.kaplan_meier(durations, first_loss.notna(), groups, min_group_size=5)
    return monthly, km, month_starts


def _json_numbers(values) -> list:
    """A column as JSON-safe Python values: NaN and infinities become None (PostgreSQL's JSON
    has no NaN)."""
    return [
        None if isinstance(v, float) and not np.isfinite(v) else v
        for v in pd.Series(values).astype(object).tolist()
    ]


def _encode_frame(frame: pd.DataFrame) -> dict:
    return {str(c): _json_numbers(frame[c]) for c in frame.columns}


def store_analyses(as_of: date, scores: list | None = None) -> None:
    """Compute the analysis page's figures from the stored statuses and register and store them
    (one row per grouping), replacing those of the previous recompute. ``scores``: the rows of
    ``surveys.queries.satisfaction_scores()`` when the caller has read them already."""
    from . import queries

    customers = queries.customer_frame()
    spells = queries.spell_frame()
    # A customer who left is grouped by the tier they had when leaving (their value now is
    # gone, and grouping them by it would make every leaver look "minor").
    tier_at_loss = spells.sort_values("lost_on").groupby("customer_id")["tier"].first()
    customers.loc[tier_at_loss.index.intersection(customers.index), "tier"] = tier_at_loss

    cohort_since = (pd.Timestamp(as_of).to_period("M") - 23).to_timestamp().date()
    cohorts = churn_math.cohort_retention(queries.cohort_activity(cohort_since))
    cohort_data = {
        "index": [d.date().isoformat() for d in cohorts.index],
        "columns": [int(c) for c in cohorts.columns],
        "values": [_json_numbers(row) for row in cohorts.to_numpy(dtype=float)],
    }
    linked = linked_churn(scores)
    linked_data = {name: getattr(linked, name) for name in LinkedChurn.__dataclass_fields__}
    db.session.execute(sa.delete(ChurnAnalysis))
    for group_by in GROUPINGS:
        monthly, km, month_starts = _survival_and_rates(
            as_of, customers, spells, group_by, ANALYSIS_MONTHS
        )
        monthly = monthly.assign(month=[m.isoformat() for m in monthly["month"]])
        db.session.add(
            ChurnAnalysis(
                group_by=group_by,
                as_of=as_of,
                data={
                    "since": month_starts[0].isoformat(),
                    "until": (month_starts[-1] - timedelta(days=1)).isoformat(),
                    "monthly": _encode_frame(monthly),
                    "cohorts": cohort_data,
                    "survival": {
                        "curves": _encode_frame(km.curves),
                        "test_statistic": km.test_statistic,
                        "p_value": km.p_value,
                        "degrees_of_freedom": km.degrees_of_freedom,
                        "groups": km.groups,
                    },
                    "linked": linked_data,
                },
            )
        )
    db.session.flush()


MONTHLY_COLUMNS = ("group", "month", "at_start", "lost", "won_back", "churn_rate", "retention")
CURVE_COLUMNS = ("group", "days", "at_risk", "events", "survival", "lower", "upper")


def _decode_frame(data: dict, columns: tuple[str, ...], floats: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame({c: data.get(c, []) for c in columns}, columns=list(columns))
    for column in floats:
        frame[column] = frame[column].astype(float)
    return frame


def analysis(group_by: str = "tier") -> Analysis | None:
    """Everything the manager's analysis page shows: the figures stored by the last recompute
    and the register's live counts (reasons and win-back change with staff work between
    recomputes). None before the first recompute. ``group_by`` is "tier" or "segment"."""
    from . import queries

    stored = db.session.get(ChurnAnalysis, group_by if group_by in GROUPINGS else "tier")
    if stored is None:
        return None
    data = stored.data
    monthly = _decode_frame(data["monthly"], MONTHLY_COLUMNS, ("churn_rate", "retention"))
    monthly["month"] = [date.fromisoformat(m) for m in monthly["month"]]
    cohort_data = data["cohorts"]
    cohorts = pd.DataFrame(
        cohort_data["values"],
        index=pd.to_datetime(cohort_data["index"]),
        columns=cohort_data["columns"],
        dtype=float,
    )
    saved = data["survival"]
    curves = (
        _decode_frame(saved["curves"], CURVE_COLUMNS, ("days", "survival", "lower", "upper"))
        if saved["curves"]
        else pd.DataFrame()
    )
    km = survival.SurvivalResult(
        curves=curves,
        test_statistic=saved["test_statistic"],
        p_value=saved["p_value"],
        degrees_of_freedom=saved["degrees_of_freedom"],
        groups=saved["groups"],
    )
    return Analysis(
        as_of=stored.as_of,
        group_by=stored.group_by,
        monthly=monthly,
        cohorts=cohorts,
        survival=km,
        reasons=queries.reason_counts(),
        value_lost=queries.value_lost_by_month(
            date.fromisoformat(data["since"]),
            date.fromisoformat(data["until"]) if "until" in data else stored.as_of,
        ),
        win_back=queries.win_back_summary(),
        counts=queries.status_counts(),
        linked=LinkedChurn(**data["linked"]),
    )


# --- recomputation jobs --------------------------------------------------------------------------

#: the kind of the churn recomputation jobs (``flask jobs work`` runs them)
JOB_KIND = "churn"


def request_recompute(actor: User) -> Job:
    """Queue a recompute as of the day it runs (the button); the one already queued is returned
    instead of a second. A running one does not count: it may have read the data too early."""
    if not actor.has_role(Role.MANAGER):
        raise PermissionDenied(_l("Only managers and administrators can recompute."))
    return queue_recompute(actor.id)


def queue_recompute(requested_by_id: int | None) -> Job:
    """Queue a recompute after new data (an import), without checking who asked: whoever may
    import may cause one."""
    return jobs.request_job(JOB_KIND, requested_by_id)


def latest_job() -> Job | None:
    return jobs.latest_job(JOB_KIND)


def get_job(job_id: int) -> Job | None:
    return jobs.get_job(JOB_KIND, job_id)


@jobs.handler(JOB_KIND)
def _run_job(progress: jobs.Progress) -> str:
    summary = recompute(date.today(), progress=progress)
    return f"as of {summary.as_of}: {summary.customers} customers {summary.counts}"
