"""The composite satisfaction index: weights, computation and storage of the values per period and
group, and recomputation jobs. Reads the other domains through their queries only."""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from survey_app.accounts.models import Role, User
from survey_app.analytics import composite as cx
from survey_app.analytics import pls
from survey_app.churn import queries as churn_queries
from survey_app.complaints import queries as complaint_queries
from survey_app.customers import queries as customer_queries
from survey_app.customers.models import Customer
from survey_app.db_types import utcnow
from survey_app.errors import DomainError
from survey_app.extensions import db
from survey_app.jobs import services as jobs
from survey_app.jobs.models import Job
from survey_app.surveys import queries as survey_queries

from .models import IndexSettings, IndexValue, WeightChange

log = logging.getLogger(__name__)

#: below this many complete respondents the model is not estimated (fallback mean instead)
MIN_MODEL_RESPONSES = 30
#: bootstrap resamples for the interval of S (seeded: the same data give the same interval)
BOOTSTRAP_RESAMPLES = 100
BOOTSTRAP_SEED = 2026
#: how many months (and the quarters they make) `index compute` covers by default
DEFAULT_MONTHS = 24
#: the kind of the index's recomputation jobs
JOB_KIND = "index"


class IndexRuleError(DomainError):
    pass


# --- settings ------------------------------------------------------------------------------------


def index_settings() -> IndexSettings:
    row = db.session.get(IndexSettings, 1)
    if row is None:
        row = IndexSettings(id=1)
        db.session.add(row)
        db.session.flush()
    return row


def update_weights(actor: User, s: float, c: float, r: float) -> WeightChange | None:
    """Set the component weights (each 0-1, summing to 1) and record the change (who, when,
    old, new). Stored index values keep the weights they were computed with. Returns the
    change, or None when the weights are unchanged."""
    if not actor.has_role(Role.MANAGER):
        raise IndexRuleError(_l("Only managers may change the index weights."))
    values = [float(v) for v in (s, c, r)]
    if any(not math.isfinite(v) or v < 0 or v > 1 for v in values):
        raise IndexRuleError(_l("Each weight must be between 0 and 1."))
    if abs(sum(values) - 1.0) > 1e-6:
        raise IndexRuleError(_l("The three weights must add up to 1."), field="weight_r")
    settings = index_settings()
    old = settings.weights
    if all(abs(a - b) < 1e-12 for a, b in zip(old, values, strict=True)):
        return None
    change = WeightChange(
        changed_by_id=actor.id,
        old_s=old[0],
        old_c=old[1],
        old_r=old[2],
        new_s=values[0],
        new_c=values[1],
        new_r=values[2],
    )
    settings.weight_s, settings.weight_c, settings.weight_r = values
    settings.updated_at = utcnow()
    db.session.add(change)
    db.session.flush()
    log.info("index weights %s -> %s by user %s", old, tuple(values), actor.id)
    return change


def weight_changes(limit: int = 20) -> list[WeightChange]:
    return list(
        db.session.scalars(sa.select(WeightChange).order_by(WeightChange.id.desc()).limit(limit))
    )


# --- periods -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    key: str
    granularity: str
    start: date
    end: date

    @property
    def months(self) -> int:
        return 3 if self.granularity == "quarter" else 1


def _month_end(day: date) -> date:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - timedelta(days=1)


def parse_period(key: str) -> Period:
    """ "2026-03" (a month) or "2026-Q1" (a quarter); anything else raises DomainError."""
    key = (key or "").strip().upper()
    try:
        if len(key) == 7 and key[4:6] == "-Q" and key[6] in "1234":
            year, quarter = int(key[:4]), int(key[6])
            start = date(year, 3 * quarter - 2, 1)
            return Period(key, "quarter", start, _month_end(date(year, 3 * quarter, 1)))
        if len(key) == 7 and key[4] == "-":
            start = date(int(key[:4]), int(key[5:]), 1)
            return Period(key, "month", start, _month_end(start))
    except ValueError:
        pass
    raise IndexRuleError(_l("A period is a month like 2026-03 or a quarter like 2026-Q1."))


