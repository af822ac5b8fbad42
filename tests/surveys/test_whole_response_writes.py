"""A whole response (the API's) is written in one statement on PostgreSQL, which may run in
autocommit: the invitation's single-use claim comes first, and when another request made it in
the meantime nothing at all is written."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from survey_app.bulk import autocommit_one_write
from survey_app.db_types import utcnow
from survey_app.extensions import db
from survey_app.surveys import services
from survey_app.surveys.models import Answer, Channel, Invitation, Response, ResultCount
from survey_app.surveys.services import AlreadyAnswered


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_nothing_is_written_when_the_invitation_was_claimed_after_it_was_read(
    app, make_questionnaire, make_customer, make_invitation
):
    qid, _public = make_questionnaire("pulse")
    token = make_invitation(qid, make_customer())
    with app.app_context():
        autocommit_one_write()  # as the API does (on PostgreSQL; nothing changes on SQLite)
        answering = services.invitation_to_answer(token)
        services.check_answerable(answering)
        version = services.answering_version(answering.version_key)
        csat = next(q for s in version.sections for q in s.questions if q.code == "csat")
        with db.engine.begin() as other_request:  # answers the same link first
            other_request.execute(
                sa.update(Invitation)
                .where(Invitation.id == answering.invitation_id)
                .values(completed_at=utcnow())
            )
        with pytest.raises(AlreadyAnswered):
            services.submit_whole(answering, version, {(csat.id, None): [4]}, language="zh_Hans")
        assert (_count(Response), _count(Answer), _count(ResultCount)) == (0, 0, 0)


def test_a_whole_response_is_written_with_its_answers_counts_and_claim(
    app, make_questionnaire, make_customer, make_invitation
):
    qid, _public = make_questionnaire("pulse")
    token = make_invitation(qid, make_customer(segment="大客户"))
    with app.app_context():
        autocommit_one_write()
        answering = services.invitation_to_answer(token)
        invitation = db.session.get(Invitation, answering.invitation_id)
        assert (answering.questionnaire_id, answering.customer_id) == (
            qid,
            invitation.customer_id,
        )
        assert answering.segment == "大客户"  # read with the invitation, for the result counts
        assert answering.completed_at is None and answering.expires_at > utcnow()
        version = services.answering_version(answering.version_key)
        csat = next(q for s in version.sections for q in s.questions if q.code == "csat")
        response = services.submit_whole(
            answering, version, {(csat.id, None): [4]}, language="zh_Hans"
        )
        db.session.commit()
        assert response.submitted_at is not None and response.invitation_id == invitation.id
        assert response.channel is Channel.INVITATION
        assert (response.customer_id, response.segment) == (invitation.customer_id, "大客户")
        db.session.expire_all()
        assert db.session.get(Invitation, invitation.id).completed_at is not None
        assert db.session.scalars(sa.select(Answer.value_num)).all() == [4.0]
        assert db.session.scalar(sa.select(sa.func.sum(ResultCount.count))) >= 1
