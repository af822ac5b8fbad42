"""Complaint use cases. Every function takes the acting party explicitly, flushes, never commits."""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm.exc import StaleDataError

from survey_app.accounts.models import Role, User
from survey_app.bulk import NotWritten, Rows, Source, insert_one, row_of
from survey_app.customers import services as customer_services
from survey_app.customers.models import Customer
from survey_app.db_types import utcnow
from survey_app.errors import Conflict, DomainError, NotFound, PermissionDenied
from survey_app.extensions import db
from survey_app.surveys import services as survey_services
from survey_app.surveys.models import Invitation as SurveyInvitation
from survey_app.taxonomy.models import Reason

from . import mail, sla, workflow
from .models import (
    FINAL_STATES,
    OPEN_STATES,
    ActorKind,
    Attachment,
    Channel,
    Complaint,
    ComplaintEvent,
    EventKind,
    Queue,
    QueueRule,
    RecoveryRating,
    RootCause,
    Severity,
    SlaTarget,
    State,
    WorkCalendar,
)

log = logging.getLogger(__name__)

#: a customer may reopen a resolved or closed complaint for this many days
REOPEN_DAYS = 14
#: the signed rating link stays valid this long
RATING_LINK_MAX_AGE = 60 * 24 * 3600
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
MAX_ATTACHMENTS = 5
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

#: (severity, tier) -> (acknowledge, resolve) in working minutes, until an admin edits them
DEFAULT_TARGETS: dict[tuple[Severity, str], tuple[int, int]] = {
    (Severity.CRITICAL, "key"): (30, 8 * 60),
    (Severity.CRITICAL, "general"): (60, 24 * 60),
    (Severity.HIGH, "key"): (2 * 60, 24 * 60),
    (Severity.HIGH, "general"): (4 * 60, 48 * 60),
    (Severity.MEDIUM, "key"): (4 * 60, 3 * 24 * 60),
    (Severity.MEDIUM, "general"): (8 * 60, 5 * 24 * 60),
    (Severity.LOW, "key"): (8 * 60, 5 * 24 * 60),
    (Severity.LOW, "general"): (24 * 60, 10 * 24 * 60),
}
TIERS = ("key", "general")

#: what the stored file must start with, per accepted type
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"GIF87a", "image/gif", ".gif"),
    (b"GIF89a", "image/gif", ".gif"),
    (b"%PDF-", "application/pdf", ".pdf"),
)


@dataclass(frozen=True)
class Actor:
    """Who acts: ``kind`` is staff, manager, admin, customer or system."""

    kind: str
    user: User | None = None

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(user.role.value, user)

    @classmethod
    def customer(cls) -> Actor:
        return cls("customer")

    @classmethod
    def system(cls) -> Actor:
        return cls("system")

    @property
    def event_kind(self) -> ActorKind:
        if self.kind == "customer":
            return ActorKind.CUSTOMER
        if self.kind == "system":
            return ActorKind.SYSTEM
        return ActorKind.STAFF

    @property
    def is_staff(self) -> bool:
        return self.user is not None


def _no_autoflush(function):
    """Run a use case without autoflush, so its changes reach the database in one UPDATE and
    bump the row version exactly once."""

    @wraps(function)
    def wrapper(*args, **kwargs):
        with db.session.no_autoflush:
            return function(*args, **kwargs)

    return wrapper


def _require_staff(actor: Actor) -> None:
    if not actor.is_staff or not actor.user.has_role(Role.STAFF, Role.MANAGER):
        raise PermissionDenied(_l("Only service staff can do this."))


def _require_admin(actor: Actor) -> None:
    if not actor.is_staff or not actor.user.has_role(Role.ADMIN):
        raise PermissionDenied(_l("Only an administrator can change complaint settings."))


# --- tiers, targets and the calendar ---


def customer_tier(customer: Customer | None) -> str:
    """The SLA tier, "key" or "general": key customers are those in the value tier "key"
    (customers' cumulative value share, ``customers.services.customer_tier``) and those with a
    dedicated account manager; general and minor customers share the general targets."""
    if customer is None:
        return "general"
    if customer.assigned_staff_id is not None:
        return "key"
    return "key" if customer_services.customer_tier(customer) == "key" else "general"


def sla_targets() -> dict[tuple[Severity, str], tuple[int, int]]:
    targets = dict(DEFAULT_TARGETS)
    for row in db.session.scalars(sa.select(SlaTarget)):
        targets[(row.severity, row.tier)] = (row.ack_minutes, row.resolve_minutes)
    return targets


def save_sla_targets(actor: Actor, targets: dict[tuple[Severity, str], tuple[int, int]]) -> None:
    """Replace the SLA targets; applies to complaints received from now on."""
    _require_admin(actor)
    for (severity, tier), (ack, resolve) in targets.items():
        if ack <= 0 or resolve <= 0:
            raise DomainError(_l("Targets must be positive."))
        if resolve < ack:
            raise DomainError(_l("The resolution target cannot be shorter than acknowledgement."))
        row = db.session.scalar(
            sa.select(SlaTarget).where(SlaTarget.severity == severity, SlaTarget.tier == tier)
        )
        if row is None:
            row = SlaTarget(severity=severity, tier=tier)
            db.session.add(row)
        row.ack_minutes, row.resolve_minutes = ack, resolve
    db.session.flush()