def recent_periods(as_of: date, months: int = DEFAULT_MONTHS) -> list[Period]:
    """The last ``months`` complete months before ``as_of`` and the complete quarters among
    them, oldest first."""
    out: list[Period] = []
    first_of_month = as_of.replace(day=1)
    for back in range(months, 0, -1):
        index = first_of_month.year * 12 + first_of_month.month - 1 - back
        out.append(parse_period(f"{index // 12}-{index % 12 + 1:02d}"))
    quarters = []
    for period in out:
        if period.start.month % 3 == 0:
            q = parse_period(f"{period.start.year}-Q{period.start.month // 3}")
            if q.start >= out[0].start:
                quarters.append(q)
    return out + quarters


# --- the satisfaction component ------------------------------------------------------------------


@dataclass
class Satisfaction:
    """S for every group of one period."""

    method: str  # "model", "fallback" or ""
    scores: pd.Series  # respondent -> 0-100 satisfaction score
    frame: pd.DataFrame  # respondent -> customer_id, segment, tier
    overall: float | None = None
    interval: tuple[float, float] | None = None
    drivers: dict | None = None
    negative_weights: dict | None = None
    questionnaire_id: int | None = None


def _model_questionnaire(answers: pd.DataFrame) -> int | None:
    """The questionnaire the model is estimated on: among those with satisfaction items, the one
    whose items measure most constructs (ties: most respondents)."""
    with_sat = answers.loc[answers["construct"] == "satisfaction", "questionnaire_id"].unique()
    if not len(with_sat):
        return None
    subset = answers[answers["questionnaire_id"].isin(with_sat)]
    ranking = subset.groupby("questionnaire_id").agg(
        constructs=("construct", "nunique"), respondents=("response_id", "nunique")
    )
    ranking = ranking.sort_values(["constructs", "respondents"], ascending=False)
    return int(ranking.index[0])


def _wide(answers: pd.DataFrame) -> pd.DataFrame:
    return answers.pivot_table(index="response_id", columns="item", values="value", aggfunc="mean")


def satisfaction(answers: pd.DataFrame, tiers: pd.Series) -> Satisfaction:
    """S of a period: the ACSI satisfaction index of the PLS model built from the construct tags
    (ECSI paths among the constructs present), on complete respondents; respondent-level scores
    for the groups. Too few respondents (< MIN_MODEL_RESPONSES), a single construct, or a model
    that cannot be estimated: the fallback mean of the satisfaction items rescaled 0-100."""
    empty = Satisfaction("", pd.Series(dtype=float), pd.DataFrame())
    qid = _model_questionnaire(answers)
    if qid is None:
        return empty
    answers = answers[answers["questionnaire_id"] == qid]
    meta = answers.groupby("response_id").agg(customer_id=("customer_id", "first"))
    meta = meta.join(answers.groupby("response_id")[["segment", "submitted_at"]].first())
    meta["tier"] = meta["customer_id"].map(tiers).fillna("minor")
    items = answers.drop_duplicates("item").set_index("item")
    scales = {i: (float(r.scale_min), float(r.scale_max)) for i, r in items.iterrows()}
    blocks = {
        c: tuple(sorted(items.index[items["construct"] == c])) for c in items["construct"].unique()
    }
    wide = _wide(answers)
    complete = wide.dropna()
    paths = cx.ecsi_paths(blocks)
    result = None
    if len(complete) >= MIN_MODEL_RESPONSES and paths:
        model = pls.PathModel(blocks=blocks, paths=tuple(paths), scales=scales)
        try:
            result = pls.estimate(complete, model)
        except pls.PLSError as error:
            log.info("index: model not estimated (%s); fallback mean", error)
    if result is not None and result.index["satisfaction"].value is not None:
        scores = result.respondent_index["satisfaction"].dropna()
        try:
            boot = pls.bootstrap(
                complete, model, resamples=BOOTSTRAP_RESAMPLES, seed=BOOTSTRAP_SEED, result=result
            )
            interval = boot.index["satisfaction"]
            interval = (interval.low, interval.high)
        except pls.PLSError:
            interval = None
        drivers = {
            d: {
                "importance": result.total_effects.get((d, "satisfaction")),
                "performance": result.index[d].value,
            }
            for d in cx.DRIVERS
            if d in blocks and (d, "satisfaction") in result.total_effects
        }
        return Satisfaction(
            "model",
            scores,
            meta.loc[scores.index],
            overall=result.index["satisfaction"].value,
            interval=interval,
            drivers=drivers,
            negative_weights={c: list(v) for c, v in result.negative_weight_flags.items()},
            questionnaire_id=qid,
        )
    sat_items = [i for i in blocks.get("satisfaction", ())]
    scores = cx.fallback_scores(wide[sat_items], scales)
    return Satisfaction(
        "fallback",
        scores,
        meta.loc[scores.index],
        overall=float(scores.mean()) if len(scores) else None,
        questionnaire_id=qid,
    )


