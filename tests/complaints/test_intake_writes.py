"""A complaint is written with one INSERT of its row and one of its first event, outside the
unit of work: what the session holds afterwards must still be right, also after a rollback."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from survey_app.complaints import services
from survey_app.complaints.models import Complaint, ComplaintEvent, State
from survey_app.errors import Conflict
from survey_app.extensions import db


def test_a_new_complaint_is_fully_loaded_and_takes_its_defaults(world):
    complaint = world.open(description="Broken on arrival.")
    assert complaint.id is not None
    assert complaint.version == 1
    assert complaint.state is State.RECEIVED
    assert complaint.paused_seconds == 0  # a column default, read back from the row
    assert complaint.due_at == complaint.ack_due_at
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Complaint, complaint.id)
    assert (stored.description, stored.version) == ("Broken on arrival.", 1)
    events = db.session.scalars(
        sa.select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint.id)
    ).all()
    assert [(e.kind.value, e.to_state, e.version) for e in events] == [("created", "received", 1)]


def test_the_version_counter_guards_later_changes(world):
    complaint = world.open()
    db.session.commit()
    world.act(complaint, "acknowledge")
    db.session.commit()
    assert complaint.version == 2
    assert services.timeline(complaint, customer_view=False)[-1].version == 2
    with pytest.raises(Conflict):  # a page still showing version 1
        world.act(complaint, "investigate", expected_version=1)


def test_a_rolled_back_complaint_leaves_the_session(world):
    first = world.open(description="Rolled back.")
    first_id = first.id
    db.session.rollback()
    assert first not in db.session
    assert db.session.get(Complaint, first_id) is None or (
        db.session.get(Complaint, first_id).description != "Rolled back."
    )
    # SQLite gives the next row the same id: the session must not confuse the two
    second = world.open(description="Kept.")
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Complaint, second.id).description == "Kept."
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Complaint)
            .where(Complaint.description == "Rolled back.")
        )
        == 0
    )


def test_a_complaint_written_in_a_rolled_back_savepoint_leaves_the_session(world):
    kept = world.open(description="Outer.")
    savepoint = db.session.begin_nested()
    inner = world.open(description="Inner.")
    savepoint.rollback()
    assert inner not in db.session
    assert kept in db.session
    db.session.commit()
    assert db.session.scalars(sa.select(Complaint.description)).all() == ["Outer."]