def calendar_settings() -> WorkCalendar:
    row = db.session.scalar(sa.select(WorkCalendar).order_by(WorkCalendar.id).limit(1))
    return row or WorkCalendar(
        enabled=False,
        start_minute=540,
        end_minute=1080,
        weekdays="1,2,3,4,5",
        timezone="Asia/Shanghai",
        holidays="",
    )


def parse_holidays(text: str) -> list[date]:
    days = []
    for line in text.replace(",", "\n").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            days.append(date.fromisoformat(line))
        except ValueError:
            raise DomainError(
                _l("%(value)s is not a date (write YYYY-MM-DD).", value=line), field="holidays"
            ) from None
    return sorted(set(days))


def save_calendar(
    actor: Actor,
    *,
    enabled: bool,
    start_minute: int,
    end_minute: int,
    weekdays: list[int],
    timezone: str,
    holidays: str,
) -> WorkCalendar:
    _require_admin(actor)
    if enabled and end_minute <= start_minute:
        raise DomainError(_l("The working day must end after it starts."), field="end")
    if enabled and not weekdays:
        raise DomainError(_l("Choose at least one working day."), field="weekdays")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError(_l("Unknown time zone."), field="timezone") from None
    days = parse_holidays(holidays)
    row = db.session.scalar(sa.select(WorkCalendar).order_by(WorkCalendar.id).limit(1))
    if row is None:
        row = WorkCalendar()
        db.session.add(row)
    row.enabled, row.start_minute, row.end_minute = enabled, start_minute, end_minute
    row.weekdays = ",".join(str(d) for d in sorted(set(weekdays)))
    row.timezone = timezone
    row.holidays = "\n".join(d.isoformat() for d in days)
    db.session.flush()
    return row


def calendar() -> sla.Calendar | None:
    """The working calendar for SLA arithmetic, or None when clocks run around the clock."""
    return _calendar_of(calendar_settings())


def _calendar_of(row) -> sla.Calendar | None:
    """The SLA calendar of a ``WorkCalendar`` row (or a row with its columns)."""
    if row is None or not row.enabled:
        return None
    return sla.Calendar(
        start_minute=row.start_minute,
        end_minute=row.end_minute,
        weekdays=frozenset(int(d) for d in row.weekdays.split(",") if d.strip()),
        holidays=frozenset(parse_holidays(row.holidays)),
        tz=ZoneInfo(row.timezone),
    )


_UNSET: Any = object()


def _set_deadlines(
    complaint: Complaint,
    cal: sla.Calendar | None = _UNSET,
    targets: tuple[int, int] | None = None,
) -> None:
    """Recompute the acknowledgement and resolution deadlines from the clock start, the targets
    of the complaint's severity and tier, and the time spent waiting for the customer. ``cal``
    and ``targets`` are read from the settings unless given."""
    if cal is _UNSET or targets is None:
        with db.session.no_autoflush:
            cal = calendar() if cal is _UNSET else cal
            targets = targets or sla_targets()[(complaint.severity, complaint.tier)]
    ack, resolve = targets
    start = complaint.clock_started_at
    complaint.ack_due_at = sla.add_working_seconds(cal, complaint.created_at, ack * 60)
    complaint.resolve_due_at = sla.add_working_seconds(
        cal, start, resolve * 60 + (complaint.paused_seconds or 0)
    )
    _refresh_due(complaint)


def _refresh_due(complaint: Complaint) -> None:
    if complaint.state not in OPEN_STATES or complaint.paused_since is not None:
        complaint.due_at = None
    elif complaint.acknowledged_at is None:
        complaint.due_at = complaint.ack_due_at
    else:
        complaint.due_at = complaint.resolve_due_at


def _pause(complaint: Complaint, now: datetime) -> None:
    if complaint.paused_since is None:
        complaint.paused_since = now
    _refresh_due(complaint)


def _resume(complaint: Complaint, now: datetime) -> None:
    if complaint.paused_since is not None:
        with db.session.no_autoflush:
            cal = calendar()
        complaint.paused_seconds = (complaint.paused_seconds or 0) + sla.working_seconds(
            cal, complaint.paused_since, now
        )
        complaint.paused_since = None
        _set_deadlines(complaint, cal)
    _refresh_due(complaint)


# --- lookups ---


def get_complaint(complaint_id: int) -> Complaint:
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound(_l("No such complaint."))
    return complaint


def by_token(token: str) -> Complaint:
    """The complaint whose secret tracking link this is; anything else is "not found"."""
    complaint = None
    if token and len(token) <= 64:
        complaint = db.session.scalar(sa.select(Complaint).where(Complaint.token == token))
    if complaint is None:
        raise NotFound(_l("This tracking link is not valid. Check that you copied all of it."))
    return complaint


def complaint_categories() -> list[Reason]:
    from survey_app.taxonomy.services import reasons

    return reasons(complaints=True)


def root_causes(include_inactive: bool = False) -> list[RootCause]:
    query = sa.select(RootCause).order_by(RootCause.position, RootCause.id)
    if not include_inactive:
        query = query.where(RootCause.active)
    return list(db.session.scalars(query))


def timeline(complaint: Complaint, *, customer_view: bool) -> list[ComplaintEvent]:
    query = sa.select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint.id)
    if customer_view:
        query = query.where(ComplaintEvent.visible_to_customer)
    return list(db.session.scalars(query.order_by(ComplaintEvent.id)))


def attachments(complaint: Complaint) -> list[Attachment]:
    return list(
        db.session.scalars(
            sa.select(Attachment)
            .where(Attachment.complaint_id == complaint.id)
            .order_by(Attachment.id)
        )
    )