# --- computing and storing -----------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    kind: str  # "all", "segment", "tier"
    value: str = ""


TIERS = ("key", "general", "minor")


def groups() -> list[Group]:
    segments = sorted(s for s in customer_queries.distinct_values(Customer.segment) if s)
    return (
        [Group("all")] + [Group("segment", s) for s in segments] + [Group("tier", t) for t in TIERS]
    )


def _complaint_inputs(period: Period, group: Group) -> tuple[cx.ComplaintInputs, int]:
    f = complaint_queries.AnalysisFilters(
        date_from=period.start,
        date_to=period.end,
        tier=group.value if group.kind == "tier" else "",
        segment=group.value if group.kind == "segment" else "",
    )
    a = complaint_queries.analysis(f, "en")
    inputs = cx.ComplaintInputs(
        complaints=a.total,
        active_customers=0,  # set by the caller: the group's customers at the period start
        months=period.months,
        sla_met=a.ack_sla[0] + a.resolve_sla[0],
        sla_total=a.ack_sla[1] + a.resolve_sla[1],
        ratings=a.ratings,
        mean_rating=a.mean_rating,
        reopened=a.reopened[0],
        resolved=a.reopened[1],
    )
    return inputs, a.total


@dataclass
class ComputeSummary:
    periods: int
    values: int


def _inputs_frame() -> tuple[pd.DataFrame, pd.DataFrame]:
    customers = churn_queries.customer_frame()
    customers["value"] = customer_queries.clv_values().reindex(customers.index).fillna(0.0)
    return customers, churn_queries.spell_frame()


def compute(
    periods: list[Period], progress: Callable[[int, int], None] | None = None
) -> ComputeSummary:
    """Compute and store the index of every period for every group, with the weights in force
    now. Replaces the stored rows of those periods; other periods are left as they are."""
    weights = index_settings().weights
    customers, spells = _inputs_frame()
    observable = losses_observable_from(customers)
    tiers = customers["tier"]
    all_groups = groups()
    stored = 0
    for done, period in enumerate(periods):
        answers = survey_queries.construct_answers(period.start, period.end)
        sat = satisfaction(answers, tiers)
        db.session.execute(sa.delete(IndexValue).where(IndexValue.period == period.key))
        for group in all_groups:
            value = _value(period, group, sat, customers, spells, weights, observable)
            if group.kind == "all":
                value.details = {**value.details, "validity": validity_bands(sat)}
            db.session.add(value)
            stored += 1
        db.session.flush()
        if progress:
            progress(done + 1, len(periods))
    log.info("index: %s values for %s periods", stored, len(periods))
    return ComputeSummary(len(periods), stored)


def _group_scores(sat: Satisfaction, group: Group) -> pd.Series:
    if group.kind == "all" or sat.frame.empty:
        return sat.scores
    return sat.scores[sat.frame[group.kind].reindex(sat.scores.index) == group.value]


def losses_observable_from(customers: pd.DataFrame) -> date | None:
    """The first day a loss can be seen: the purchase history's first day plus the loss
    definition's floor. A loss is recorded no sooner than ``floor_days`` after a customer's last
    order, so before that day no loss is on record whatever happened: R would read 100 for no
    reason. None without any purchase."""
    first = customers["first"].min() if len(customers) else None
    if first is None or pd.isna(first):
        return None
    return pd.Timestamp(first).date() + timedelta(days=churn_queries.floor_days())


