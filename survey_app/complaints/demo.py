"""Demo chapter: two years of complaints from the demo customers, in every state.

Customers who left (their purchases stopped) complained shortly before their last purchase and
were mostly handled badly: slow, reopened, often left unresolved, low recovery ratings.
Customers who stayed were mostly handled well. Every timeline follows the workflow table.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa

from survey_app.accounts.models import Role
from survey_app.customers.models import Customer, Transaction
from survey_app.extensions import db
from survey_app.taxonomy.models import Reason
from survey_app.taxonomy.services import ensure_default_reasons

from . import services, workflow
from .models import (
    OPEN_STATES,
    ActorKind,
    Channel,
    Complaint,
    ComplaintEvent,
    EventKind,
    Queue,
    QueueRule,
    RecoveryRating,
    RootCause,
    Severity,
    State,
)

#: final state -> the (action, actor) path that leads there from "received"
PATHS = {
    State.RECEIVED: [],
    State.ACKNOWLEDGED: [("acknowledge", "staff")],
    State.INVESTIGATING: [("acknowledge", "staff"), ("investigate", "staff")],
    State.RESOLUTION_PROPOSED: [
        ("acknowledge", "staff"),
        ("investigate", "staff"),
        ("propose", "staff"),
    ],
    State.RESOLVED: [
        ("acknowledge", "staff"),
        ("investigate", "staff"),
        ("propose", "staff"),
        ("accept", "customer"),
    ],
    State.CLOSED: [
        ("acknowledge", "staff"),
        ("investigate", "staff"),
        ("propose", "staff"),
        ("accept", "customer"),
        ("close", "staff"),
    ],
    State.REOPENED: [
        ("acknowledge", "staff"),
        ("investigate", "staff"),
        ("propose", "staff"),
        ("reject_resolution", "customer"),
    ],
    State.ESCALATED: [("acknowledge", "staff"), ("escalate", "system")],
    State.WITHDRAWN: [("acknowledge", "staff"), ("withdraw", "customer")],
    State.REJECTED: [("acknowledge", "staff"), ("investigate", "staff"), ("reject", "manager")],
}
#: a resolution the customer first rejected, then accepted
REWORKED = [
    ("acknowledge", "staff"),
    ("investigate", "staff"),
    ("propose", "staff"),
    ("reject_resolution", "customer"),
    ("investigate", "staff"),
    ("propose", "staff"),
    ("accept", "customer"),
    ("close", "staff"),
]
DESCRIPTIONS = {
    "quality": ["收到的产品有划痕，和描述不符。", "用了两天就坏了。", "颜色和图片差别很大。"],
    "service": ["客服电话一直没人接。", "店员态度很差，不耐烦。", "答应回电但没有回。"],
    "delivery": ["快递晚了一周才到。", "包裹外箱破损，里面东西摔坏了。", "送错了地址。"],
    "after_sales": ["退货申请提交两周没人处理。", "维修后同样的问题又出现了。"],
    "billing": ["发票金额和订单金额不一致。", "被重复扣款。"],
    "other": ["网站下单时一直报错。", "会员积分没有到账。"],
}
OUTCOMES = ["换货", "退款", "赔偿运费", "道歉并改进", "尽快维修"]
RESOLUTIONS = [
    "为您免费换货，并补偿 50 元优惠券。",
    "全额退款，3 个工作日内到账。",
    "安排上门维修，并延长保修一年。",
]
ACTIONS_TAKEN = [
    "包装改用加厚纸箱，出库前抽检。",
    "客服培训并设置回电提醒。",
    "与快递公司重新约定时效考核。",
    "账单系统修复重复扣款的缺陷。",
]


def _token(rng) -> str:
    return base64.urlsafe_b64encode(rng.bytes(32)).rstrip(b"=").decode()


def _code(rng) -> str:
    return "TS" + "".join(rng.choice(list(services.CODE_ALPHABET), size=8))


def _hours(rng, good: bool, scale: float) -> timedelta:
    factor = 1.0 if good else 6.0
    return timedelta(hours=float(rng.exponential(scale * factor)) + 0.1)


def seed_demo(ctx) -> list[str]:
    rng, as_of = ctx.rng, ctx.as_of
    now = datetime.combine(as_of, time(10, 0), UTC)
    ensure_default_reasons()
    services.ensure_default_root_causes()
    categories = {
        r.code: r.id
        for r in db.session.scalars(
            sa.select(Reason)
            .where(Reason.for_complaints, Reason.active)
            .order_by(Reason.position, Reason.id)
        )
    }
    causes = list(db.session.scalars(sa.select(RootCause.id).order_by(RootCause.id)))
    staff = [u for u in ctx.users.values() if u.role is Role.STAFF]
    manager = next((u for u in ctx.users.values() if u.role is Role.MANAGER), None)
    queue_rows = []
    if staff:
        logistics = Queue(name="物流与售后组", members=staff[:1])
        service = Queue(name="客户服务组", members=staff[1:] or staff[:1])
        db.session.add_all([logistics, service])
        db.session.flush()
        for code, queue in (
            ("delivery", logistics),
            ("after_sales", logistics),
            ("quality", service),
            ("service", service),
            ("billing", service),
            ("other", service),
        ):
            if code in categories:
                queue_rows.append(QueueRule(category_id=categories[code], queue_id=queue.id))
        db.session.add_all(queue_rows)
    rules = {r.category_id: r.queue_id for r in queue_rows}

    last_purchase = dict(
        db.session.execute(
            sa.select(Transaction.customer_id, sa.func.max(Transaction.occurred_on)).group_by(
                Transaction.customer_id
            )
        ).all()
    )
    customers = list(db.session.scalars(sa.select(Customer).order_by(Customer.id)))
    if not customers or not categories:
        return []
    lost = [
        c
        for c in customers
        if c.id in last_purchase and last_purchase[c.id] < as_of - timedelta(days=180)
    ]
    stayed = [c for c in customers if c not in lost]
    targets = services.sla_targets()
    horizon = now - timedelta(days=730)

    plans = []  # (customer, created_at, handled_well, lost)
    for customer in rng.permutation(lost)[: max(1, len(customers) // 16)]:
        day = last_purchase[customer.id] - timedelta(days=int(rng.integers(0, 25)))
        created = datetime.combine(day, time(0), UTC) + timedelta(
            minutes=int(rng.integers(480, 1260))
        )
        if created > horizon:
            plans.append((customer, created, rng.random() < 0.2, True))
    episode_start = datetime.combine(ctx.episode[0], time(0), UTC)
    episode_minutes = ((ctx.episode[1] - ctx.episode[0]).days + 1) * 24 * 60
    for customer in rng.choice(stayed, size=min(len(stayed), len(customers) // 8), replace=False):
        created = horizon + timedelta(minutes=int(rng.integers(0, 730 * 24 * 60)))
        if rng.random() < 0.2:  # the service problem: deliveries went wrong for months
            created = episode_start + timedelta(minutes=int(rng.integers(0, episode_minutes)))
        plans.append((customer, created, rng.random() < 0.85, False))
    plans.sort(key=lambda plan: plan[1])

    def in_episode(moment: datetime) -> bool:
        return ctx.episode[0] <= moment.date() <= ctx.episode[1]

    complaint_rows, event_plans, rating_plans = [], [], []
    category_codes = [c for c in categories if c in DESCRIPTIONS] or list(categories)
    recent_states = [
        State.RECEIVED, State.ACKNOWLEDGED, State.INVESTIGATING, State.RESOLUTION_PROPOSED,
        State.ESCALATED, State.REOPENED, State.RESOLVED, State.CLOSED, State.WITHDRAWN,
        State.INVESTIGATING, State.RESOLUTION_PROPOSED, State.REJECTED,
    ]  # fmt: skip
    recent = 0
    for n, (customer, created, good, lost_later) in enumerate(plans):
        age = now - created
        if age < timedelta(days=45):
            # the last weeks hold complaints in every state of the workflow
            final = recent_states[recent % len(recent_states)]
            recent += 1
        else:
            # badly handled complaints of customers who then left often ended unresolved:
            # withdrawn in frustration or rejected
            ends = [0.35, 0.03, 0.35, 0.27] if lost_later and not good else [0.88, 0.04, 0.05, 0.03]
            final = State(str(rng.choice(["closed", "resolved", "withdrawn", "rejected"], p=ends)))
        path = PATHS[final]
        if final is State.CLOSED and (not good and rng.random() < 0.35 or rng.random() < 0.04):
            path = REWORKED
        code = str(rng.choice(category_codes))
        if in_episode(created) and "delivery" in categories and rng.random() < 0.7:
            code = "delivery"
        severity = Severity(
            str(rng.choice(["low", "medium", "high", "critical"], p=[0.3, 0.45, 0.2, 0.05]))
        )
        tier = services.customer_tier(customer)
        ack_target, resolve_target = targets[(severity, tier)]
        t, events, row = created, [], {}
        paused, paused_since, reopen_count = 0, None, 0
        acknowledged_at = resolved_at = closed_at = escalated_at = None
        state = State.RECEIVED
        for action, actor in path:
            gap = {
                "acknowledge": _hours(rng, good, 2),
                "investigate": _hours(rng, good, 4),
                "propose": _hours(rng, good, 20),
                "accept": _hours(rng, True, 12),
                "reject_resolution": _hours(rng, True, 12),
                "close": _hours(rng, True, 2),
                "escalate": timedelta(minutes=ack_target + resolve_target),
                "withdraw": _hours(rng, True, 24),
                "reject": _hours(rng, True, 24),
            }[action]
            t = min(t + gap, now - timedelta(minutes=5 * (len(path) - len(events))))
            transition = workflow.find(state, action)
            assert transition is not None and workflow.actor_may(transition.roles, actor)
            if paused_since is not None:
                paused += int((t - paused_since).total_seconds())
                paused_since = None
            if action in ("acknowledge", "investigate", "propose", "escalate"):
                acknowledged_at = acknowledged_at or t
            if action == "propose":
                paused_since = t
            if action == "accept":
                resolved_at = t
            if action == "reject_resolution":
                reopen_count += 1
            if action == "close":
                closed_at = t
            if action == "escalate":
                escalated_at = t
            body = {
                "propose": str(rng.choice(RESOLUTIONS)),
                "reject_resolution": "补偿太少，希望再考虑。",
                "withdraw": "问题已自行解决。",
                "reject": "经核实不属于我司责任范围。",
                "escalate": "Deadline passed without the next step.",
            }.get(action, "")
            events.append((t, action, actor, state, transition.new_state, body))
            state = transition.new_state
        ack_due = created + timedelta(minutes=ack_target)
        resolve_due = created + timedelta(minutes=resolve_target) + timedelta(seconds=paused)
        due = None
        if state in OPEN_STATES and paused_since is None:
            due = resolve_due if acknowledged_at else ack_due
        assignee = staff[n % len(staff)] if staff and acknowledged_at else None
        resolution = next((e[5] for e in reversed(events) if e[1] == "propose"), "")
        row = {
            "code": _code(rng),
            "token": _token(rng),
            "state": state,
            "severity": severity,
            "channel": Channel(
                str(
                    rng.choice(
                        ["web", "phone", "email", "letter", "in_person"],
                        p=[0.5, 0.25, 0.15, 0.03, 0.07],
                    )
                )
            ),
            "category_id": categories[code],
            "contact_name": customer.name,
            "contact_email": customer.email or "",
            "contact_phone": customer.phone or "",
            "description": str(rng.choice(DESCRIPTIONS.get(code, DESCRIPTIONS["other"]))),
            "occurred_on": (created - timedelta(days=int(rng.integers(0, 4)))).date(),
            "order_ref": f"SO-{int(rng.integers(100000, 999999))}",
            "desired_outcome": str(rng.choice(OUTCOMES)),
            "customer_id": customer.id,
            "assignee_id": assignee.id if assignee else None,
            "queue_id": rules.get(categories[code]),
            "tier": tier,
            "root_cause_id": int(rng.choice(causes)) if closed_at else None,
            "root_cause_text": "",
            "corrective_action": str(rng.choice(ACTIONS_TAKEN)) if closed_at else "",
            "end_reason": events[-1][5] if state in (State.WITHDRAWN, State.REJECTED) else "",
            "proposed_resolution": resolution,
            "created_at": created,
            "acknowledged_at": acknowledged_at,
            "resolved_at": resolved_at,
            "closed_at": closed_at,
            "escalated_at": escalated_at,
            "ack_due_at": ack_due,
            "resolve_due_at": resolve_due,
            "due_at": due,
            "paused_since": paused_since,
            "paused_seconds": paused,
            "clock_started_at": created,
            "updated_at": events[-1][0] if events else created,
            "reopen_count": reopen_count,
            "version": 1 + len(events),
        }
        complaint_rows.append(row)
        event_plans.append((row["code"], created, events, assignee, row["channel"]))
        if resolved_at and rng.random() < 0.6:
            score = int(rng.integers(4, 6)) if good else int(rng.integers(1, 3))
            recommend = int(rng.integers(8, 11)) if good else int(rng.integers(0, 6))
            rating_plans.append((row["code"], score, recommend, resolved_at + timedelta(hours=5)))

    db.session.execute(sa.insert(Complaint), complaint_rows)
    ids = dict(db.session.execute(sa.select(Complaint.code, Complaint.id)).all())
    event_rows = []
    for code, created, events, assignee, channel in event_plans:
        cid = ids[code]
        event_rows.append(
            dict(
                complaint_id=cid,
                at=created,
                kind=EventKind.CREATED,
                actor_kind=ActorKind.CUSTOMER if channel is Channel.WEB else ActorKind.STAFF,
                user_id=None,
                action="",
                from_state="",
                to_state="received",
                body=channel.value,
                changes=None,
                visible_to_customer=True,
                version=1,
            )
        )
        for version, (t, action, actor, old, new, body) in enumerate(events, start=2):
            user = None
            if actor == "staff":
                user = assignee
            elif actor == "manager":
                user = manager
            event_rows.append(
                dict(
                    complaint_id=cid,
                    at=t,
                    kind=EventKind.STATE,
                    actor_kind={"customer": ActorKind.CUSTOMER, "system": ActorKind.SYSTEM}.get(
                        actor, ActorKind.STAFF
                    ),
                    user_id=user.id if user else None,
                    action=action,
                    from_state=old.value,
                    to_state=new.value,
                    body=body,
                    changes=None,
                    visible_to_customer=True,
                    version=version,
                )
            )
            if action == "acknowledge" and assignee:
                event_rows.append(
                    dict(
                        complaint_id=cid,
                        at=t,
                        kind=EventKind.NOTE,
                        actor_kind=ActorKind.STAFF,
                        user_id=assignee.id,
                        action="",
                        from_state="",
                        to_state="",
                        body="已电话联系客户，核实订单信息。",
                        changes=None,
                        visible_to_customer=False,
                        version=version,
                    )
                )
    db.session.execute(sa.insert(ComplaintEvent), event_rows)
    db.session.execute(
        sa.insert(RecoveryRating),
        [
            dict(complaint_id=ids[code], rating=score, recommend=rec, comment="", created_at=at)
            for code, score, rec, at in rating_plans
        ]
        or [],
    ) if rating_plans else None

    overdue = sum(1 for r in complaint_rows if r["due_at"] and r["due_at"] < now)
    by_state = {}
    for r in complaint_rows:
        by_state[r["state"].value] = by_state.get(r["state"].value, 0) + 1
    waiting = next(
        (r for r in reversed(complaint_rows) if r["state"] is State.RESOLUTION_PROPOSED), None
    ) or (complaint_rows[-1] if complaint_rows else None)
    ctx.public_urls.append(("complaint form", "/complaint"))
    if waiting:
        ctx.public_urls.append(
            (f"tracking link ({waiting['code']})", f"/complaint/t/{waiting['token']}")
        )
    return [
        "Complaints:",
        f"  {len(complaint_rows)} complaints ({overdue} overdue, "
        f"{sum(1 for r in complaint_rows if r['reopen_count'])} reopened, "
        f"{len(rating_plans)} recovery ratings); by state: "
        + ", ".join(f"{k} {v}" for k, v in sorted(by_state.items())),
    ]
