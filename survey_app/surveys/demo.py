"""The survey chapter of the demo story, and the bulk loader it shares with the benchmark.

Customers answer a pulse after purchases and a yearly ECSI study; satisfaction is believable
(mostly 4-5 of 5, NPS around +20) and drifts down in the months before a customer stops buying.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import sqlalchemy as sa

from survey_app.customers.models import Customer, Transaction
from survey_app.extensions import db

from . import services
from .models import (
    Answer,
    Channel,
    Followup,
    Invitation,
    Questionnaire,
    QuestionType,
    Response,
    new_token,
)


def question_index(questionnaire: Questionnaire) -> dict[str, tuple[int, int | None]]:
    """``code`` (or ``code.item``) -> (question id, matrix item id) of the current version."""
    index = {}
    for section in questionnaire.current_version.sections:
        for question in section.questions:
            if question.type is QuestionType.MATRIX:
                for item in question.items:
                    index[f"{question.code}.{item.code}"] = (question.id, item.id)
            else:
                index[question.code] = (question.id, None)
    return index


def bulk_responses(questionnaire: Questionnaire, records: list[dict], batch: int = 5000) -> int:
    """Insert complete responses in bulk. Each record: ``submitted_at`` (aware UTC),
    ``customer_id`` (or None), ``channel`` (Channel), ``answers`` (``code`` or ``code.item`` ->
    value or list of values), optional ``invitation_id``, ``language``. Returns the count."""
    index = question_index(questionnaire)
    version = questionnaire.current_version
    version_id = version.id
    questions = {q.id: q for s in version.sections for q in s.questions}
    segments = dict(db.session.execute(sa.select(Customer.id, Customer.segment)).all())
    counts: Counter = Counter()
    total = 0
    for offset in range(0, len(records), batch):
        chunk = records[offset : offset + batch]
        response_rows = []
        for record in chunk:
            customer_id = record.get("customer_id")
            response_rows.append(
                {
                    "questionnaire_id": questionnaire.id,
                    "version_id": version_id,
                    "invitation_id": record.get("invitation_id"),
                    "customer_id": None if questionnaire.anonymous else customer_id,
                    "channel": record.get("channel", Channel.PUBLIC),
                    "segment": segments.get(customer_id, "") if customer_id else "",
                    "language": record.get("language", "zh_Hans"),
                    "started_at": record["submitted_at"] - timedelta(minutes=3),
                    "submitted_at": record["submitted_at"],
                    "progress": 99,
                }
            )
        # ids from the database (RETURNING, in parameter order), so sequences stay right
        ids = db.session.scalars(
            sa.insert(Response).returning(Response.id, sort_by_parameter_order=True),
            response_rows,
        ).all()
        answer_rows = []
        for response_id, record, response_row in zip(ids, chunk, response_rows, strict=True):
            rows_of_response = []
            for code, value in record["answers"].items():
                question_id, item_id = index[code]
                for one in value if isinstance(value, list) else [value]:
                    number = float(one) if isinstance(one, int | float) else None
                    text = None if number is not None else str(one)
                    answer_rows.append(
                        {
                            "response_id": response_id,
                            "question_id": question_id,
                            "item_id": item_id,
                            "value_num": number,
                            "value_text": text,
                        }
                    )
                    rows_of_response.append((question_id, item_id, number, text))
            counts.update(
                services.count_keys(
                    questions,
                    rows_of_response,
                    record["submitted_at"].astimezone(UTC).date(),
                    response_row["channel"].value,
                    response_row["segment"],
                )
            )
        db.session.execute(sa.insert(Answer), answer_rows)
        total += len(chunk)
    services.add_result_counts(questionnaire.id, counts)
    return total


def _at(day: date, rng) -> datetime:
    return datetime.combine(day, time(hour=int(rng.integers(8, 22))), tzinfo=UTC) + timedelta(
        minutes=int(rng.integers(0, 60))
    )


COMPLAINTS = [
    "送货太慢了，等了一个星期。",
    "客服电话一直打不通。",
    "产品质量不如以前。",
    "价格又涨了。",
    "包装破损，东西有划痕。",
    "The delivery was late and nobody called.",
]
PRAISE = ["服务很好，谢谢！", "送货很快。", "员工很专业。", "Great service, thank you.", ""]


def _episode_factor(ctx, day: date) -> float:
    """How much the demo's service problem (``ctx.episode``) dampens a mood on ``day``."""
    first, last = ctx.episode
    return 0.75 if first <= day <= last else 1.0


