"""Read side of complaints: the staff lists (keyset pages) and the managers' analysis, in SQL."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time, timedelta

import numpy as np
import sqlalchemy as sa

from survey_app.analytics import complaints as stats
from survey_app.customers.models import Customer, Transaction
from survey_app.customers.queries import raw_frame, utc_days
from survey_app.db_types import UTCDateTime
from survey_app.extensions import db
from survey_app.taxonomy.models import Reason

from .models import (
    OPEN_STATES,
    SEARCHED_COLUMNS,
    Channel,
    Complaint,
    QueueRule,
    RecoveryRating,
    RootCause,
    Severity,
    State,
)


@dataclass
class Filters:
    q: str = ""
    state: State | None = None
    category_id: int | None = None
    severity: Severity | None = None
    #: a user id, or 0 for "unassigned"
    assignee_id: int | None = None
    channel: Channel | None = None
    customer_id: int | None = None
    #: the customer's own code (as typed: exact or in capitals)
    customer_code: str = ""
    date_from: date | None = None
    date_to: date | None = None
    overdue: bool = False
    open_only: bool = False

    @property
    def active(self) -> bool:
        return any(
            [
                self.q,
                self.state,
                self.category_id,
                self.severity,
                self.assignee_id is not None,
                self.channel,
                self.customer_id,
                self.customer_code,
                self.date_from,
                self.date_to,
                self.overdue,
                self.open_only,
            ]
        )


def _utc(day: date, end: bool = False) -> datetime:
    from datetime import UTC

    moment = datetime.combine(day + timedelta(days=1) if end else day, time(0), UTC)
    return moment


def _has_code(code: str):
    """The customer's code as typed, exactly or in lower case (looked up through the codes'
    unique index, so "c00932" finds "C00932" but not "C0093")."""
    return Customer.code.in_({code, code.upper()})


def customer_of_code(code: str) -> Customer | None:
    """The customer the list's customer filter names, if any."""
    if not code:
        return None
    return db.session.scalars(sa.select(Customer).where(_has_code(code)).limit(1)).first()


def _conditions(f: Filters, now: datetime) -> list:
    """The WHERE conditions of the staff list's filters (all must hold)."""
    conditions = []
    if f.q:
        pattern = "%" + f.q.replace("\\", "").replace("%", "").replace("_", "\\_") + "%"
        # SQLite's LIKE already ignores ASCII case; PostgreSQL needs ILIKE
        like = "like" if db.engine.dialect.name == "sqlite" else "ilike"
        conditions.append(
            sa.or_(
                Complaint.code == f.q.upper(),
                *(
                    # on PostgreSQL, each through its trigram index (``Complaint``)
                    getattr(getattr(Complaint, column), like)(pattern, escape="\\")
                    for column in SEARCHED_COLUMNS
                ),
            )
        )
    if f.state:
        conditions.append(Complaint.state == f.state)
    if f.open_only:
        conditions.append(Complaint.state.in_(OPEN_STATES))
    if f.category_id:
        conditions.append(Complaint.category_id == f.category_id)
    if f.severity:
        conditions.append(Complaint.severity == f.severity)
    if f.assignee_id == 0:
        conditions.append(Complaint.assignee_id.is_(None))
    elif f.assignee_id:
        conditions.append(Complaint.assignee_id == f.assignee_id)
    if f.channel:
        conditions.append(Complaint.channel == f.channel)
    if f.customer_id:
        conditions.append(Complaint.customer_id == f.customer_id)
    if f.customer_code:
        conditions.append(
            Complaint.customer_id.in_(sa.select(Customer.id).where(_has_code(f.customer_code)))
        )
    if f.date_from:
        conditions.append(Complaint.created_at >= _utc(f.date_from))
    if f.date_to:
        conditions.append(Complaint.created_at < _utc(f.date_to, end=True))
    if f.overdue:
        conditions.append(Complaint.due_at < now)
    return conditions


def _where(query, f: Filters, now: datetime):
    return query.where(*_conditions(f, now))


def complaint_page(f: Filters, now: datetime, *, before_id: int | None, per_page: int):
    """Newest first, ``per_page`` rows after the cursor; returns (rows, next cursor or None)."""
    query = _where(sa.select(Complaint), f, now)
    if before_id:
        query = query.where(Complaint.id < before_id)
    rows = list(db.session.scalars(query.order_by(Complaint.id.desc()).limit(per_page + 1)))
    more = len(rows) > per_page
    rows = rows[:per_page]
    return rows, (rows[-1].id if more and rows else None)


