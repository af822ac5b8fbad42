"""Churn status of every customer, the lost-customer register and win-back attempts."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey_app.db_types import UTCDateTime, utcnow
from survey_app.extensions import db


def _enum(cls, length: int = 20):
    return sa.Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class Status(enum.Enum):
    ACTIVE = "active"
    AT_RISK = "at_risk"
    LOST = "lost"
    WON_BACK = "won_back"


class LearntHow(enum.Enum):
    EXIT_SURVEY = "exit_survey"
    INTERVIEW = "interview"
    STAFF_JUDGEMENT = "staff_judgement"


class Channel(enum.Enum):
    PHONE = "phone"
    EMAIL = "email"
    VISIT = "visit"
    MESSAGE = "message"


class Outcome(enum.Enum):
    NO_ANSWER = "no_answer"
    DECLINED = "declined"
    CONSIDERING = "considering"
    AGREED = "agreed"


class ChurnSettings(db.Model):
    """The one row (id 1) defining when a customer counts as lost."""

    __tablename__ = "churn_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: non-contractual: lost after this many times the customer's own median gap between orders
    rhythm_multiplier: Mapped[float] = mapped_column(default=4.0)
    #: ... but never before this many days without an order
    floor_days: Mapped[int] = mapped_column(default=90)
    #: threshold for customers with fewer than three orders (no rhythm yet)
    default_days: Mapped[int] = mapped_column(default=180)
    #: at risk once this share of the threshold has passed without an order
    at_risk_share: Mapped[float] = mapped_column(default=0.6)
    #: contractual: a new contract starting within this many days of the old one's end renews it
    renewal_grace_days: Mapped[int] = mapped_column(default=30)
    #: contractual: at risk when the contract ends within this many days with no renewal
    renewal_warning_days: Mapped[int] = mapped_column(default=60)
    #: a returning customer shows as "won back" for this many days
    won_back_days: Mapped[int] = mapped_column(default=365)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: when statuses were last recomputed: the version of every figure derived from them
    recomputed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CustomerStatus(db.Model):
    """Each customer's churn status as of the last recompute."""

    __tablename__ = "customer_statuses"

    customer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[Status] = mapped_column(_enum(Status), index=True)
    as_of: Mapped[date] = mapped_column(sa.Date())
    #: "contract" or "rhythm": which definition of loss applied
    basis: Mapped[str] = mapped_column(sa.String(10))
    first_purchase_on: Mapped[date | None] = mapped_column(sa.Date())
    last_purchase_on: Mapped[date | None] = mapped_column(sa.Date())
    #: days without an order after which this customer counts as lost (rhythm basis)
    threshold_days: Mapped[int | None]
    #: start of the current loss (lost) or of the last one (won back)
    lost_on: Mapped[date | None] = mapped_column(sa.Date())
    returned_on: Mapped[date | None] = mapped_column(sa.Date())


class CohortCount(db.Model):
    """How many customers of a first-purchase month bought in a later month (recomputed with
    the statuses; the source of the cohort retention heatmap)."""

    __tablename__ = "cohort_counts"

    #: first day of the month of the customers' first purchase
    cohort: Mapped[date] = mapped_column(sa.Date(), primary_key=True)
    #: first day of the month they bought in
    month: Mapped[date] = mapped_column(sa.Date(), primary_key=True)
    customers: Mapped[int]


loss_record_reasons = sa.Table(
    "loss_record_reasons",
    db.metadata,
    sa.Column(
        "loss_record_id",
        sa.ForeignKey("loss_records.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("reason_id", sa.ForeignKey("reasons.id", ondelete="RESTRICT"), primary_key=True),
)


class LossRecord(db.Model):
    """One entry of the lost-customer register: a customer who left, when, and why."""

    __tablename__ = "loss_records"
    __table_args__ = (sa.UniqueConstraint("customer_id", "lost_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    lost_on: Mapped[date] = mapped_column(sa.Date(), index=True)
    last_purchase_on: Mapped[date | None] = mapped_column(sa.Date())
    #: revenue in the 365 days before the loss
    last_value: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2), default=Decimal("0"))
    #: customer lifetime value when the loss was recorded: what leaving cost
    clv_lost: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2), default=Decimal("0"))
    tier: Mapped[str] = mapped_column(sa.String(10), default="minor")
    learnt_how: Mapped[LearntHow | None] = mapped_column(_enum(LearntHow))
    note: Mapped[str] = mapped_column(sa.Text(), default="")
    #: the customer bought (or signed) again on this day
    won_back_on: Mapped[date | None] = mapped_column(sa.Date())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    customer = relationship("Customer", lazy="joined")
    reasons = relationship("Reason", secondary=loss_record_reasons, lazy="selectin")
    attempts = relationship(
        "WinBackAttempt",
        back_populates="loss_record",
        order_by="WinBackAttempt.attempted_on.desc(), WinBackAttempt.id.desc()",
        cascade="all, delete-orphan",
    )


class WinBackAttempt(db.Model):
    """A contact with a lost customer to win them back, and how it went."""

    __tablename__ = "win_back_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    loss_record_id: Mapped[int] = mapped_column(
        sa.ForeignKey("loss_records.id", ondelete="CASCADE"), index=True
    )
    attempted_on: Mapped[date] = mapped_column(sa.Date())
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    outcome: Mapped[Outcome] = mapped_column(_enum(Outcome))
    note: Mapped[str] = mapped_column(sa.Text(), default="")
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    loss_record = relationship("LossRecord", back_populates="attempts")
    staff = relationship("User", lazy="joined")


class RiskScore(db.Model):
    """An active customer's modelled chance of leaving soon and the value that puts at risk."""

    __tablename__ = "risk_scores"

    customer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    as_of: Mapped[date] = mapped_column(sa.Date())
    probability: Mapped[float]
    value_at_risk: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2), index=True)
    #: days since the last order divided by the customer's median gap
    gap_ratio: Mapped[float]
    #: relative change of spend, last 180 days against the 180 before
    spend_trend: Mapped[float]
    #: comma-separated reason codes ("long_gap,declining_spend")
    drivers: Mapped[str] = mapped_column(sa.String(200), default="")


class RiskModelRun(db.Model):
    """One fit of the at-risk model with its out-of-time check."""

    __tablename__ = "risk_model_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[date] = mapped_column(sa.Date())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    horizon_days: Mapped[int]
    train_rows: Mapped[int]
    holdout_rows: Mapped[int]
    #: concordance of the model fitted on an earlier snapshot, scored on the next period
    holdout_concordance: Mapped[float | None]
    train_concordance: Mapped[float | None]
    #: JSON {covariate: coefficient}
    coefficients: Mapped[str] = mapped_column(sa.Text(), default="{}")


class ChurnAnalysis(db.Model):
    """The analysis page's figures, computed at the end of every recompute so the page only
    reads them: monthly churn, cohort retention, Kaplan-Meier curves with their bands and the
    log-rank test, and churn beside complaints and satisfaction. One row per way of splitting
    the customers; a recompute replaces them all."""

    __tablename__ = "churn_analyses"

    #: "tier" or "segment"
    group_by: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    as_of: Mapped[date] = mapped_column(sa.Date())
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: the figures as JSON (``churn.services.store_analyses`` writes, ``analysis`` reads)
    data: Mapped[dict] = mapped_column(sa.JSON())
