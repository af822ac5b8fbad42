"""A complaint is written with one INSERT of its row and one of its first event, outside the
unit of work, with no read before (its category is checked by the INSERT, its SLA settings come
from a per-process copy): what the session holds afterwards must still be right, also after a
rollback, and nothing is written for a refused category."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from survey_app.bulk import NotWritten, Rows, Source, insert_one
from survey_app.complaints import services
from survey_app.complaints.models import Complaint, ComplaintEvent, Severity, SlaTarget, State
from survey_app.errors import Conflict, DomainError
from survey_app.extensions import db


def test_a_new_complaint_is_fully_loaded_and_takes_its_defaults(world):
    complaint = world.open(description="Broken on arrival.")
    assert complaint.id is not None
    assert complaint.version == 1
    assert complaint.state is State.RECEIVED
    assert complaint.paused_seconds == 0  # a column default, read back from the row
    assert complaint.due_at == complaint.ack_due_at
    # every column is loaded (none read later), as stored: the values it was given, the
    # defaults, the columns left NULL and the ones the INSERT filled in
    state = sa.inspect(complaint)
    table = Complaint.__table__
    assert not state.unloaded & set(table.c.keys())
    stored = db.session.execute(sa.select(table).where(table.c.id == complaint.id)).one()
    assert {key: state.dict[key] for key in table.c.keys()} == stored._asdict()
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


def test_a_category_closed_to_complaints_writes_nothing(world):
    category = world.category
    category.for_complaints = False
    db.session.commit()
    with pytest.raises(DomainError, match="Choose a category") as refused:
        world.open()
    assert refused.value.field == "category_id"
    category.for_complaints, category.active = True, False
    db.session.commit()
    with pytest.raises(DomainError, match="Choose a category"):
        world.open(category_id=None, category_code="delivery")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Complaint)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ComplaintEvent)) == 0


def test_a_complaint_takes_the_queue_its_category_is_routed_to_by_code(world):
    queue = services.save_queue(
        world.actor("admin"),
        None,
        name="Logistics",
        member_ids=[],
        category_ids=[world.category_id],
    )
    db.session.commit()
    complaint = world.open(category_id=None, category_code="delivery")
    assert (complaint.category_id, complaint.queue_id) == (world.category_id, queue.id)


def _delivery(params=None):
    return Source(
        (("category_id", "reasons.id"),),
        "FROM reasons WHERE reasons.code = :category",
        (("category", sa.String()),),
        params or {"category": "delivery"},
    )


def _copy_of(complaint: Complaint, **changes) -> Complaint:
    columns = ("code", "token", "contact_name", "description", "created_at", "clock_started_at")
    return Complaint(**{c: getattr(complaint, c) for c in columns} | changes)


def _event_of(complaint: Complaint) -> Rows:
    event = {"complaint_id": None, "at": complaint.created_at, "kind": "created", "version": 1}
    event |= {"actor_kind": "system", "action": "", "from_state": "", "to_state": "received"}
    event |= {"body": "", "visible_to_customer": True}
    return Rows(ComplaintEvent.__table__, tuple(event), [event], parent="complaint_id")


def test_insert_one_with_a_source_writes_nothing_when_the_query_finds_no_row(world):
    existing = world.open()
    db.session.commit()
    stray = _copy_of(existing, code="TSNOTHERE1", token="t-not-there")
    with pytest.raises(NotWritten):
        insert_one(stray, _event_of(stray), source=_delivery({"category": "no-such-category"}))
    written = _copy_of(existing, code="TSWRITTEN1", token="t-written")
    insert_one(written, _event_of(written), source=_delivery())
    db.session.commit()
    assert written.category_id == world.category_id  # taken from the query, read back
    assert written.paused_seconds == 0  # a column default the INSERT applied
    counts = db.session.execute(
        sa.select(ComplaintEvent.complaint_id, sa.func.count()).group_by(
            ComplaintEvent.complaint_id
        )
    ).all()
    assert sorted(counts) == sorted([(existing.id, 1), (written.id, 1)])


def test_insert_one_with_a_source_writes_nothing_when_a_unique_key_is_taken(world):
    existing = world.open()
    db.session.commit()
    duplicate = _copy_of(existing, token="another-token")  # the same reference code
    with pytest.raises(NotWritten):
        insert_one(duplicate, _event_of(duplicate), source=_delivery())
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Complaint)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ComplaintEvent)) == 1


def test_settings_changed_by_another_worker_apply_within_the_cache_time(world, app):
    now = world.tick()
    assert world.open(severity=Severity.MEDIUM, now=now).ack_due_at == now + timedelta(hours=8)
    db.session.commit()
    # another worker saves new targets: this process learns of it when its copy is too old
    with db.engine.begin() as other_worker:
        other_worker.execute(
            sa.insert(SlaTarget),
            [{"severity": "medium", "tier": "general", "ack_minutes": 90, "resolve_minutes": 600}],
        )
    app.config["SETTINGS_CACHE_SECONDS"] = 3600
    assert world.open(severity=Severity.MEDIUM, now=now).ack_due_at == now + timedelta(hours=8)
    app.config["SETTINGS_CACHE_SECONDS"] = 0
    assert world.open(severity=Severity.MEDIUM, now=now).ack_due_at == now + timedelta(minutes=90)


def test_settings_saved_in_a_rolled_back_transaction_are_not_kept(world):
    now = world.tick()
    services.save_sla_targets(world.actor("admin"), {(Severity.MEDIUM, "general"): (90, 600)})
    seen = world.open(severity=Severity.MEDIUM, now=now)  # this transaction sees its own change
    assert seen.ack_due_at == now + timedelta(minutes=90)
    db.session.rollback()
    after = world.open(severity=Severity.MEDIUM, now=now)
    assert after.ack_due_at == now + timedelta(hours=8)


def test_a_reference_code_already_taken_is_drawn_again(world, monkeypatch):
    first = world.open()
    db.session.commit()
    alphabet = services.CODE_ALPHABET
    # the number the first code was drawn from: its characters are base-31 digits, lowest first
    repeat = sum(alphabet.index(c) * len(alphabet) ** i for i, c in enumerate(first.code[2:]))
    drawn = iter([repeat, len(alphabet) ** 8 - 1])  # the next draw repeats it, then the top one
    monkeypatch.setattr(services.secrets, "randbelow", lambda n: next(drawn))
    second = world.open(description="Second.")
    db.session.commit()
    assert second.code == "TS99999999"
    events = db.session.execute(
        sa.select(ComplaintEvent.complaint_id, sa.func.count()).group_by(
            ComplaintEvent.complaint_id
        )
    ).all()
    assert sorted(events) == sorted([(first.id, 1), (second.id, 1)])