def count_matching(f: Filters, now: datetime) -> int:
    query = _where(sa.select(sa.func.count(Complaint.id)), f, now)
    return db.session.scalar(query)


def export_page(f: Filters, now: datetime, *, before_id: int | None, limit: int) -> list[tuple]:
    """Up to ``limit`` complaints of the staff list's filters, newest first, below the cursor
    ``before_id``: each ``(complaint, customer code, assignee)``, with its category, in one
    query (for the CSV download)."""
    from survey_app.accounts.models import User

    query = _where(
        sa.select(Complaint, Customer.code, User)
        .outerjoin(Customer, Customer.id == Complaint.customer_id)
        .outerjoin(User, User.id == Complaint.assignee_id),
        f,
        now,
    )
    if before_id:
        query = query.where(Complaint.id < before_id)
    return list(db.session.execute(query.order_by(Complaint.id.desc()).limit(limit)).tuples())


def count_each(filters: Mapping[str, Filters], now: datetime) -> dict[str, int]:
    """How many complaints match each of ``filters``, in one query. Each number is the one
    ``count_matching`` gives for the same filters (the total the staff list shows with them):
    the conditions are the list's own. Those every filter shares go to the WHERE clause, so the
    index on them narrows the rows read; the rest are counted per filter (COUNT of a CASE)."""
    named = list(filters.items())
    first = named[0][1]
    shared = [
        item
        for item in fields(Filters)
        if all(getattr(f, item.name) == getattr(first, item.name) for _name, f in named)
    ]
    unshared = {item.name: item.default for item in shared}
    counts = []
    for _name, f in named:
        own = _conditions(replace(f, **unshared), now)
        counts.append(sa.func.count(sa.case((sa.and_(*own), 1))) if own else sa.func.count())
    query = sa.select(*counts).select_from(Complaint)
    query = _where(query, Filters(**{item.name: getattr(first, item.name) for item in shared}), now)
    row = db.session.execute(query).one()
    return {name: n for (name, _f), n in zip(named, row, strict=True)}


def most_overdue(now: datetime, limit: int = 5) -> list[tuple[int, str, datetime, Reason]]:
    """The open complaints longest past their deadline (those the staff list shows with "open
    only" and "overdue only"), longest first: id, code, deadline and category of each."""
    query = _where(
        sa.select(Complaint.id, Complaint.code, Complaint.due_at, Reason).join(
            Reason, Reason.id == Complaint.category_id
        ),
        Filters(open_only=True, overdue=True),
        now,
    )
    return [
        tuple(row)
        for row in db.session.execute(query.order_by(Complaint.due_at, Complaint.id).limit(limit))
    ]


def my_work(user_id: int, queue_ids: list[int], now: datetime, limit: int = 100):
    """(mine, unassigned in my queues): open complaints, overdue first, then by due date."""
    order = (
        sa.case((Complaint.due_at < now, 0), else_=1),
        sa.case((Complaint.due_at.is_(None), 1), else_=0),
        Complaint.due_at,
        Complaint.id,
    )
    base = sa.select(Complaint).where(Complaint.state.in_(OPEN_STATES))
    mine = list(
        db.session.scalars(
            base.where(Complaint.assignee_id == user_id).order_by(*order).limit(limit)
        )
    )
    queued = []
    if queue_ids:
        queued = list(
            db.session.scalars(
                base.where(Complaint.assignee_id.is_(None), Complaint.queue_id.in_(queue_ids))
                .order_by(*order)
                .limit(limit)
            )
        )
    return mine, queued


def complaints_by_code(code: str) -> Complaint | None:
    return db.session.scalar(sa.select(Complaint).where(Complaint.code == code.strip().upper()))


def queue_rules() -> dict[int, int]:
    return dict(db.session.execute(sa.select(QueueRule.category_id, QueueRule.queue_id)).all())


# --- analysis ---


@dataclass
class AnalysisFilters:
    date_from: date
    date_to: date
    granularity: str = "month"
    category_id: int | None = None
    severity: Severity | None = None
    channel: Channel | None = None
    tier: str = ""
    #: the customer's segment (complaints without a customer then drop out)
    segment: str = ""