def get_attachment(complaint: Complaint, attachment_id: int) -> Attachment:
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.complaint_id != complaint.id:
        raise NotFound(_l("No such file."))
    return attachment


# --- the timeline ---


def _flush_versioned(complaint: Complaint, now: datetime) -> None:
    """Write the complaint, bumping its version; a concurrent writer makes this a Conflict."""
    complaint.updated_at = now
    try:
        db.session.flush()
    except StaleDataError:
        raise Conflict(
            _l("Someone else saved this complaint at the same moment. Reload and try again.")
        ) from None


def _record(complaint: Complaint, actor: Actor, kind: EventKind, now: datetime, **details):
    """Add an event to the complaint's timeline (``_event_values`` says what it holds)."""
    event = ComplaintEvent(**_event_values(complaint, actor, kind, now, **details))
    db.session.add(event)
    db.session.flush()
    return event


def _event_values(
    complaint: Complaint,
    actor: Actor,
    kind: EventKind,
    now: datetime,
    *,
    visible: bool,
    action: str = "",
    from_state: State | None = None,
    to_state: State | None = None,
    body: str = "",
    changes: dict | None = None,
) -> dict:
    """The attribute values of a new timeline event of the complaint."""
    return dict(
        complaint_id=complaint.id,
        at=now,
        kind=kind,
        actor_kind=actor.event_kind,
        user_id=actor.user.id if actor.user else None,
        action=action,
        from_state=from_state.value if from_state else "",
        to_state=to_state.value if to_state else "",
        body=body,
        changes=changes,
        visible_to_customer=visible,
        version=complaint.version,
    )


def describe_changes_since(complaint: Complaint, version: int) -> str:
    """One line per event a stale form missed: who changed what."""
    events = db.session.scalars(
        sa.select(ComplaintEvent)
        .where(ComplaintEvent.complaint_id == complaint.id, ComplaintEvent.version > version)
        .order_by(ComplaintEvent.id)
    )
    parts = []
    for event in events:
        who = (
            event.user.display_name
            if event.user
            else (_("the customer") if event.actor_kind is ActorKind.CUSTOMER else _("the system"))
        )
        if event.kind is EventKind.STATE:
            what = _(
                "%(from)s → %(to)s",
                **{
                    "from": workflow.STATE_LABELS[State(event.from_state)],
                    "to": workflow.STATE_LABELS[State(event.to_state)],
                },
            )
        elif event.changes:
            what = "; ".join(
                f"{field}: {old or '—'} → {new or '—'}"
                for field, (old, new) in event.changes.items()
            )
        else:
            what = event.kind.value
        parts.append(f"{who}: {what}")
    return " | ".join(parts)


def check_version(complaint: Complaint, expected_version: int | None) -> None:
    """Optimistic locking: refuse a change made from a page older than the complaint."""
    if expected_version is not None and expected_version != complaint.version:
        raise Conflict(
            _l(
                "This complaint changed while you were working on it (%(changes)s). "
                "Your change was not saved: review the complaint and try again.",
                changes=describe_changes_since(complaint, expected_version) or "?",
            )
        )


# --- intake ---


#: reference codes drawn for one complaint before giving up (each one of 31**8, about 2**40)
CODE_ATTEMPTS = 10


