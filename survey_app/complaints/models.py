"""Complaint tables. The timeline (``ComplaintEvent``) is append-only."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey_app.db_types import UTCDateTime, postgresql_only, utcnow
from survey_app.extensions import db


def _enum(cls, length=24):
    return sa.Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class State(enum.Enum):
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    RESOLUTION_PROPOSED = "resolution_proposed"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    ESCALATED = "escalated"
    WITHDRAWN = "withdrawn"
    REJECTED = "rejected"


#: states in which the complaint still needs work from the company
OPEN_STATES = frozenset(
    {
        State.RECEIVED,
        State.ACKNOWLEDGED,
        State.INVESTIGATING,
        State.RESOLUTION_PROPOSED,
        State.REOPENED,
        State.ESCALATED,
    }
)
FINAL_STATES = frozenset({State.CLOSED, State.WITHDRAWN, State.REJECTED})


class Severity(enum.Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Channel(enum.Enum):
    WEB = "web"
    PHONE = "phone"
    EMAIL = "email"
    LETTER = "letter"
    IN_PERSON = "in_person"
    #: opened by staff from a low survey score (the detractor follow-up list)
    SURVEY = "survey"


class EventKind(enum.Enum):
    CREATED = "created"
    STATE = "state"
    ASSIGNMENT = "assignment"
    REPLY = "reply"
    NOTE = "note"
    CUSTOMER_INFO = "customer_info"
    ATTACHMENT = "attachment"
    FIELD_EDIT = "field_edit"
    CUSTOMER_LINK = "customer_link"
    MERGE = "merge"
    RATING = "rating"


class ActorKind(enum.Enum):
    STAFF = "staff"
    CUSTOMER = "customer"
    SYSTEM = "system"


#: the columns the staff list's text search looks in
SEARCHED_COLUMNS = ("contact_name", "contact_email", "contact_phone", "order_ref", "description")


class Complaint(db.Model):
    __tablename__ = "complaints"
    __table_args__ = (
        sa.Index("ix_complaints_state_due", "state", "due_at"),
        sa.Index("ix_complaints_assignee_state", "assignee_id", "state"),
        # Leads with the receipt time for date filters, and covers every column the managers'
        # analysis reads, so its passes over a period read the index instead of the wide rows.
        sa.Index(
            "ix_complaints_analysis",
            "created_at",
            "category_id",
            "root_cause_id",
            "merged_into_id",
            "acknowledged_at",
            "ack_due_at",
            "resolved_at",
            "resolve_due_at",
            "reopen_count",
        ),
        # The staff list's text search (``ILIKE '%...%'`` on each of ``SEARCHED_COLUMNS``):
        # trigram indexes on PostgreSQL, through which it finds a match in 100,000 complaints
        # instead of reading every row. SQLite has no such index.
        *(
            postgresql_only(
                sa.Index(
                    f"ix_complaints_search_{column}",
                    column,
                    postgresql_using="gin",
                    postgresql_ops={column: "gin_trgm_ops"},
                )
            )
            for column in SEARCHED_COLUMNS
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: what the customer quotes on the phone; shows nothing by itself
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    #: the secret of the customer's tracking link
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    state: Mapped[State] = mapped_column(_enum(State), default=State.RECEIVED)
    severity: Mapped[Severity] = mapped_column(_enum(Severity), default=Severity.MEDIUM, index=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel), default=Channel.WEB, index=True)
    #: the survey response this case follows up (detractor follow-up), if any
    survey_response_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("survey_responses.id", ondelete="SET NULL"), index=True
    )
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("reasons.id"), index=True)
    contact_name: Mapped[str] = mapped_column(sa.String(120))
    contact_email: Mapped[str] = mapped_column(sa.String(254), default="")
    contact_phone: Mapped[str] = mapped_column(sa.String(40), default="")
    description: Mapped[str] = mapped_column(sa.Text())
    occurred_on: Mapped[date | None] = mapped_column(sa.Date())
    order_ref: Mapped[str] = mapped_column(sa.String(80), default="")
    desired_outcome: Mapped[str] = mapped_column(sa.Text(), default="")
    customer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    queue_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("complaint_queues.id", ondelete="SET NULL"), index=True
    )
    #: "key" or "general", fixed at intake: it chose the SLA targets
    tier: Mapped[str] = mapped_column(sa.String(16), default="general")
    root_cause_id: Mapped[int | None] = mapped_column(sa.ForeignKey("root_causes.id"))
    root_cause_text: Mapped[str] = mapped_column(sa.Text(), default="")
    corrective_action: Mapped[str] = mapped_column(sa.Text(), default="")
    #: the reason given when withdrawn or rejected
    end_reason: Mapped[str] = mapped_column(sa.Text(), default="")
    proposed_resolution: Mapped[str] = mapped_column(sa.Text(), default="")
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("complaints.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ack_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolve_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: the next deadline (acknowledgement, then resolution); empty while paused or finished
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: set while the complaint waits for the customer: the SLA clock is stopped
    paused_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: working seconds spent waiting for the customer so far
    paused_seconds: Mapped[int] = mapped_column(default=0)
    #: where the SLA clocks start: intake, or the last reopening
    clock_started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reopen_count: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    category = relationship("Reason", lazy="joined")
    customer = relationship("Customer")
    assignee = relationship("User", foreign_keys=[assignee_id])
    queue = relationship("Queue")
    root_cause = relationship("RootCause")
    merged_into = relationship("Complaint", remote_side=[id])

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def is_overdue(self, now: datetime) -> bool:
        return self.due_at is not None and self.due_at < now

    def __repr__(self) -> str:
        return f"<Complaint {self.code} {self.state.value}>"


class ComplaintEvent(db.Model):
    """One line of a complaint's timeline. Rows are never changed or deleted."""

    __tablename__ = "complaint_events"
    __table_args__ = (sa.Index("ix_complaint_events_complaint_at", "complaint_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[EventKind] = mapped_column(_enum(EventKind))
    actor_kind: Mapped[ActorKind] = mapped_column(_enum(ActorKind))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(sa.String(32), default="")
    from_state: Mapped[str] = mapped_column(sa.String(24), default="")
    to_state: Mapped[str] = mapped_column(sa.String(24), default="")
    body: Mapped[str] = mapped_column(sa.Text(), default="")
    #: field edits: {"field": [old, new]}
    changes: Mapped[dict | None] = mapped_column(sa.JSON())
    #: internal notes are False: the tracking page never shows them
    visible_to_customer: Mapped[bool] = mapped_column(default=False)
    #: the complaint's version after this event (what a stale form missed)
    version: Mapped[int] = mapped_column(default=1)

    user = relationship("User")


class ComplaintMail(db.Model):
    """An e-mail to the customer about one event of their complaint's timeline (an outbox row,
    written in the event's transaction, so no update is mailed that was rolled back and none is
    lost that was committed). ``flask complaints send-mail`` renders it from the event and sends
    it; its text is never stored twice."""

    __tablename__ = "complaint_mails"
    __table_args__ = (sa.Index("ix_complaint_mails_pending", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        sa.ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    #: one mail per event at most
    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("complaint_events.id", ondelete="CASCADE"), unique=True
    )
    #: the contact address when the event happened
    to_address: Mapped[str] = mapped_column(sa.String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: set while a sender holds the row (a sender that died lets go after ``CLAIM_SECONDS``)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.Text(), default="")


class Attachment(db.Model):
    __tablename__ = "complaint_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        sa.ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(60))
    size: Mapped[int]
    #: random file name under the instance folder's complaint_files/
    stored_name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    from_customer: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RootCause(db.Model):
    """An editable list of root causes; closing a complaint names one."""

    __tablename__ = "root_causes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name_zh: Mapped[str] = mapped_column(sa.String(80))
    name_en: Mapped[str] = mapped_column(sa.String(80))
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)

    def label(self, locale: str | None) -> str:
        if locale and str(locale).startswith("en"):
            return self.name_en or self.name_zh
        return self.name_zh or self.name_en


#: the list a new installation starts with: (zh, en)
DEFAULT_ROOT_CAUSES = [
    ("产品缺陷", "Product defect"),
    ("包装或运输损坏", "Packing or transport damage"),
    ("流程缺陷", "Process gap"),
    ("员工培训不足", "Insufficient staff training"),
    ("供应商问题", "Supplier problem"),
    ("系统故障", "System error"),
    ("沟通不清", "Unclear communication"),
    ("客户误解", "Customer misunderstanding"),
]


queue_members = sa.Table(
    "complaint_queue_members",
    db.metadata,
    sa.Column(
        "queue_id", sa.ForeignKey("complaint_queues.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class Queue(db.Model):
    """A team queue; complaints of its categories land in it (one queue per category)."""

    __tablename__ = "complaint_queues"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    members = relationship("User", secondary=queue_members, order_by="User.name")
    rules = relationship("QueueRule", cascade="all, delete-orphan", back_populates="queue")


class QueueRule(db.Model):
    __tablename__ = "complaint_queue_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: one rule per category: the category's complaints go to this queue
    category_id: Mapped[int] = mapped_column(
        sa.ForeignKey("reasons.id", ondelete="CASCADE"), unique=True
    )
    queue_id: Mapped[int] = mapped_column(
        sa.ForeignKey("complaint_queues.id", ondelete="CASCADE"), index=True
    )
    queue = relationship("Queue", back_populates="rules")
    category = relationship("Reason")


class SlaTarget(db.Model):
    """Working minutes to acknowledge and to resolve, per severity and customer tier."""

    __tablename__ = "complaint_sla_targets"
    __table_args__ = (sa.UniqueConstraint("severity", "tier", name="uq_sla_severity_tier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    severity: Mapped[Severity] = mapped_column(_enum(Severity))
    tier: Mapped[str] = mapped_column(sa.String(16))
    ack_minutes: Mapped[int]
    resolve_minutes: Mapped[int]


class WorkCalendar(db.Model):
    """The working calendar (one row). Without it, or disabled, SLA clocks run around the clock."""

    __tablename__ = "complaint_calendar"

    id: Mapped[int] = mapped_column(primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=False)
    #: minutes after local midnight
    start_minute: Mapped[int] = mapped_column(default=9 * 60)
    end_minute: Mapped[int] = mapped_column(default=18 * 60)
    #: ISO weekdays, Monday=1, comma separated
    weekdays: Mapped[str] = mapped_column(sa.String(20), default="1,2,3,4,5")
    timezone: Mapped[str] = mapped_column(sa.String(40), default="Asia/Shanghai")
    #: ISO dates, one per line
    holidays: Mapped[str] = mapped_column(sa.Text(), default="")


class RecoveryRating(db.Model):
    """How the customer rated the handling of their complaint (service recovery)."""

    __tablename__ = "complaint_ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        sa.ForeignKey("complaints.id", ondelete="CASCADE"), unique=True
    )
    rating: Mapped[int]
    recommend: Mapped[int]
    comment: Mapped[str] = mapped_column(sa.Text(), default="")
    #: the recovery-survey response it was read from (None for ratings loaded by the demo)
    response_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("survey_responses.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


@sa.event.listens_for(sa.orm.Session, "before_flush")
def _timeline_is_append_only(session, _context, _instances) -> None:
    """Refuse any change to or deletion of a timeline event: history is only ever added to."""
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, ComplaintEvent) and (
            obj in session.deleted or session.is_modified(obj, include_collections=False)
        ):
            from survey_app.errors import DomainError

            raise DomainError("The complaint timeline is append-only.")