@dataclass
class Analysis:
    total: int = 0
    volume: list = field(default_factory=list)  # (period, category label, count)
    periods: list = field(default_factory=list)
    categories: list = field(default_factory=list)  # pareto rows
    root_causes: list = field(default_factory=list)  # pareto rows
    ack: stats.DurationSummary | None = None
    resolve: stats.DurationSummary | None = None
    ack_histogram: list = field(default_factory=list)
    resolve_histogram: list = field(default_factory=list)
    ack_sla: tuple = (0, 0)  # (met, total)
    resolve_sla: tuple = (0, 0)
    reopened: tuple = (0, 0)  # (reopened, resolved or reopened)
    ratings: int = 0
    mean_rating: float | None = None
    mean_recommend: float | None = None
    nps: float | None = None
    active_customers: int = 0
    per_thousand: float | None = None


def _period_key(column, granularity: str):
    """What the GROUP BY groups a timestamp by, for its period (a week from Monday, or a month),
    labelled after grouping by ``_period_label``. No date function runs per row: on SQLite the
    stored UTC text's month or day (``substr``; weeks are folded from days afterwards: 10-15% off
    the grouping query at 100,000 complaints), on PostgreSQL the period's first moment
    (``date_trunc``; ``to_char`` formatted every row, half the weekly grouping's time)."""
    if db.engine.dialect.name == "sqlite":  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC)
        return sa.func.substr(column, 1, 10 if granularity == "week" else 7)
    unit = "week" if granularity == "week" else "month"
    return sa.func.date_trunc(unit, sa.func.timezone("UTC", column))


def _period_label(key, granularity: str) -> str:
    """``YYYY-MM-DD`` (the week's Monday) or ``YYYY-MM``, from a ``_period_key`` value."""
    if granularity != "week":
        return key if isinstance(key, str) else key.strftime("%Y-%m")
    day = date.fromisoformat(key) if isinstance(key, str) else key.date()
    return (day - timedelta(days=day.weekday())).isoformat()


def _hours(start, end):
    if db.engine.dialect.name == "sqlite":
        return (sa.func.julianday(end) - sa.func.julianday(start)) * 24.0
    # date_part gives double precision (EXTRACT a numeric, which is several times slower)
    return sa.func.date_part("epoch", end - start) / 3600.0


def _analysis_where(query, f: AnalysisFilters):
    query = query.where(
        Complaint.merged_into_id.is_(None),
        Complaint.created_at >= _utc(f.date_from),
        Complaint.created_at < _utc(f.date_to, end=True),
    )
    if f.category_id:
        query = query.where(Complaint.category_id == f.category_id)
    if f.severity:
        query = query.where(Complaint.severity == f.severity)
    if f.channel:
        query = query.where(Complaint.channel == f.channel)
    if f.tier:
        query = query.where(Complaint.tier == f.tier)
    if f.segment:
        query = query.where(
            Complaint.customer_id.in_(sa.select(Customer.id).where(Customer.segment == f.segment))
        )
    return query


def _plain_rows(statement) -> list[tuple]:
    """Rows as the driver returns them, without SQLAlchemy's per-value processing: for long
    numeric columns headed straight into numpy (bind parameters are still processed).

    On PostgreSQL the rows come in psycopg's binary format, which gives the same Python values:
    a number is then unpacked from its bytes instead of parsed from text (90,000 pairs of
    durations took 55-70 ms instead of 150 in a microbenchmark). SQLAlchemy's execution has
    no way to ask for that, so the statement runs on the session's DBAPI connection, its
    bound values converted by their types as SQLAlchemy converts them."""
    connection = db.session.connection()
    dialect = connection.dialect
    if dialect.name != "postgresql":
        result = connection.execute(statement)
        try:
            return result.cursor.fetchall()
        finally:
            result.close()
    compiled = statement.compile(dialect=dialect)
    if compiled.positional or compiled.escaped_bind_names or "POSTCOMPILE" in compiled.string:
        raise ValueError("a statement with parameters psycopg cannot take by name as compiled")
    params = {}
    for name, value in compiled.params.items():
        process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        params[name] = value if process is None else process(value)
    cursor = connection.connection.driver_connection.cursor()
    try:
        return cursor.execute(compiled.string, params, binary=True).fetchall()
    finally:
        cursor.close()