def _pulse_answers(rng, mood: float) -> dict:
    """A pulse response for a customer whose mood is in [0, 1] (1 = delighted)."""
    csat = int(np.clip(round(rng.normal(1.5 + 3.6 * mood, 0.7)), 1, 5))
    nps = int(np.clip(round(rng.normal(2.0 + 8.5 * mood, 1.5)), 0, 10))
    answers = {"csat": csat, "nps": nps}
    if csat <= 3:
        answers["what_wrong"] = str(rng.choice(COMPLAINTS))
    comment = str(rng.choice(PRAISE)) if csat >= 4 else ""
    if comment:
        answers["comment"] = comment
    return answers


def _ecsi_answers(rng, mood: float) -> dict:
    def ten(shift: float = 0.0) -> int:
        return int(np.clip(round(rng.normal(2.0 + 7.5 * mood + shift, 1.1)), 1, 10))

    answers = {}
    for code in ("image.img_reliable", "image.img_innovative", "image.img_society"):
        answers[code] = ten(0.3)
    for code in ("expect.exp_overall", "expect.exp_needs", "expect.exp_reliability"):
        answers[code] = ten(0.6)
    for code in (
        "quality.q_product",
        "quality.q_staff",
        "quality.q_service",
        "quality.q_delivery",
        "quality.q_aftersales",
    ):
        answers[code] = ten()
    for code in ("value.v_price_quality", "value.v_quality_price"):
        answers[code] = ten(-0.5)
    for code in ("sat_overall", "sat_expect", "sat_ideal", "loy_repurchase", "loy_price"):
        answers[code] = ten()
    answers["nps"] = int(np.clip(round(rng.normal(1.5 + 8.5 * mood, 1.5)), 0, 10))
    if mood < 0.45:
        answers["ecsi_comment"] = str(rng.choice(COMPLAINTS))
    return answers


def seed_demo(ctx) -> list[str]:
    """Published pulse and ECSI questionnaires answered by the demo customers over two years,
    invitations in every status, and the public and one personal link for the summary."""
    rng = ctx.rng
    admin = next(iter(ctx.users.values()), None)
    pulse = services.create_from_template(admin, "pulse")
    ecsi = services.create_from_template(admin, "ecsi")
    services.create_from_template(admin, "recovery")
    for questionnaire in (pulse, ecsi):
        services.change_status(admin, questionnaire, "publish")
    start = ctx.as_of - timedelta(days=730)
    pulse.published_at = ecsi.published_at = datetime.combine(start, time(9), tzinfo=UTC)

    activity = db.session.execute(
        sa.select(
            Transaction.customer_id,
            sa.func.min(Transaction.occurred_on),
            sa.func.max(Transaction.occurred_on),
        )
        .group_by(Transaction.customer_id)
        .order_by(Transaction.customer_id)  # the random draws follow this order: keep it fixed
    ).all()
    pulse_records, ecsi_records = [], []
    for customer_id, first, last in activity:
        first = max(first, start)
        lost = last < ctx.as_of - timedelta(days=120)
        base = float(rng.beta(5, 2))  # most customers are fairly happy
        span = max((last - first).days, 1)
        # a pulse after some purchases: a few per customer over the window
        for _ in range(int(rng.poisson(2.2))):
            day = first + timedelta(days=int(rng.integers(0, span + 1)))
            mood = base * _episode_factor(ctx, day)
            if lost:  # unhappiness grows towards the day they left
                closeness = 1 - min((last - day).days, 240) / 240
                mood *= 1 - 0.6 * closeness
            pulse_records.append(
                {
                    "submitted_at": _at(min(day, ctx.as_of), rng),
                    "customer_id": customer_id,
                    "channel": Channel.PUBLIC if rng.random() < 0.3 else Channel.INVITATION,
                    "answers": _pulse_answers(rng, float(np.clip(mood, 0, 1))),
                    "language": "en" if rng.random() < 0.15 else "zh_Hans",
                }
            )
        if rng.random() < 0.25:  # the yearly study reaches a quarter of the customers
            day = first + timedelta(days=int(rng.integers(0, span + 1)))
            mood = base * (0.7 if lost else 1.0) * _episode_factor(ctx, day)
            ecsi_records.append(
                {
                    "submitted_at": _at(min(day, ctx.as_of), rng),
                    "customer_id": customer_id,
                    "channel": Channel.INVITATION,
                    "answers": _ecsi_answers(rng, float(mood)),
                }
            )
    pulse_records.sort(key=lambda r: r["submitted_at"])
    ecsi_records.sort(key=lambda r: r["submitted_at"])
    db.session.flush()
    n_pulse = bulk_responses(pulse, pulse_records)
    n_ecsi = bulk_responses(ecsi, ecsi_records)

    # Current invitation round of the ECSI study: some answered, some partial, some opened,
    # some not opened, some expired.
    now = datetime.combine(ctx.as_of, time(12), tzinfo=UTC)
    customers = list(db.session.scalars(sa.select(Customer.id).order_by(Customer.id).limit(60)))
    pattern = [
        "not_opened",
        "completed",
        "opened",
        "partial",
        "expired",
        "completed",
        "not_opened",
        "opened",
        "completed",
        "expired",
        "not_opened",
        "completed",
    ]
    states = [pattern[i % len(pattern)] for i in range(len(customers))]
    invitation_rows = []
    for customer_id, state in zip(customers, states, strict=False):
        created = now - timedelta(days=int(rng.integers(5, 25)))
        invitation_rows.append(
            {
                "questionnaire_id": ecsi.id,
                "customer_id": customer_id,
                "token": new_token(),
                "created_at": created,
                "sent_at": created,
                "expires_at": created + timedelta(days=(10 if state == "expired" else 45)),
                "opened_at": created + timedelta(days=1) if state != "not_opened" else None,
                "completed_at": created + timedelta(days=1) if state == "completed" else None,
                "reminders": 1 if state in ("opened", "partial") else 0,
            }
        )
    db.session.execute(sa.insert(Invitation), invitation_rows)
    invitations = {
        inv.customer_id: inv
        for inv in db.session.scalars(
            sa.select(Invitation).where(Invitation.questionnaire_id == ecsi.id)
        )
    }
    completed = [
        {
            "submitted_at": now - timedelta(days=int(rng.integers(0, 4))),
            "customer_id": cid,
            "invitation_id": invitations[cid].id,
            "channel": Channel.INVITATION,
            "answers": _ecsi_answers(rng, float(rng.beta(5, 2))),
        }
        for cid, state in zip(customers, states, strict=False)
        if state == "completed"
    ]
    n_ecsi += bulk_responses(ecsi, completed)
    for cid, state in zip(customers, states, strict=False):
        if state == "partial":
            response = Response(
                questionnaire_id=ecsi.id,
                version_id=ecsi.current_version.id,
                invitation_id=invitations[cid].id,
                customer_id=cid,
                channel=Channel.INVITATION,
                progress=1,
            )
            db.session.add(response)
    db.session.flush()
    personal = next(
        inv.token
        for cid, inv in sorted(invitations.items())
        if states[customers.index(cid)] == "not_opened"
    )
    ctx.public_urls.append(("satisfaction pulse (public)", f"/s/{pulse.public_token}"))
    ctx.public_urls.append(("ECSI study (personal link)", f"/i/{personal}"))
    return [
        "Surveys:",
        f"  pulse: {n_pulse} responses; ECSI study: {n_ecsi} responses;"
        f" {len(invitation_rows)} invitations",
    ]


