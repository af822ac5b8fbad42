"""E-mails to customers about their complaint's progress.

When staff do something the customer should hear about (ask them a question, propose a
resolution, reply, resolve, close, reopen, reject, withdraw), ``queue_for`` adds an outbox row
(``ComplaintMail``) in the same transaction as the timeline event, so a rolled-back step mails
nothing and a committed one is never forgotten. ``send_pending`` (``flask complaints send-mail``,
every minute from cron) claims the waiting rows, renders each from its event and sends them over
one SMTP connection. Delivery is at least once: a sender that dies between the server's
acceptance and its own commit leaves the row to be sent again after ``CLAIM_SECONDS``.

The customer's language is not known (a complaint may come by phone), so every message is in
Chinese and then English, as the survey invitations are. Nothing is queued without
``SMTP_HOST``, so switching e-mail on later does not send a backlog of old updates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from survey_app import mailer
from survey_app.db_types import utcnow
from survey_app.extensions import db

from .models import Complaint, ComplaintEvent, ComplaintMail, EventKind

log = logging.getLogger(__name__)

#: a mail is tried this many times, then left with its last error for staff to see
MAX_ATTEMPTS = 5
#: a claimed row whose sender died is free again after this long
CLAIM_SECONDS = 600
#: rows sent per run
BATCH = 200

#: what each mailed step tells the customer, in Chinese and in English; True: the event's text
#: (the question, the proposal, the reason) follows
LEADS: dict[str, tuple[str, str, bool]] = {
    "acknowledge": (
        "我们已受理您的投诉，正在处理。",
        "We have taken up your complaint and are working on it.",
        False,
    ),
    "request_information": (
        "为了处理您的投诉，我们需要您补充以下信息，请在进度页面回复：",
        "To handle your complaint we need more information; please answer on the tracking page:",
        True,
    ),
    "propose": (
        "我们提出以下解决方案，请在进度页面接受或拒绝：",
        "We propose the following resolution; please accept or reject it on the tracking page:",
        True,
    ),
    "withdraw_proposal": (
        "我们撤回了之前提出的解决方案，将继续调查。",
        "We have withdrawn the resolution we proposed and are looking into your complaint further.",
        False,
    ),
    "accept": (
        "您的投诉已解决。欢迎在进度页面评价我们的处理。",
        "Your complaint is resolved. You can rate how we handled it on the tracking page.",
        False,
    ),
    "close": (
        "您的投诉已结案。欢迎在进度页面评价我们的处理。",
        "Your complaint is closed. You can rate how we handled it on the tracking page.",
        False,
    ),
    "reopen": (
        "您的投诉已重新打开，我们会继续处理。",
        "Your complaint has been reopened; we are working on it again.",
        False,
    ),
    "reject": (
        "很抱歉，我们无法受理您的投诉，原因如下：",
        "We are sorry: we cannot take up your complaint, for this reason:",
        True,
    ),
    "withdraw": ("您的投诉已撤回：", "Your complaint has been withdrawn:", True),
    "reply": ("客服给您留言：", "A message from customer service:", True),
}


#: workflow steps the customer is e-mailed about (when staff or a manager take them)
MAILED_ACTIONS = frozenset(LEADS) - {"reply"}


def address_of(complaint: Complaint) -> str:
    """Where the customer's updates go: their address, or "" (none, or e-mail not configured)."""
    address = (complaint.contact_email or "").strip()
    return address if address and mailer.smtp_configured(current_app.config) else ""


def mailed_step(event: ComplaintEvent) -> str | None:
    """Which message an event sends the customer, if any: staff's visible replies and the steps
    in ``LEADS`` taken by staff or managers (never the customer's own, nor the system's)."""
    if event.actor_kind.value not in ("staff", "manager") or not event.visible_to_customer:
        return None
    if event.kind is EventKind.REPLY:
        return "reply"
    if event.kind is EventKind.STATE and event.action in LEADS:
        return event.action
    return None


