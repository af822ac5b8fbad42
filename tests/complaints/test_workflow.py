"""Every (state, action, actor) combination from the workflow table: allowed ones move the
complaint and leave an event; all others are refused and change nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from survey_app.complaints import workflow
from survey_app.complaints.models import ComplaintEvent, State
from survey_app.errors import DomainError
from survey_app.extensions import db

ACTORS = ("staff", "manager", "admin", "customer", "system")


def _events(complaint):
    return db.session.scalar(
        sa.select(sa.func.count()).where(ComplaintEvent.complaint_id == complaint.id)
    )


def test_the_table_reaches_every_state_and_every_action_has_a_label():
    reachable = {State.RECEIVED} | {t.new_state for t in workflow.TRANSITIONS}
    assert reachable == set(State)
    assert set(workflow.ACTIONS) <= set(workflow.ACTION_LABELS)
    assert set(workflow.STATE_LABELS) == set(State)


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("state", list(State), ids=lambda s: s.value)
def test_every_action_in_every_state(world, state, actor):
    for action in workflow.ACTIONS:
        complaint = world.complaint_in(state)
        db.session.commit()
        version, events = complaint.version, _events(complaint)
        transition = workflow.find(state, action)
        allowed = transition is not None and workflow.actor_may(transition.roles, actor)
        if allowed:
            event = world.act(complaint, action, actor)
            assert complaint.state is transition.new_state, (state, action, actor)
            assert complaint.version == version + 1
            assert event.action == action and event.to_state == transition.new_state.value
            assert _events(complaint) >= events + 1
        else:
            with pytest.raises(DomainError) as refused:
                world.act(complaint, action, actor)
            db.session.rollback()
            db.session.refresh(complaint)
            assert complaint.state is state
            assert complaint.version == version
            assert _events(complaint) == events
            message = str(refused.value.message)
            assert ("not possible" in message) if transition is None else ("may not" in message)


def test_admin_may_do_what_staff_and_managers_may_but_not_the_customers_part():
    assert workflow.actor_may(frozenset({"staff"}), "admin")
    assert workflow.actor_may(frozenset({"manager"}), "admin")
    assert not workflow.actor_may(frozenset({"customer"}), "admin")
    assert not workflow.actor_may(frozenset({"system"}), "admin")


@pytest.mark.parametrize(
    ("action", "field"),
    [("propose", "text"), ("withdraw", "text"), ("reject", "text")],
)
def test_actions_that_need_a_text_refuse_an_empty_one(world, action, field):
    complaint = world.complaint_in(State.INVESTIGATING)
    with pytest.raises(DomainError) as refused:
        world.act(complaint, action, "manager", text="  ")
    assert refused.value.field == field


def test_closing_needs_a_root_cause_and_a_corrective_action(world):
    complaint = world.complaint_in(State.RESOLVED)
    with pytest.raises(DomainError) as no_cause:
        world.act(complaint, "close", root_cause_id=None)
    assert no_cause.value.field == "root_cause_id"
    with pytest.raises(DomainError) as no_action:
        world.act(complaint, "close", corrective_action=" ")
    assert no_action.value.field == "corrective_action"
    world.act(complaint, "close", root_cause_text="Tape ran out")
    assert complaint.state is State.CLOSED
    assert complaint.root_cause_id == world.cause.id
    assert complaint.corrective_action == "Retrain packers"


def test_a_customer_reopens_only_within_the_window(world):
    from datetime import timedelta

    from survey_app.complaints.services import REOPEN_DAYS

    complaint = world.complaint_in(State.CLOSED)
    late = world.clock + timedelta(days=REOPEN_DAYS + 1)
    with pytest.raises(DomainError):
        world.act(complaint, "reopen", "customer", now=late)
    world.act(complaint, "reopen", "staff", now=late)  # staff may, any time
    assert complaint.state is State.REOPENED and complaint.reopen_count == 1


def test_timeline_rows_cannot_be_changed(world):
    complaint = world.complaint_in(State.ACKNOWLEDGED)
    event = db.session.scalars(
        sa.select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint.id)
    ).first()
    event.body = "rewritten history"
    with pytest.raises(DomainError):
        db.session.flush()
    db.session.rollback()