def analysis(f: AnalysisFilters, locale: str) -> Analysis:
    """Every figure of the managers' page for the complaints received in the period.

    Three passes over the period's complaints: one GROUP BY (period, category, root cause)
    carrying the SLA and reopen counts, one read of the two duration columns (for exact
    percentiles), one join with the ratings; plus the active-customer count."""
    result = Analysis()
    labels = {r.id: r.label(locale) for r in db.session.scalars(sa.select(Reason))}
    period = _period_key(Complaint.created_at, f.granularity).label("period")
    one = sa.literal(1)

    def flag(condition):
        return sa.func.sum(sa.case((condition, one), else_=0))

    grouped = _plain_rows(
        _analysis_where(
            sa.select(
                period,
                Complaint.category_id,
                Complaint.root_cause_id,
                sa.func.count(Complaint.id),
                sa.func.count(Complaint.acknowledged_at),
                flag(Complaint.acknowledged_at <= Complaint.ack_due_at),
                sa.func.count(Complaint.resolved_at),
                flag(Complaint.resolved_at <= Complaint.resolve_due_at),
                flag(Complaint.reopen_count > 0),
                flag(sa.or_(Complaint.resolved_at.is_not(None), Complaint.reopen_count > 0)),
            ),
            f,
        ).group_by(period, Complaint.category_id, Complaint.root_cause_id)
    )
    volume: dict = {}
    by_category: dict = {}
    by_cause: dict = {}
    causes = {rc.id: rc.label(locale) for rc in db.session.scalars(sa.select(RootCause))}
    for row in grouped:
        label = labels.get(row[1], "?")
        key = (_period_label(row[0], f.granularity), row[1])
        volume[key] = volume.get(key, 0) + row[3]
        by_category[label] = by_category.get(label, 0) + row[3]
        if row[2] is not None:
            cause = causes.get(row[2], "?")
            by_cause[cause] = by_cause.get(cause, 0) + row[3]
    result.volume = [(p, labels.get(c, "?"), n) for (p, c), n in sorted(volume.items())]
    result.periods = sorted({p for p, _c in volume})
    result.total = sum(by_category.values())
    result.categories = stats.pareto(by_category)
    result.root_causes = stats.pareto(by_cause)
    totals = [sum(int(row[i] or 0) for row in grouped) for i in range(4, 10)]
    result.ack_sla = (totals[1], totals[0])
    result.resolve_sla = (totals[3], totals[2])
    result.reopened = (totals[4], totals[5])

    durations = _plain_rows(
        _analysis_where(
            sa.select(
                _hours(Complaint.created_at, Complaint.acknowledged_at),
                _hours(Complaint.created_at, Complaint.resolved_at),
            ),
            f,
        ).where(Complaint.acknowledged_at.is_not(None))
    )
    values = itertools.chain.from_iterable(durations)  # NULL (not resolved) becomes NaN
    matrix = np.fromiter(
        (np.nan if v is None else v for v in values), float, count=2 * len(durations)
    ).reshape(-1, 2)
    ack_hours, resolve_hours = matrix[:, 0], matrix[:, 1]
    resolve_hours = resolve_hours[~np.isnan(resolve_hours)]
    result.ack = stats.duration_summary(ack_hours)
    result.resolve = stats.duration_summary(resolve_hours)
    result.ack_histogram = stats.duration_histogram(ack_hours)
    result.resolve_histogram = stats.duration_histogram(resolve_hours)

    recommend = _plain_rows(
        _analysis_where(
            sa.select(RecoveryRating.rating, RecoveryRating.recommend).join(
                Complaint, Complaint.id == RecoveryRating.complaint_id
            ),
            f,
        )
    )
    result.ratings = len(recommend)
    if recommend:
        result.mean_rating = sum(r for r, _n in recommend) / len(recommend)
        result.mean_recommend = sum(n for _r, n in recommend) / len(recommend)
        result.nps = stats.net_promoter([n for _r, n in recommend])

    result.active_customers = db.session.scalar(
        sa.select(sa.func.count(sa.distinct(Transaction.customer_id))).where(
            Transaction.occurred_on > f.date_to - timedelta(days=365),
            Transaction.occurred_on <= f.date_to,
        )
    )
    if result.active_customers:
        result.per_thousand = 1000.0 * result.total / result.active_customers
    return result