def queue_for(complaint: Complaint, event: ComplaintEvent) -> ComplaintMail | None:
    """The outbox row for ``event``, when it is mailed, the complaint has an e-mail address and
    e-mail is configured; flushed with the event."""
    address = address_of(complaint)
    if not address or mailed_step(event) is None:
        return None
    mail = ComplaintMail(complaint_id=complaint.id, event_id=event.id, to_address=address)
    db.session.add(mail)
    db.session.flush()
    return mail


def message(complaint: Complaint, event: ComplaintEvent, link: str) -> tuple[str, str]:
    """Subject and body of the mail about ``event``, in Chinese and then in English."""
    lead_zh, lead_en, with_text = LEADS[mailed_step(event)]
    text = (event.body or "").strip() if with_text else ""
    quoted = "\n".join(f"> {line}" for line in text.splitlines()) + "\n\n" if text else ""
    name, code = complaint.contact_name, complaint.code
    subject = f"您的投诉 {code} 有新进展 / Update on your complaint {code}"
    body = (
        f"{name}，您好：\n\n{lead_zh}\n\n{quoted}"
        f"查看进度、回复或补充资料：\n{link}\n\n"
        "——\n\n"
        f"Dear {name},\n\n{lead_en}\n\n{quoted}"
        f"See the progress, reply or add details:\n{link}\n\n"
        f"{code}\n"
    )
    return subject, body


def _claimable(now: datetime):
    return sa.and_(
        ComplaintMail.sent_at.is_(None),
        ComplaintMail.attempts < MAX_ATTEMPTS,
        sa.or_(
            ComplaintMail.claimed_at.is_(None),
            ComplaintMail.claimed_at < now - timedelta(seconds=CLAIM_SECONDS),
        ),
    )


def claim(now: datetime, limit: int = BATCH) -> list[int]:
    """Take up to ``limit`` waiting mails, oldest first, each with a guarded ``UPDATE`` (a row
    another sender took meanwhile is skipped: no mail goes out twice from two senders)."""
    taken = []
    for mail_id in db.session.scalars(
        sa.select(ComplaintMail.id).where(_claimable(now)).order_by(ComplaintMail.id).limit(limit)
    ):
        result = db.session.execute(
            sa.update(ComplaintMail)
            .where(ComplaintMail.id == mail_id, _claimable(now))
            .values(claimed_at=now, attempts=ComplaintMail.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            taken.append(mail_id)
    return taken


def send_pending(
    config, link_of: Callable[[str], str], now: datetime | None = None
) -> tuple[int, int]:
    """Send the waiting mails; returns (sent, failed). Commits: the claims before talking to the
    server, the outcome after. ``link_of(token)`` is the tracking page's absolute address."""
    now = now or utcnow()
    ids = claim(now)
    db.session.commit()
    if not ids:
        return 0, 0
    rows = db.session.execute(
        sa.select(ComplaintMail, ComplaintEvent, Complaint)
        .join(ComplaintEvent, ComplaintEvent.id == ComplaintMail.event_id)
        .join(Complaint, Complaint.id == ComplaintMail.complaint_id)
        .where(ComplaintMail.id.in_(ids))
        .order_by(ComplaintMail.id)
    ).all()
    messages = [(m.to_address, *message(c, e, link_of(c.token))) for m, e, c in rows]
    results = mailer.send_each(config, messages)
    done = utcnow()
    for (mail, _event, complaint), error in zip(rows, results, strict=True):
        mail.claimed_at = None
        if error is None:
            mail.sent_at, mail.last_error = done, ""
        else:
            mail.last_error = error
            log.warning("complaint %s: mail %s not sent: %s", complaint.code, mail.id, error)
    db.session.commit()
    failed = sum(error is not None for error in results)
    return len(rows) - failed, failed


def of_events(event_ids: list[int]) -> dict[int, ComplaintMail]:
    """The mails of these events, by event id (for the staff timeline)."""
    if not event_ids:
        return {}
    return {
        mail.event_id: mail
        for mail in db.session.scalars(
            sa.select(ComplaintMail).where(ComplaintMail.event_id.in_(event_ids))
        )
    }
