"""The signed-in home page: what customers say and what they do, one card per domain, each
figure read by one SQL aggregate of that domain's ``queries`` and shown only to the roles that
may open the page explaining it (the authorization table: ``tests/test_access.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from survey_app.accounts.models import Role, User
from survey_app.churn import queries as churn_queries
from survey_app.churn.models import Status
from survey_app.complaints import queries as complaint_queries
from survey_app.complaints import services as complaint_services
from survey_app.complaints.queries import Filters
from survey_app.customers import queries as customer_queries
from survey_app.index import queries as index_queries
from survey_app.surveys import queries as survey_queries

#: complaints listed by name on the card, longest overdue first
MOST_OVERDUE = 5
#: the follow-up card counts the low-scoring responses of these last days (the follow-up
#: list's default window, so the card's figures equal the totals of the list it links to)
FOLLOWUP_DAYS = 90


@dataclass(frozen=True)
class Totals:
    customers: int
    transactions: int
    revenue: Decimal


@dataclass(frozen=True)
class IndexCard:
    """The latest stored month of the index for all customers; ``period`` is None while none
    is stored."""

    period: str | None = None
    composite: float | None = None
    satisfaction: float | None = None
    complaint_handling: float | None = None
    retention: float | None = None
    #: the stored month before it, None when there is none
    previous_period: str | None = None
    #: composite minus that of ``previous_period`` (None when either is missing)
    change: float | None = None


@dataclass(frozen=True)
class OverdueComplaint:
    id: int
    code: str
    category: str
    overdue_for: timedelta


@dataclass(frozen=True)
class ComplaintCard:
    """Open complaints and, of those, overdue, unassigned and the actor's: ``counts`` and the
    staff list's query arguments that show the same complaints (``args``), by name."""

    counts: dict[str, int]
    args: dict[str, dict[str, str]]
    most_overdue: list[OverdueComplaint] = field(default_factory=list)


@dataclass(frozen=True)
class LossCard:
    """Losses of the last complete month before the statuses' date, and the customers at risk
    now; ``as_of`` is None while the statuses were never computed."""

    as_of: date | None = None
    #: "2026-11"
    month: str = ""
    #: the register's filter for that month (``churn.register``'s query arguments)
    register_args: dict = field(default_factory=dict)
    losses: int = 0
    clv_lost: float = 0.0
    at_risk: int = 0
    value_at_risk: float = 0.0


@dataclass(frozen=True)
class FollowupCard:
    """Low-scoring survey responses of the last ``days`` days: waiting for a follow-up, and
    followed up (by a complaint case or a note of the call)."""

    days: int
    waiting: int
    done: int


@dataclass(frozen=True)
class Overview:
    totals: Totals
    #: each card is None for a role that may not open the page it explains
    index: IndexCard | None = None
    complaints: ComplaintCard | None = None
    losses: LossCard | None = None
    followups: FollowupCard | None = None


def build(actor: User, now: datetime, locale: str) -> Overview:
    """The cards ``actor``'s role may see, as of ``now`` (aware UTC); category names in
    ``locale``."""
    staff_work = actor.has_role(Role.STAFF, Role.MANAGER)
    return Overview(
        totals=Totals(**customer_queries.totals()),
        index=index_card() if actor.has_role(Role.MANAGER) else None,
        complaints=complaint_card(actor.id, now, locale) if staff_work else None,
        losses=loss_card() if staff_work else None,
        followups=followup_card(now) if staff_work else None,
    )


def index_card() -> IndexCard:
    """The latest stored month of the composite index for all customers, its components and
    the change of the composite against the stored month before it."""
    latest = index_queries.latest("month", "all", "", count=2)
    if not latest:
        return IndexCard()
    current = latest[0]
    previous = latest[1] if len(latest) > 1 else None
    change = None
    if previous is not None and current.composite is not None and previous.composite is not None:
        change = round(current.composite - previous.composite, 1) + 0.0  # no "-0.0"
    return IndexCard(
        period=current.period,
        composite=current.composite,
        satisfaction=current.satisfaction,
        complaint_handling=current.complaint_handling,
        retention=current.retention,
        previous_period=previous.period if previous else None,
        change=change,
    )


def complaint_filters(user_id: int) -> dict[str, tuple[Filters, dict[str, str]]]:
    """Each figure of the complaint card: the staff list's filters it counts, and the same
    filters as the list's query arguments (which ``complaints.views._filters`` reads back)."""
    return {
        "open": (Filters(open_only=True), {"open": "1"}),
        "overdue": (Filters(open_only=True, overdue=True), {"open": "1", "overdue": "1"}),
        "unassigned": (
            Filters(open_only=True, assignee_id=0),
            {"open": "1", "assignee": "none"},
        ),
        "mine": (
            Filters(open_only=True, assignee_id=user_id),
            {"open": "1", "assignee": str(user_id)},
        ),
    }


def complaint_card(user_id: int, now: datetime, locale: str) -> ComplaintCard:
    """Open complaints, overdue, unassigned and assigned to ``user_id`` (one query), and the
    ``MOST_OVERDUE`` longest past their deadline."""
    figures = complaint_filters(user_id)
    counts = complaint_queries.count_each({name: f for name, (f, _a) in figures.items()}, now)
    late = [
        OverdueComplaint(id_, code, category.label(locale), now - due_at)
        for id_, code, due_at, category in complaint_queries.most_overdue(now, MOST_OVERDUE)
    ]
    return ComplaintCard(counts, {name: args for name, (_f, args) in figures.items()}, late)


def last_complete_month(as_of: date) -> tuple[date, date]:
    """First and last day of the last calendar month wholly on or before ``as_of``: the month
    of ``as_of`` itself from its last day on (the churn analysis counts months the same way)."""
    end = (as_of + timedelta(days=1)).replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def loss_card() -> LossCard:
    """Losses and the lifetime value lost in the last complete month of the statuses' date,
    customers whose status is "at risk" and the expected value at risk of all scored."""
    as_of = churn_queries.as_of()
    if as_of is None:
        return LossCard()
    first, last = last_complete_month(as_of)
    month = churn_queries.value_lost_by_month(first, last)
    risk = churn_queries.risk_totals()
    return LossCard(
        as_of=as_of,
        month=first.strftime("%Y-%m"),
        register_args={"show": "all", "from": first.isoformat(), "to": last.isoformat()},
        losses=month[0]["losses"] if month else 0,
        clv_lost=month[0]["clv"] if month else 0.0,
        at_risk=churn_queries.status_counts()[Status.AT_RISK.value],
        value_at_risk=risk["value_at_risk"],
    )


def followup_card(now: datetime) -> FollowupCard:
    """Detractors of the last ``FOLLOWUP_DAYS`` days waiting for a follow-up, and those followed
    up: counted as the follow-up list counts its tabs (one query)."""
    since = now.date() - timedelta(days=FOLLOWUP_DAYS)
    counts = survey_queries.followup_counts(
        since=since, cases=complaint_services.responses_with_a_case()
    )
    return FollowupCard(FOLLOWUP_DAYS, counts["waiting"], counts["done"])
