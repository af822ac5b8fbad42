"""Concurrency through the public interfaces: concurrent workflow transitions (one winner, no
lost update) and concurrent submissions of one invitation (one response)."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from survey_app.accounts import services as accounts
from survey_app.complaints import services as complaints
from survey_app.complaints.models import Complaint, ComplaintEvent, EventKind
from survey_app.errors import Conflict, DomainError
from survey_app.extensions import db
from survey_app.surveys.models import Response
from survey_app.taxonomy.services import by_code

THREADS = 4


def _together(app, work):
    """Run ``work(i)`` in THREADS threads, each in its own app context, released together."""
    barrier = threading.Barrier(THREADS)
    outcomes = [None] * THREADS

    def run(i):
        with app.app_context():
            try:
                barrier.wait()
                outcomes[i] = work(i)
            except Exception as error:  # the outcome is what the test asserts
                db.session.rollback()
                outcomes[i] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_concurrent_transitions_have_one_winner(app, make_user):
    staff_ids = [make_user("staff")[0] for _ in range(THREADS)]
    with app.app_context():
        complaint = complaints.open_complaint(
            complaints.Actor.customer(),
            channel=complaints.Channel.WEB,
            category_id=by_code("delivery").id,
            contact_name="Li",
            contact_phone="1",
            description="late",
        )
        db.session.commit()
        complaint_id = complaint.id

    def acknowledge(i):
        actor = complaints.Actor.of(accounts.get_user(staff_ids[i]))
        target = complaints.get_complaint(complaint_id)
        complaints.apply_action(target, "acknowledge", actor, expected_version=1)
        db.session.commit()
        return "ok"

    outcomes = _together(app, acknowledge)
    assert outcomes.count("ok") == 1, outcomes
    assert all(isinstance(o, DomainError) for o in outcomes if o != "ok"), outcomes
    with app.app_context():
        complaint = db.session.get(Complaint, complaint_id)
        assert complaint.state.value == "acknowledged" and complaint.version == 2
        states = db.session.scalar(
            sa.select(sa.func.count(ComplaintEvent.id)).where(
                ComplaintEvent.complaint_id == complaint_id,
                ComplaintEvent.kind == EventKind.STATE,
            )
        )
        assert states == 1


def test_concurrent_api_submissions_of_one_invitation_store_one_response(
    app, make_questionnaire, make_customer, make_invitation
):
    qid, _ = make_questionnaire("pulse")
    token = make_invitation(qid, make_customer())
    payload = {"invitation_token": token, "answers": {"csat": 5, "nps": 9}}

    def submit(_i):
        return app.test_client().post("/api/v1/survey-responses", json=payload).status_code

    outcomes = _together(app, submit)
    assert sorted(outcomes) == [201] + [409] * (THREADS - 1), outcomes
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Response.id))) == 1


def test_conflict_is_the_answer_to_a_stale_version(app, make_user):
    staff_id, _ = make_user("staff")
    with app.app_context():
        actor = complaints.Actor.of(accounts.get_user(staff_id))
        complaint = complaints.open_complaint(
            actor,
            channel=complaints.Channel.PHONE,
            category_id=by_code("delivery").id,
            contact_name="Li",
            contact_phone="1",
            description="late",
        )
        complaints.apply_action(complaint, "acknowledge", actor)
        db.session.commit()
        try:
            complaints.apply_action(complaint, "investigate", actor, expected_version=1)
        except Conflict:
            db.session.rollback()
        else:
            raise AssertionError("a stale version was accepted")