def _new_code() -> str:
    """The prefix "TS" and eight characters of ``CODE_ALPHABET``, drawn as one uniform random
    number (one call to the system's random source rather than one per character)."""
    base = len(CODE_ALPHABET)
    number = secrets.randbelow(base**8)
    return "TS" + "".join(CODE_ALPHABET[number // base**k % base] for k in range(8))


_CATEGORY_SOURCES = {
    # the category by id or by code, open to complaints; the queue it is routed to
    by: Source(
        (
            ("category_id", "reasons.id"),
            (
                "queue_id",
                "(SELECT complaint_queue_rules.queue_id FROM complaint_queue_rules"
                " WHERE complaint_queue_rules.category_id = reasons.id LIMIT 1)",
            ),
        ),
        f"FROM reasons WHERE reasons.{column} = :category AND reasons.for_complaints"
        " AND reasons.active",
        (("category", type_),),
        {},
    )
    for by, column, type_ in (("id", "id", sa.Integer()), ("code", "code", sa.String()))
}


def _category_source(category_id: int | None, category_code: str | None) -> Source:
    if category_id is not None:
        if not 0 < category_id < 2**31:  # no such id, in any database
            raise DomainError(_l("Choose a category from the list."), field="category_id")
        return _CATEGORY_SOURCES["id"]._replace(params={"category": category_id})
    return _CATEGORY_SOURCES["code"]._replace(params={"category": category_code})


def _category_open(source: Source) -> bool:
    query = sa.text(f"SELECT 1 {source.query}").bindparams(  # noqa: S608 (our own SQL)
        *(sa.bindparam(name, type_=type_) for name, type_ in source.binds)
    )
    return db.session.execute(query, source.params).first() is not None


class _Settings(NamedTuple):
    read_at: float
    targets: dict[tuple[Severity, str], tuple[int, int]]
    calendar: sla.Calendar | None


_settings: _Settings | None = None


def intake_settings() -> tuple[dict[tuple[Severity, str], tuple[int, int]], sla.Calendar | None]:
    """The SLA targets and the working calendar, for new complaints: read again when older
    than ``SETTINGS_CACHE_SECONDS``, or when this process changed them. A complaint that another
    worker receives in the seconds after a change gets the targets it would have got a moment
    earlier; SLA settings apply to new complaints only, so nothing else is affected."""
    global _settings
    now = time.monotonic()
    settings = _settings
    if settings is None or now - settings.read_at > current_app.config["SETTINGS_CACHE_SECONDS"]:
        settings = _settings = _Settings(now, sla_targets(), calendar())
    return settings.targets, settings.calendar


def forget_settings() -> None:
    """Read the SLA targets and the calendar again for the next complaint (after they were
    changed outside this process's session, e.g. a restored database)."""
    global _settings
    _settings = None


_SETTINGS_CHANGED = "complaints.settings_changed"


def _settings_written(_mapper, _connection, target) -> None:
    forget_settings()
    session = sa.orm.object_session(target)
    if session is not None:
        session.info[_SETTINGS_CHANGED] = True


for _model in (SlaTarget, WorkCalendar):
    for _event_name in ("after_insert", "after_update", "after_delete"):
        sa.event.listen(_model, _event_name, _settings_written)


@sa.event.listens_for(sa.orm.Session, "after_commit")
@sa.event.listens_for(sa.orm.Session, "after_soft_rollback")
def _settings_settled(session, *_args) -> None:
    """Settings written in a transaction may have been read back into the cache before it
    ended: read them again once it has."""
    if session.info.pop(_SETTINGS_CHANGED, False):
        forget_settings()


def open_complaint(
    actor: Actor,
    *,
    channel: Channel,
    category_id: int | None = None,
    category_code: str | None = None,
    contact_name: str,
    contact_email: str = "",
    contact_phone: str = "",
    description: str,
    occurred_on: date | None = None,
    order_ref: str = "",
    desired_outcome: str = "",
    severity: Severity = Severity.MEDIUM,
    customer_id: int | None = None,
    now: datetime | None = None,
) -> Complaint:
    """Receive a complaint: from the public form (customer actor, web channel) or logged by
    staff for a phone call, e-mail, letter or visit. Sets the SLA deadlines and the queue. The
    category is given by id or by code.

    Written with no read: the SLA settings come from ``intake_settings``, and the complaint's
    INSERT takes its category and queue from the category's row (``Source``), so a category
    closed to complaints meanwhile writes nothing. The complaint and the first event of its
    timeline are two INSERTs (``insert_one``), one statement on PostgreSQL."""
    now = now or utcnow()
    if actor.kind == "customer":
        channel, severity, customer_id = Channel.WEB, Severity.MEDIUM, None
    else:
        _require_staff(actor)
    if not contact_name.strip():
        raise DomainError(_l("Tell us your name."), field="contact_name")
    if not (contact_email.strip() or contact_phone.strip()):
        raise DomainError(
            _l("Give an e-mail address or a phone number so we can reach you."),
            field="contact_email",
        )
    if not description.strip():
        raise DomainError(_l("Describe what happened."), field="description")
    if occurred_on and occurred_on > now.date() + timedelta(days=1):
        raise DomainError(_l("This date is in the future."), field="occurred_on")
    customer = db.session.get(Customer, customer_id) if customer_id else None
    tier = customer_tier(customer)
    source = _category_source(category_id, category_code)
    targets, cal = intake_settings()
    complaint = Complaint(
        code=_new_code(),
        token=secrets.token_urlsafe(32),
        state=State.RECEIVED,
        severity=severity,
        channel=channel,
        contact_name=contact_name.strip(),
        contact_email=contact_email.strip().lower(),
        contact_phone=contact_phone.strip(),
        description=description.strip(),
        occurred_on=occurred_on,
        order_ref=order_ref.strip(),
        desired_outcome=desired_outcome.strip(),
        customer_id=customer.id if customer else None,
        tier=tier,
        created_at=now,
        clock_started_at=now,
        updated_at=now,
        version=1,  # its first event records it before the row is written
    )
    _set_deadlines(complaint, cal, targets[(severity, tier)])
    created = _event_values(
        complaint,
        actor,
        EventKind.CREATED,
        now,
        visible=True,
        to_state=State.RECEIVED,
        body=channel.value,
    )
    event = row_of(ComplaintEvent, created)
    first_event = Rows(ComplaintEvent.__table__, tuple(event), [event], parent="complaint_id")
    for _attempt in range(CODE_ATTEMPTS):
        try:
            insert_one(complaint, first_event, source=source)
            break
        except NotWritten:
            if not _category_open(source):
                raise DomainError(
                    _l("Choose a category from the list."), field="category_id"
                ) from None
            complaint.code = _new_code()  # the reference code was taken: draw another
    else:  # not a taken code (that many in a row cannot happen): something else refuses the row
        raise RuntimeError(f"no free complaint reference code in {CODE_ATTEMPTS} attempts")
    log.info("complaint %s received via %s", complaint.code, channel.value)
    return complaint


def complaint_for_response(response_id: int) -> Complaint | None:
    """The complaint opened from this survey response, if there is one."""
    return db.session.scalar(
        sa.select(Complaint)
        .where(Complaint.survey_response_id == response_id)
        .order_by(Complaint.id)
        .limit(1)
    )


def responses_with_a_case() -> sa.Select:
    """The ids of the survey responses a complaint was opened from (for the survey follow-up
    list, which imports no complaint table)."""
    return sa.select(Complaint.survey_response_id).where(Complaint.survey_response_id.is_not(None))


def cases_for_responses(response_ids: list[int]) -> dict[int, Complaint]:
    """The first complaint opened from each of these survey responses, by response id."""
    cases: dict[int, Complaint] = {}
    if response_ids:
        for complaint in db.session.scalars(
            sa.select(Complaint)
            .where(Complaint.survey_response_id.in_(response_ids))
            .order_by(Complaint.id)
        ):
            cases.setdefault(complaint.survey_response_id, complaint)
    return cases


def open_complaint_from_survey(actor: Actor, response_id: int) -> tuple[Complaint, bool]:
    """Open a case from a low survey score in one click, pre-filled from the response and linked
    to it. Returns ``(complaint, created)``: a response already followed up gives its case."""
    from survey_app.surveys.services import followup_prefill

    _require_staff(actor)
    existing = complaint_for_response(response_id)
    if existing is not None:
        return existing, False
    prefill = followup_prefill(response_id)
    if prefill["customer_id"] is None or not prefill["contact"]:
        raise DomainError(_l("This response is anonymous: there is nobody to contact."))
    categories = {reason.code: reason for reason in complaint_categories()}
    category = categories.get("other") or next(iter(categories.values()), None)
    if category is None:
        raise DomainError(_l("Add a complaint category first."))
    submitted = prefill["submitted_at"].date().isoformat() if prefill["submitted_at"] else ""
    description = (
        _(
            "Low score in the survey “%(title)s” of %(day)s.",
            title=prefill["questionnaire_title"],
            day=submitted,
        )
        + "\n\n"
        + prefill["text"]
    )
    complaint = open_complaint(
        actor,
        channel=Channel.SURVEY,
        category_id=category.id,
        contact_name=prefill["customer_name"],
        contact_email=prefill["email"] or "",
        contact_phone=prefill["phone"] or "",
        description=description,
        customer_id=prefill["customer_id"],
    )
    complaint.survey_response_id = response_id
    db.session.flush()
    return complaint, True


def _sniff(head: bytes) -> tuple[str, str] | None:
    for magic, content_type, ext in SIGNATURES:
        if head.startswith(magic):
            return content_type, ext
    return None


def attachment_dir() -> Path:
    path = Path(current_app.instance_path) / "complaint_files"
    path.mkdir(parents=True, exist_ok=True)
    return path


def add_attachment(
    complaint: Complaint, actor: Actor, filename: str, data: bytes, now: datetime | None = None
) -> Attachment:
    """Store an image or PDF, checked by its content (not its name), outside static/."""
    now = now or utcnow()
    if not data:
        raise DomainError(_l("The file %(name)s is empty.", name=filename), field="attachments")
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise DomainError(
            _l("The file %(name)s is larger than 5 MB.", name=filename), field="attachments"
        )
    sniffed = _sniff(data[:16])
    if sniffed is None:
        raise DomainError(
            _l("%(name)s is not a PNG, JPEG or GIF image or a PDF.", name=filename),
            field="attachments",
        )
    count = db.session.scalar(
        sa.select(sa.func.count()).where(Attachment.complaint_id == complaint.id)
    )
    if count >= MAX_ATTACHMENTS:
        raise DomainError(
            _l("A complaint can hold at most %(n)d files.", n=MAX_ATTACHMENTS), field="attachments"
        )
    content_type, ext = sniffed
    stored = secrets.token_hex(16) + ext
    (attachment_dir() / stored).write_bytes(data)
    clean_name = Path(filename or "file").name[:200] or "file"
    attachment = Attachment(
        complaint_id=complaint.id,
        filename=clean_name,
        content_type=content_type,
        size=len(data),
        stored_name=stored,
        from_customer=not actor.is_staff,
        created_at=now,
    )
    db.session.add(attachment)
    _record(complaint, actor, EventKind.ATTACHMENT, now, visible=True, body=clean_name)
    return attachment


def attachment_path(attachment: Attachment) -> Path:
    return attachment_dir() / attachment.stored_name


# --- the workflow ---


def apply_action(
    complaint: Complaint,
    action: str,
    actor: Actor,
    *,
    text: str = "",
    root_cause_id: int | None = None,
    root_cause_text: str = "",
    corrective_action: str = "",
    merge_into: Complaint | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> ComplaintEvent:
    """Move the complaint along the workflow table: check the move, apply its effects, bump the
    version, record the event. Anything the table does not allow is refused with a message."""
    with db.session.no_autoflush:
        return _apply_action(
            complaint,
            action,
            actor,
            text=text,
            root_cause_id=root_cause_id,
            root_cause_text=root_cause_text,
            corrective_action=corrective_action,
            merge_into=merge_into,
            expected_version=expected_version,
            now=now or utcnow(),
        )


def _apply_action(
    complaint,
    action,
    actor,
    *,
    text,
    root_cause_id,
    root_cause_text,
    corrective_action,
    merge_into,
    expected_version,
    now,
) -> ComplaintEvent:
    check_version(complaint, expected_version)
    transition = workflow.find(complaint.state, action)
    if transition is None:
        raise DomainError(
            _l(
                "“%(action)s” is not possible while the complaint is “%(state)s”.",
                action=workflow.ACTION_LABELS.get(action, action),
                state=workflow.STATE_LABELS[complaint.state],
            )
        )
    if not workflow.actor_may(transition.roles, actor.kind):
        raise PermissionDenied(
            _l(
                "You may not take the step “%(action)s” on this complaint.",
                action=workflow.ACTION_LABELS.get(action, action),
            )
        )
    text = (text or "").strip()
    if action in workflow.TEXT_REQUIRED and not text:
        raise DomainError(workflow.TEXT_REQUIRED[action], field="text")
    old_state = complaint.state
    visible = True
    if action in ("acknowledge", "investigate", "propose", "escalate"):
        complaint.acknowledged_at = complaint.acknowledged_at or now
    if action == "propose":
        complaint.proposed_resolution = text
        _pause_after = True
    else:
        _pause_after = action == "request_information"
    if action == "accept":
        complaint.resolved_at = now
    elif action == "reject_resolution":
        complaint.reopen_count += 1
    elif action == "close":
        cause = db.session.get(RootCause, root_cause_id) if root_cause_id else None
        if cause is None:
            raise DomainError(_l("Choose the root cause."), field="root_cause_id")
        if not corrective_action.strip():
            raise DomainError(
                _l("Describe the corrective action taken, so the cause does not recur."),
                field="corrective_action",
            )
        complaint.root_cause_id = cause.id
        complaint.root_cause_text = root_cause_text.strip()
        complaint.corrective_action = corrective_action.strip()
        complaint.closed_at = now
    elif action == "reopen":
        since = complaint.closed_at or complaint.resolved_at
        if actor.kind == "customer" and since and now - since > timedelta(days=REOPEN_DAYS):
            raise DomainError(
                _l(
                    "A complaint can be reopened within %(days)d days; please file a new one.",
                    days=REOPEN_DAYS,
                )
            )
        complaint.reopen_count += 1
        complaint.closed_at = None
        complaint.clock_started_at, complaint.paused_seconds = now, 0
    elif action == "escalate":
        complaint.escalated_at = now
    elif action in ("withdraw", "reject"):
        complaint.end_reason = text
    elif action == "merge":
        if merge_into is None or merge_into.id == complaint.id:
            raise DomainError(_l("Choose another complaint to merge into."), field="merge_code")
        if merge_into.merged_into_id is not None:
            raise DomainError(
                _l("That complaint was itself merged; merge into its survivor."),
                field="merge_code",
            )
        complaint.merged_into_id = merge_into.id
        complaint.closed_at = now
        text = text or merge_into.code
    complaint.state = transition.new_state
    if _pause_after:
        _pause(complaint, now)
    else:
        _resume(complaint, now)
    if action == "reopen":
        _set_deadlines(complaint)
    _refresh_due(complaint)
    _flush_versioned(complaint, now)
    kind = EventKind.STATE
    if action == "add_information":
        kind = EventKind.CUSTOMER_INFO
    elif action == "merge":
        kind = EventKind.MERGE
    event = _record(
        complaint,
        actor,
        kind,
        now,
        visible=visible,
        action=action,
        from_state=old_state,
        to_state=complaint.state,
        body=text,
    )
    if action == "merge":
        _record(
            merge_into,
            actor,
            EventKind.MERGE,
            now,
            visible=False,
            action="merge",
            body=complaint.code,
        )
    mail.queue_for(complaint, event)
    log.info("complaint %s: %s by %s", complaint.code, action, actor.kind)
    return event


def add_note(
    complaint: Complaint,
    actor: Actor,
    body: str,
    *,
    to_customer: bool,
    now: datetime | None = None,
) -> ComplaintEvent:
    """A reply the customer sees on the tracking page, or an internal note they never see."""
    _require_staff(actor)
    now = now or utcnow()
    if not body.strip():
        raise DomainError(_l("Write something first."), field="body")
    kind = EventKind.REPLY if to_customer else EventKind.NOTE
    event = _record(complaint, actor, kind, now, visible=to_customer, body=body.strip())
    mail.queue_for(complaint, event)
    return event


@_no_autoflush
def assign(
    complaint: Complaint,
    actor: Actor,
    *,
    assignee_id: int | None,
    queue_id: int | None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> ComplaintEvent | None:
    """Give the complaint to a person and/or a team queue; every change is on the timeline."""
    _require_staff(actor)
    now = now or utcnow()
    check_version(complaint, expected_version)
    assignee = db.session.get(User, assignee_id) if assignee_id else None
    if assignee_id and (assignee is None or not assignee.active):
        raise DomainError(_l("Choose an active staff member."), field="assignee_id")
    queue = db.session.get(Queue, queue_id) if queue_id else None
    if queue_id and queue is None:
        raise DomainError(_l("Choose a queue from the list."), field="queue_id")
    changes = {}
    if complaint.assignee_id != (assignee.id if assignee else None):
        changes["assignee"] = [
            complaint.assignee.display_name if complaint.assignee else "",
            assignee.display_name if assignee else "",
        ]
        complaint.assignee = assignee
    if complaint.queue_id != (queue.id if queue else None):
        changes["queue"] = [
            complaint.queue.name if complaint.queue else "",
            queue.name if queue else "",
        ]
        complaint.queue = queue
    if not changes:
        return None
    _flush_versioned(complaint, now)
    return _record(complaint, actor, EventKind.ASSIGNMENT, now, visible=False, changes=changes)


EDITABLE_FIELDS = (
    "severity",
    "category_id",
    "contact_name",
    "contact_email",
    "contact_phone",
    "order_ref",
    "desired_outcome",
)


@_no_autoflush
def edit_fields(
    complaint: Complaint,
    actor: Actor,
    values: dict,
    *,
    expected_version: int | None,
    now: datetime | None = None,
) -> ComplaintEvent | None:
    """Change intake fields; each change (old -> new) goes on the timeline. A new severity
    re-sets the SLA deadlines."""
    _require_staff(actor)
    now = now or utcnow()
    check_version(complaint, expected_version)
    changes = {}
    for name in EDITABLE_FIELDS:
        if name not in values:
            continue
        new = values[name]
        if name == "category_id":
            category = db.session.get(Reason, new)
            if category is None or not category.for_complaints:
                raise DomainError(_l("Choose a category from the list."), field="category_id")
        elif isinstance(new, str):
            new = new.strip()
        old = getattr(complaint, name)
        if old != new:
            if name == "category_id":
                # a reader of the timeline wants names, not ids (codes stay language-neutral)
                changes["category"] = [complaint.category.code, category.code]
            else:
                changes[name] = [
                    getattr(old, "value", old if old is None else str(old)),
                    getattr(new, "value", new if new is None else str(new)),
                ]
            setattr(complaint, name, new)
    if not (complaint.contact_email or complaint.contact_phone):
        raise DomainError(_l("Keep an e-mail address or a phone number."), field="contact_email")
    if not changes:
        return None
    if "severity" in changes:
        _set_deadlines(complaint)
    if "category" in changes:
        db.session.expire(complaint, ["category"])
    _flush_versioned(complaint, now)
    return _record(complaint, actor, EventKind.FIELD_EDIT, now, visible=False, changes=changes)


def customer_candidates(complaint: Complaint) -> list[Customer]:
    """Known customers whose e-mail or phone matches the complaint's contact details."""
    conditions = []
    if complaint.contact_email:
        conditions.append(sa.func.lower(Customer.email) == complaint.contact_email.lower())
    if complaint.contact_phone:
        conditions.append(Customer.phone == complaint.contact_phone)
    if not conditions:
        return []
    return list(db.session.scalars(sa.select(Customer).where(sa.or_(*conditions)).limit(10)))


@_no_autoflush
def link_customer(
    complaint: Complaint,
    actor: Actor,
    customer_id: int | None,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> ComplaintEvent:
    """Link (or unlink with None) the complaint to a known customer, confirmed by staff. The
    customer's tier re-sets the SLA deadlines."""
    _require_staff(actor)
    now = now or utcnow()
    check_version(complaint, expected_version)
    customer = db.session.get(Customer, customer_id) if customer_id else None
    if customer_id and customer is None:
        raise NotFound(_l("No such customer."))
    old = complaint.customer.code if complaint.customer else ""
    complaint.customer = customer
    complaint.tier = customer_tier(customer)
    _set_deadlines(complaint)
    _flush_versioned(complaint, now)
    return _record(
        complaint,
        actor,
        EventKind.CUSTOMER_LINK,
        now,
        visible=False,
        changes={"customer": [old, customer.code if customer else ""]},
    )


def escalate_overdue(now: datetime | None = None, limit: int | None = None) -> int:
    """Escalate every open complaint past its deadline that the table lets the system escalate.
    Returns how many were escalated."""
    now = now or utcnow()
    sources = [t.state for t in workflow.TRANSITIONS if t.action == "escalate"]
    query = (
        sa.select(Complaint)
        .where(Complaint.due_at < now, Complaint.state.in_(sources))
        .order_by(Complaint.due_at)
    )
    if limit:
        query = query.limit(limit)
    count = 0
    for complaint in db.session.scalars(query).all():
        apply_action(
            complaint,
            "escalate",
            Actor.system(),
            now=now,
            text=_("Deadline passed without the next step."),
        )
        count += 1
    return count


def escalate_if_overdue(complaint: Complaint, now: datetime | None = None) -> bool:
    now = now or utcnow()
    if complaint.is_overdue(now) and workflow.find(complaint.state, "escalate"):
        apply_action(
            complaint,
            "escalate",
            Actor.system(),
            now=now,
            text=_("Deadline passed without the next step."),
        )
        return True
    return False


# --- recovery rating ---


def _rating_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="complaint-rating")


def rating_token(complaint: Complaint) -> str:
    return _rating_serializer().dumps(complaint.token)


def complaint_for_rating(signed: str, max_age: int = RATING_LINK_MAX_AGE) -> Complaint:
    try:
        token = _rating_serializer().loads(signed, max_age=max_age)
    except SignatureExpired:
        raise NotFound(_l("This rating link has expired.")) from None
    except BadSignature:
        raise NotFound(_l("This rating link is not valid.")) from None
    return by_token(token)


def rating_of(complaint: Complaint) -> RecoveryRating | None:
    return db.session.scalar(
        sa.select(RecoveryRating).where(RecoveryRating.complaint_id == complaint.id)
    )


def recovery_invitation(complaint: Complaint) -> SurveyInvitation:
    """The customer's single invitation to the recovery questionnaire about this complaint
    (created on the first click of the signed link): one response per complaint."""
    if complaint.state not in (State.RESOLVED, State.CLOSED):
        raise DomainError(_l("You can rate the handling once the complaint is resolved."))
    if rating_of(complaint) is not None:
        raise Conflict(_l("Thank you: this complaint has already been rated."))
    return survey_services.subject_invitation(
        "recovery", "complaint", complaint.id, complaint.customer_id
    )


def rate_recovery(
    complaint: Complaint,
    *,
    rating: int,
    recommend: int,
    comment: str = "",
    response_id: int | None = None,
    now: datetime | None = None,
) -> RecoveryRating:
    """Record how the customer rated the handling (1-5) and would-recommend (0-10): the summary
    of their recovery-survey response that the analyses read. Once per complaint."""
    now = now or utcnow()
    if not 1 <= rating <= 5:
        raise DomainError(_l("Choose 1 to 5 stars."), field="rating")
    if not 0 <= recommend <= 10:
        raise DomainError(_l("Choose a number from 0 to 10."), field="recommend")
    if rating_of(complaint) is not None:
        raise Conflict(_l("Thank you: this complaint has already been rated."))
    row = RecoveryRating(
        complaint_id=complaint.id,
        rating=rating,
        recommend=recommend,
        comment=comment.strip()[:2000],
        response_id=response_id,
        created_at=now,
    )
    db.session.add(row)
    _record(
        complaint,
        Actor.customer(),
        EventKind.RATING,
        now,
        visible=True,
        body=f"{rating}/5 · {recommend}/10",
    )
    return row


@survey_services.on_submitted("recovery")
def _rating_from_recovery_survey(event: survey_services.Submitted) -> None:
    """A recovery questionnaire answered through a complaint's link: its satisfaction (rescaled
    to 1-5), recommendation (0-10) and suggestion become the complaint's recovery rating."""
    invitation = event.invitation
    if invitation is None or invitation.purpose != "complaint":
        return
    complaint = db.session.get(Complaint, invitation.subject_id)
    if complaint is None or rating_of(complaint) is not None:
        return
    rating = event.scaled("rec_satisfaction", 1, 5)
    recommend = event.scaled("rec_nps", 0, 10)
    if rating is None or recommend is None:
        log.warning(
            "recovery response %s lacks rec_satisfaction or rec_nps: no rating recorded",
            event.response.id,
        )
        return
    rate_recovery(
        complaint,
        rating=rating,
        recommend=recommend,
        comment=event.text("rec_improve"),
        response_id=event.response.id,
    )


# --- settings lists ---


def save_root_cause(
    actor: Actor,
    cause: RootCause | None,
    *,
    name_zh: str,
    name_en: str,
    active: bool = True,
) -> RootCause:
    _require_admin(actor)
    if not (name_zh.strip() or name_en.strip()):
        raise DomainError(
            _l("Give the root cause a name in at least one language."), field="name_zh"
        )
    if cause is None:
        position = db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.max(RootCause.position), 0))
        )
        cause = RootCause(position=position + 1)
        db.session.add(cause)
    cause.name_zh, cause.name_en, cause.active = name_zh.strip(), name_en.strip(), active
    db.session.flush()
    return cause


def ensure_default_root_causes() -> int:
    """Add the default root causes when the list is empty (a new or wiped database)."""
    from .models import DEFAULT_ROOT_CAUSES

    if db.session.scalar(sa.select(sa.func.count()).select_from(RootCause)):
        return 0
    for position, (zh, en) in enumerate(DEFAULT_ROOT_CAUSES, start=1):
        db.session.add(RootCause(name_zh=zh, name_en=en, position=position))
    db.session.flush()
    return len(DEFAULT_ROOT_CAUSES)


def get_root_cause(cause_id: int) -> RootCause:
    cause = db.session.get(RootCause, cause_id)
    if cause is None:
        raise NotFound(_l("No such root cause."))
    return cause


def queues() -> list[Queue]:
    return list(db.session.scalars(sa.select(Queue).order_by(Queue.name)))


def get_queue(queue_id: int) -> Queue:
    queue = db.session.get(Queue, queue_id)
    if queue is None:
        raise NotFound(_l("No such queue."))
    return queue


def save_queue(
    actor: Actor,
    queue: Queue | None,
    *,
    name: str,
    member_ids: list[int],
    category_ids: list[int],
) -> Queue:
    """Create or change a team queue: its members and the categories routed to it (a category
    routed elsewhere moves here)."""
    _require_admin(actor)
    name = name.strip()
    if not name:
        raise DomainError(_l("Give the queue a name."), field="name")
    clash = db.session.scalar(sa.select(Queue).where(Queue.name == name))
    if clash is not None and clash is not queue:
        raise Conflict(_l("A queue with this name already exists."), field="name")
    if queue is None:
        queue = Queue(name=name)
        db.session.add(queue)
    queue.name = name
    queue.members = list(db.session.scalars(sa.select(User).where(User.id.in_(member_ids or [-1]))))
    db.session.flush()
    db.session.execute(
        sa.delete(QueueRule).where(
            sa.or_(QueueRule.queue_id == queue.id, QueueRule.category_id.in_(category_ids or [-1]))
        )
    )
    db.session.expire(queue, ["rules"])
    for category_id in category_ids:
        db.session.add(QueueRule(category_id=category_id, queue_id=queue.id))
    db.session.flush()
    return queue


def my_queue_ids(user: User) -> list[int]:
    from .models import queue_members

    return list(
        db.session.scalars(
            sa.select(queue_members.c.queue_id).where(queue_members.c.user_id == user.id)
        )
    )


def staff_users() -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.active, User.role.in_([Role.STAFF, Role.MANAGER, Role.ADMIN]))
            .order_by(User.name, User.email)
        )
    )


def now_utc() -> datetime:
    return datetime.now(UTC)


__all__ = ["Actor", "FINAL_STATES", "OPEN_STATES"]