#: what staff wrote down after calling a detractor (the demo's follow-up notes)
FOLLOWUP_NOTES = [
    "电话联系客户，送货延误已致歉，下次订单优先配送。",
    "客户反映客服回复慢，已留下专属联系人电话。",
    "已回电，客户对价格有意见，说明了会员折扣。",
    "两次致电未接通，已发短信留言。",
    "客户表示问题已解决，无需立案。",
    "回访客户，产品问题已安排上门检查。",
]
#: the share of detractors followed up by a note: most of the older ones, a few recent ones
FOLLOWED_UP_OLD, FOLLOWED_UP_RECENT, RECENT_DAYS = 0.7, 0.2, 14


def seed_followups(ctx) -> list[str]:
    """Staff have called most detractors of more than two weeks ago and written down what came
    of it, so the follow-up list shows both work done and work waiting. Runs after every other
    chapter: its random draws change none of theirs."""
    from .queries import _followup_conditions

    staff = [u for u in ctx.users.values() if u.role.value == "staff"]
    detractors = db.session.execute(
        sa.select(Response.id, Response.submitted_at)
        .where(*_followup_conditions(None, None, "waiting", None))
        .order_by(Response.id)
    ).all()
    recent = datetime.combine(ctx.as_of - timedelta(days=RECENT_DAYS), time(), UTC)
    cap = datetime.combine(ctx.as_of, time(), UTC)
    rows = []
    for response_id, submitted_at in detractors:
        share = FOLLOWED_UP_RECENT if submitted_at >= recent else FOLLOWED_UP_OLD
        if not staff or ctx.rng.random() >= share:
            continue
        called = submitted_at + timedelta(hours=float(ctx.rng.uniform(2, 72)))
        if called > cap:  # not yet: the story ends at the reference date's midnight
            continue
        rows.append(
            {
                "response_id": response_id,
                "user_id": staff[int(ctx.rng.integers(len(staff)))].id,
                "note": FOLLOWUP_NOTES[int(ctx.rng.integers(len(FOLLOWUP_NOTES)))],
                "created_at": called,
            }
        )
    if rows:
        db.session.execute(sa.insert(Followup), rows)
    return [
        "Detractor follow-up:",
        f"  {len(rows)} of {len(detractors)} low-scoring responses called back",
    ]