def complained_since(since: Mapping[int, date]) -> set[int]:
    """The customers (of ``since``: customer id -> day) who filed a complaint on or after their
    day: how the index's validity panel sets survey answers beside later complaints."""
    if not since:
        return set()
    out: set[int] = set()
    ids = list(since)
    for start in range(0, len(ids), 900):  # stay under SQLite's bound-parameter limit
        chunk = ids[start : start + 900]
        rows = db.session.execute(
            sa.select(Complaint.customer_id, sa.func.max(Complaint.created_at))
            .where(Complaint.customer_id.in_(chunk), Complaint.merged_into_id.is_(None))
            .group_by(Complaint.customer_id)
        )
        out.update(cid for cid, last in rows if last is not None and last.date() >= since[cid])
    return out


__all__ = ["Filters", "AnalysisFilters", "analysis", "complaint_page", "my_work", "UTCDateTime"]


#: how a customer's latest complaint ended, for setting complaints beside churn
OUTCOMES = ("on_time", "late", "unresolved")
#: bands of the recovery rating (1-5) of a customer's latest complaint
RECOVERY_BANDS = ("poor", "fair", "good", "not_rated")


def latest_complaint_by_customer() -> dict[int, tuple[str, str, date]]:
    """Per customer who complained: how their latest complaint (merged ones aside) ended,
    the band of its recovery rating and the day it was received, in one query.

    Ended: "on_time" (resolved or closed, resolved by the resolution target), "late" (resolved
    after it), "unresolved" (still open, reopened, withdrawn or rejected). Rating band: "poor"
    (1-2), "fair" (3), "good" (4-5), "not_rated"."""
    done = Complaint.state.in_([State.RESOLVED, State.CLOSED])
    ranked = (
        sa.select(
            Complaint.customer_id.label("customer_id"),
            Complaint.created_at.label("created_at"),
            sa.case(
                (
                    sa.and_(
                        done,
                        sa.or_(
                            Complaint.resolve_due_at.is_(None),
                            Complaint.resolved_at <= Complaint.resolve_due_at,
                        ),
                    ),
                    "on_time",
                ),
                (done, "late"),
                else_="unresolved",
            ).label("outcome"),
            sa.case(
                (RecoveryRating.rating.is_(None), "not_rated"),
                (RecoveryRating.rating <= 2, "poor"),
                (RecoveryRating.rating == 3, "fair"),
                else_="good",
            ).label("band"),
            sa.func.row_number()
            .over(
                partition_by=Complaint.customer_id,
                order_by=(Complaint.created_at.desc(), Complaint.id.desc()),
            )
            .label("rank"),
        )
        .outerjoin(RecoveryRating, RecoveryRating.complaint_id == Complaint.id)
        .where(Complaint.customer_id.is_not(None), Complaint.merged_into_id.is_(None))
        .subquery()
    )
    frame = raw_frame(
        sa.select(ranked.c.customer_id, ranked.c.outcome, ranked.c.band, ranked.c.created_at).where(
            ranked.c.rank == 1
        ),
        ["customer_id", "outcome", "band", "created_at"],
    )
    if frame.empty:
        return {}
    return {
        cid: (outcome, band, day)
        for cid, outcome, band, day in zip(
            frame["customer_id"].astype(int).tolist(),
            frame["outcome"].tolist(),
            frame["band"].tolist(),
            utc_days(frame["created_at"]),
            strict=True,
        )
    }


def complaint_days() -> list[tuple[int, date]]:
    """(customer id, day received) of every complaint of a known customer (merged ones aside):
    what the at-risk model reads as of each snapshot."""
    frame = raw_frame(
        sa.select(Complaint.customer_id, Complaint.created_at)
        .where(Complaint.customer_id.is_not(None), Complaint.merged_into_id.is_(None))
        .order_by(Complaint.created_at, Complaint.id),
        ["customer_id", "created_at"],
    )
    if frame.empty:
        return []
    return list(
        zip(frame["customer_id"].astype(int).tolist(), utc_days(frame["created_at"]), strict=True)
    )


def complaints_of(customer_id: int, limit: int = 50) -> list[tuple[Complaint, int | None]]:
    """A customer's complaints, newest first, with their recovery rating (for the customer page)."""
    return db.session.execute(
        sa.select(Complaint, RecoveryRating.rating)
        .outerjoin(RecoveryRating, RecoveryRating.complaint_id == Complaint.id)
        .where(Complaint.customer_id == customer_id)
        .order_by(Complaint.created_at.desc(), Complaint.id.desc())
        .limit(limit)
    ).all()
