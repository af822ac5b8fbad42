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
    """Users of each role, a root cause and a clock; holds ids only, so it works in any app
    context (HTTP tests open their own around service calls)."""

    def __init__(self):
        self.user_ids = {}
        for role in ("staff", "manager", "admin"):
            user = account_services.create_user(
                f"{role}-w@example.com", "correct-horse-battery", role, f"{role.title()} W"
            )
            db.session.flush()
            self.user_ids[role] = user.id
        self.cause_id = services.save_root_cause(
            self.actor("admin"), None, name_zh="流程缺陷", name_en="Process gap"
        ).id
        self.category_id = by_code("delivery").id
        self.clock = T0

    @property
    def users(self):
        from survey_app.accounts.models import User

        return {role: db.session.get(User, uid) for role, uid in self.user_ids.items()}

    @property
    def cause(self):
        from survey_app.complaints.models import RootCause

        return db.session.get(RootCause, self.cause_id)

    @property
    def category(self):
        from survey_app.taxonomy.models import Reason

        return db.session.get(Reason, self.category_id)

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
            category_id=self.category_id,
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
            defaults.update(root_cause_id=self.cause_id, corrective_action="Retrain packers")
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
    """For service-level tests: the app context stays open for the whole test."""
    with app.app_context():
        w = World()
        db.session.commit()
        yield w
        db.session.rollback()


@pytest.fixture
def http_world(app):
    """For HTTP tests: no app context stays open (requests must not share one); wrap service
    calls in ``with app.app_context():``."""
    with app.app_context():
        w = World()
        db.session.commit()
    return w


@pytest.fixture(autouse=True)
def _english(request):
    """Complaint pages are read in English in these tests."""
    if "client" in request.fixturenames:
        request.getfixturevalue("client").set_cookie("lang", "en")


def english_client(app):
    client = app.test_client()
    client.set_cookie("lang", "en")
    return client
