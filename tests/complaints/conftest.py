"""Factories for complaint tests: users of each role, a root cause, complaints in any state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from survey_app.accounts import services as account_services
from survey_app.complaints import services
from survey_app.complaints.models import Channel, Severity, State
from survey_app.complaints.services import Actor
from survey_app.extensions import db
from survey_app.taxonomy.services import by_code

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Shanghai

#: the actions that lead from "received" to each state
PATHS = {
    State.RECEIVED: [],
    State.ACKNOWLEDGED: ["acknowledge"],
    State.INVESTIGATING: ["acknowledge", "investigate"],
    State.RESOLUTION_PROPOSED: ["acknowledge", "investigate", "propose"],
    State.RESOLVED: ["acknowledge", "investigate", "propose", "accept"],
    State.CLOSED: ["acknowledge", "investigate", "propose", "accept", "close"],
    State.REOPENED: ["acknowledge", "investigate", "propose", "reject_resolution"],
    State.ESCALATED: ["escalate"],
    State.WITHDRAWN: ["withdraw"],
    State.REJECTED: ["reject"],
}


class World:
    def __init__(self):
        self.users = {}
        for role in ("staff", "manager", "admin"):
            self.users[role] = account_services.create_user(
                f"{role}-w@example.com", "correct-horse-battery", role, f"{role.title()} W"
            )
        self.cause = services.save_root_cause(
            Actor.of(self.users["admin"]), None, name_zh="流程缺陷", name_en="Process gap"
        )
        self.category = by_code("delivery")
        self.clock = T0

    def actor(self, kind: str) -> Actor:
        if kind == "customer":
            return Actor.customer()
        if kind == "system":
            return Actor.system()
        return Actor.of(self.users[kind])

    def tick(self, minutes: int = 10) -> datetime:
        self.clock += timedelta(minutes=minutes)
        return self.clock

    def open(self, **kwargs):
        fields = dict(
            channel=Channel.PHONE,
            category_id=self.category.id,
            contact_name="李娜",
            contact_email="lina@example.cn",
            description="The parcel arrived broken.",
            severity=Severity.HIGH,
            now=self.tick(),
        )
        fields.update(kwargs)
        return services.open_complaint(self.actor("staff"), **fields)

    def act(self, complaint, action: str, kind: str = "staff", **kwargs):
        defaults = dict(text="details", now=self.tick())
        if action == "close":
            defaults.update(root_cause_id=self.cause.id, corrective_action="Retrain packers")
        if action == "merge":
            defaults["merge_into"] = self.open()
        defaults.update(kwargs)
        return services.apply_action(complaint, action, self.actor(kind), **defaults)

    def complaint_in(self, state: State, **kwargs):
        complaint = self.open(**kwargs)
        for action in PATHS[state]:
            kind = "manager" if action == "reject" else "staff"
            self.act(complaint, action, kind)
        assert complaint.state is state
        return complaint


@pytest.fixture
def world(app):
    with app.app_context():
        w = World()
        db.session.commit()
        yield w
        db.session.rollback()
