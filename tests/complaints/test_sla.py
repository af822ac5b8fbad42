"""SLA arithmetic with fixed instants: around the clock, in business hours, with pauses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from survey_app.complaints import services, sla
from survey_app.complaints.models import Severity, State
from survey_app.customers.models import Customer, CustomerValue
from survey_app.extensions import db

SH = ZoneInfo("Asia/Shanghai")
CAL = sla.Calendar(
    start_minute=9 * 60,
    end_minute=18 * 60,
    weekdays=frozenset({1, 2, 3, 4, 5}),
    holidays=frozenset({date(2026, 3, 4)}),
    tz=SH,
)


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        (sh(2026, 3, 2, 10, 0), 4, sh(2026, 3, 2, 14, 0)),  # inside one day
        (sh(2026, 3, 2, 16, 0), 4, sh(2026, 3, 3, 11, 0)),  # 2 h today, 2 h tomorrow
        (sh(2026, 3, 2, 20, 0), 1, sh(2026, 3, 3, 10, 0)),  # filed after hours
        (sh(2026, 3, 3, 17, 0), 2, sh(2026, 3, 5, 10, 0)),  # over a holiday (Wed 4 March)
        (sh(2026, 3, 6, 17, 0), 2, sh(2026, 3, 9, 10, 0)),  # over a weekend
        (sh(2026, 3, 7, 12, 0), 9, sh(2026, 3, 9, 18, 0)),  # filed on Saturday: one full day
        (sh(2026, 3, 2, 9, 0), 18, sh(2026, 3, 3, 18, 0)),  # exactly two working days
    ],
)
def test_deadline_in_business_hours(start, hours, expected):
    assert sla.add_working_seconds(CAL, start, hours * 3600) == expected
    assert sla.working_seconds(CAL, start, expected) == hours * 3600


def test_around_the_clock_without_a_calendar():
    start = datetime(2026, 3, 7, 23, 0, tzinfo=UTC)
    assert sla.add_working_seconds(None, start, 4 * 3600) == start + timedelta(hours=4)
    assert sla.working_seconds(None, start, start + timedelta(days=2)) == 48 * 3600
    assert sla.working_seconds(CAL, start, start - timedelta(hours=1)) == 0


def test_working_seconds_skip_nights_weekends_and_holidays():
    # Friday 17:00 to Tuesday 10:00: 1 h Friday + 9 h Monday + 1 h Tuesday
    assert sla.working_seconds(CAL, sh(2026, 3, 6, 17, 0), sh(2026, 3, 10, 10, 0)) == 11 * 3600


def _enable_calendar(world):
    services.save_calendar(
        world.actor("admin"),
        enabled=True,
        start_minute=9 * 60,
        end_minute=18 * 60,
        weekdays=[1, 2, 3, 4, 5],
        timezone="Asia/Shanghai",
        holidays="2026-03-04",
    )


def test_deadlines_follow_severity_tier_and_calendar(world):
    _enable_calendar(world)
    received = sh(2026, 3, 3, 16, 0)  # Tuesday 16:00, the day before a holiday
    complaint = world.open(severity=Severity.HIGH, now=received.astimezone(UTC))
    # high/general: acknowledge in 4 working hours, resolve in 48 working hours
    assert complaint.ack_due_at == sh(2026, 3, 5, 11, 0)
    assert complaint.resolve_due_at == sla.add_working_seconds(CAL, received, 48 * 3600)
    assert complaint.due_at == complaint.ack_due_at
    assert complaint.is_overdue(sh(2026, 3, 5, 11, 1))
    assert not complaint.is_overdue(sh(2026, 3, 5, 10, 59))


def test_key_customers_get_tighter_targets(world):
    key = Customer(code="K1", name="大客户甲", segment="大客户", email="k1@example.cn")
    managed = Customer(
        code="K2", name="乙", segment="零售", assigned_staff_id=world.users["staff"].id
    )
    plain = Customer(code="G1", name="丙", segment="大客户")  # the segment alone is not the tier
    minor = Customer(code="M1", name="丁", segment="零售")
    db.session.add_all([key, managed, plain, minor])
    db.session.flush()
    as_of = world.tick().date()
    db.session.add_all(
        [
            CustomerValue(customer_id=key.id, as_of=as_of, tier="key"),
            CustomerValue(customer_id=plain.id, as_of=as_of, tier="general"),
            CustomerValue(customer_id=minor.id, as_of=as_of, tier="minor"),
        ]
    )
    db.session.flush()
    assert [services.customer_tier(c) for c in (key, managed, plain, minor, None)] == [
        "key",
        "key",
        "general",
        "general",
        "general",
    ]
    now = world.tick()
    complaint = world.open(customer_id=key.id, severity=Severity.HIGH, now=now)
    assert complaint.tier == "key"
    assert complaint.ack_due_at == now + timedelta(hours=2)


def test_the_clock_pauses_while_waiting_for_the_customer(world):
    t0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    complaint = world.open(severity=Severity.HIGH, now=t0)  # 48 h around the clock
    world.act(complaint, "acknowledge", now=t0 + timedelta(hours=1))
    world.act(complaint, "investigate", now=t0 + timedelta(hours=2))
    assert complaint.due_at == t0 + timedelta(hours=48)
    world.act(complaint, "request_information", now=t0 + timedelta(hours=10))
    assert complaint.paused_since is not None and complaint.due_at is None
    assert not complaint.is_overdue(t0 + timedelta(days=30))
    # The customer answers 30 hours later: the deadline moves by 30 hours.
    world.act(complaint, "add_information", "customer", now=t0 + timedelta(hours=40))
    assert complaint.state is State.INVESTIGATING
    assert complaint.paused_seconds == 30 * 3600
    assert complaint.due_at == t0 + timedelta(hours=78)
    # A proposed resolution waits for the customer too.
    world.act(complaint, "propose", now=t0 + timedelta(hours=50))
    assert complaint.due_at is None
    world.act(complaint, "reject_resolution", "customer", now=t0 + timedelta(hours=60))
    assert complaint.resolve_due_at == t0 + timedelta(hours=88)


def test_business_hours_pause(world):
    _enable_calendar(world)
    t0 = sh(2026, 3, 2, 9, 0).astimezone(UTC)  # Monday 09:00
    complaint = world.open(severity=Severity.HIGH, now=t0)
    world.act(complaint, "acknowledge", now=t0 + timedelta(hours=1))
    # waits for the customer from Monday 12:00 to Thursday 10:00 (Wed is a holiday): 6+9+1 h
    world.act(complaint, "request_information", now=sh(2026, 3, 2, 12, 0))
    world.act(complaint, "add_information", "customer", now=sh(2026, 3, 5, 10, 0))
    assert complaint.paused_seconds == 16 * 3600
    assert complaint.resolve_due_at == sla.add_working_seconds(CAL, t0, (48 + 16) * 3600)


def test_overdue_complaints_escalate_from_the_cli(app, world, runner):
    t0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    late = world.open(severity=Severity.CRITICAL, now=t0)
    on_time = world.open(severity=Severity.LOW, now=t0)
    waiting = world.complaint_in(State.RESOLUTION_PROPOSED)
    db.session.commit()
    assert services.escalate_overdue(now=t0 + timedelta(hours=2)) == 1
    db.session.commit()
    assert late.state is State.ESCALATED and on_time.state is State.RECEIVED
    assert waiting.state is State.RESOLUTION_PROPOSED
    result = runner.invoke(args=["complaints", "escalate-overdue"])
    assert result.exit_code == 0, result.output
    assert "escalated" in result.output
    db.session.expire_all()
    assert on_time.state is State.ESCALATED  # it is long overdue by the real clock


def test_saved_targets_and_calendar_apply_to_the_next_complaint(world):
    now = world.tick()
    default = world.open(severity=Severity.MEDIUM, now=now)
    assert default.ack_due_at == now + timedelta(hours=8)  # medium/general default
    services.save_sla_targets(world.actor("admin"), {(Severity.MEDIUM, "general"): (90, 600)})
    custom = world.open(severity=Severity.MEDIUM, now=now)
    assert custom.ack_due_at == now + timedelta(minutes=90)
    assert custom.resolve_due_at == now + timedelta(minutes=600)
    other = world.open(severity=Severity.LOW, now=now)  # untouched targets keep the defaults
    assert other.ack_due_at == now + timedelta(hours=24)
    _enable_calendar(world)
    received = sh(2026, 3, 6, 17, 0)  # Friday 17:00: 1 working hour left this week
    in_hours = world.open(severity=Severity.MEDIUM, now=received.astimezone(UTC))
    assert in_hours.ack_due_at == sh(2026, 3, 9, 9, 30)