def _value(period, group, sat, customers, spells, weights, observable=None) -> IndexValue:
    scores = _group_scores(sat, group)
    s_value = s_low = s_high = None
    if len(scores):
        if group.kind == "all" and sat.overall is not None:
            s_value = sat.overall
        else:
            s_value = float(scores.mean())
        if sat.method == "model":
            interval = sat.interval if group.kind == "all" else None
            if group.kind != "all":
                interval = cx.mean_interval(
                    scores.to_numpy(), resamples=BOOTSTRAP_RESAMPLES, seed=BOOTSTRAP_SEED
                )
            if interval is not None:
                s_low, s_high = interval
    members = customers
    if group.kind != "all":
        members = customers[customers[group.kind] == group.value]
    r_value, r_details = cx.value_weighted_retention(
        members[["first", "value"]],
        spells[spells["customer_id"].isin(members.index)],
        pd.Timestamp(period.start),
        pd.Timestamp(period.end),
    )
    if observable is not None and period.start < observable:
        # part of the period lies before losses can be seen: R is unknown, not 100
        r_value, r_details = None, {**r_details, "observable_from": observable.isoformat()}
    inputs, complaints = _complaint_inputs(period, group)
    inputs = dataclasses.replace(inputs, active_customers=r_details["customers"])
    c_value, c_details = cx.complaint_handling(inputs)
    components = (s_value, c_value, r_value)
    value = cx.composite(components, weights)
    low = high = None
    if s_low is not None and value is not None:
        low = cx.composite((s_low, c_value, r_value), weights)
        high = cx.composite((s_high, c_value, r_value), weights)
    return IndexValue(
        period=period.key,
        granularity=period.granularity,
        period_start=period.start,
        period_end=period.end,
        group_kind=group.kind,
        group_value=group.value,
        satisfaction=s_value,
        complaint_handling=c_value,
        retention=r_value,
        composite=value,
        weight_s=weights[0],
        weight_c=weights[1],
        weight_r=weights[2],
        s_low=s_low,
        s_high=s_high,
        composite_low=low,
        composite_high=high,
        s_method=sat.method if len(scores) else "",
        responses=int(len(scores)),
        complaints=int(complaints),
        customers=r_details["customers"],
        details={
            "complaint": {
                **c_details,
                "active_customers": inputs.active_customers,
                "sla": [inputs.sla_met, inputs.sla_total],
                "ratings": inputs.ratings,
                "mean_rating": inputs.mean_rating,
                "reopened": [inputs.reopened, inputs.resolved],
            },
            "retention": r_details,
            "drivers": sat.drivers if group.kind == "all" else None,
            "negative_weights": sat.negative_weights or {},
            "questionnaire_id": sat.questionnaire_id,
        },
    )


def validity_bands(sat: Satisfaction) -> list[dict]:
    """Does S predict behaviour? The period's respondents (their latest response) by
    satisfaction band, with how many of them later left (a loss beginning on or after the
    response day, from the churn domain) and how many later complained (from the complaints
    domain)."""
    if sat.frame.empty:
        return []
    frame = sat.frame.loc[sat.scores.index].assign(score=sat.scores)
    frame = frame.dropna(subset=["customer_id"]).sort_values("submitted_at")
    latest = frame.groupby("customer_id").last()
    if latest.empty:
        return []
    days = {int(cid): row.submitted_at.date() for cid, row in latest.iterrows()}
    bands = {int(cid): cx.band_of(row.score) for cid, row in latest.iterrows()}
    churn = {
        r["label"]: r
        for r in churn_queries.churn_by_label({cid: (bands[cid], days[cid]) for cid in days})
    }
    complained = complaint_queries.complained_since(days)
    out = []
    for _low, band in cx.BANDS:
        members = [cid for cid, b in bands.items() if b == band]
        if not members:
            continue
        row = churn.get(band, {})
        out.append(
            {
                "band": band,
                "customers": len(members),
                "lost": int(row.get("lost", 0)),
                "complained": sum(cid in complained for cid in members),
            }
        )
    return out


# --- jobs ----------------------------------------------------------------------------------------


def default_as_of() -> date:
    """The date the index is computed up to: that of the last churn recompute, else today."""
    return churn_queries.as_of() or utcnow().date()


def request_recompute(actor: User) -> Job:
    """Queue a recomputation (processed by ``flask jobs work``); an already queued or running
    job is returned instead of a second one."""
    if not actor.has_role(Role.MANAGER):
        raise IndexRuleError(_l("Only managers may recompute the index."))
    return jobs.request_job(JOB_KIND, actor.id, join_running=True)


def latest_job() -> Job | None:
    return jobs.latest_job(JOB_KIND)


def get_job(job_id: int) -> Job | None:
    return jobs.get_job(JOB_KIND, job_id)


@jobs.handler(JOB_KIND)
def _run_job(progress: jobs.Progress) -> str:
    """Recompute the default periods, committing after every period so the report shows the
    progress."""
    periods = recent_periods(default_as_of())
    progress(0, len(periods))
    summary = compute(periods, progress=progress)
    return f"{summary.values} values for {summary.periods} periods"
