"""The signed one-click rating link: it opens the recovery questionnaire of the surveys domain,
through one invitation per complaint, and the submitted response becomes the complaint's rating."""

from __future__ import annotations

import sqlalchemy as sa

from survey_app.complaints import services
from survey_app.complaints.models import ComplaintEvent, EventKind, RecoveryRating, State
from survey_app.customers.models import Customer
from survey_app.extensions import db
from survey_app.surveys.models import Invitation, Questionnaire, Response, Status
from tests.conftest import csrf_token

EN = {"Accept-Language": "en"}


def _resolved(app, world, state=State.RESOLVED, with_customer=True):
    """A complaint in ``state`` (linked to customer C1 unless told not to): its tracking token
    and signed rating link."""
    with app.app_context():
        complaint = world.complaint_in(state)
        if with_customer:
            customer = db.session.scalar(sa.select(Customer).where(Customer.code == "C1"))
            if customer is None:
                customer = Customer(code="C1", name="李娜", email="lina@example.cn")
                db.session.add(customer)
                db.session.flush()
            complaint.customer_id = customer.id
        db.session.commit()
        return complaint.token, services.rating_token(complaint)


def _customer_id(app):
    with app.app_context():
        return db.session.scalar(sa.select(Customer.id).where(Customer.code == "C1"))


def _post(client, url, data):
    token = csrf_token(client, url)
    return client.post(url, data={"csrf_token": token, **data}, headers=EN)


def _answer_recovery(client, survey_url, satisfaction="4", nps="9", improve="快"):
    first = _post(
        client,
        survey_url,
        {
            "step": "1",
            "q_rec_satisfaction": satisfaction,
            "q_rec_speed": "3",
            "q_rec_staff": "5",
            "q_rec_resolved": "yes",
            "q_rec_nps": nps,
        },
    )
    assert first.status_code == 302, first.get_data(as_text=True)
    return _post(client, f"{survey_url}?step=2", {"step": "2", "q_rec_improve": improve})


def _count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_the_link_opens_the_recovery_survey_and_its_answers_rate_the_handling(
    app, client, http_world
):
    token, signed = _resolved(app, http_world)
    page = client.get(f"/complaint/t/{token}").get_data(as_text=True)
    assert f"/complaint/rate/{signed}" in page
    url = f"/complaint/rate/{signed}"
    opened = client.get(url)
    assert opened.status_code == 302 and "/i/" in opened.location
    survey_url = opened.location
    # a second click leads to the same single invitation
    assert client.get(url).location == survey_url
    with app.app_context():
        (invitation,) = db.session.scalars(sa.select(Invitation)).all()
        questionnaire = db.session.get(Questionnaire, invitation.questionnaire_id)
        assert questionnaire.template == "recovery" and questionnaire.status is Status.PUBLISHED
        assert invitation.purpose == "complaint"
        assert invitation.customer_id == _customer_id(app)
    assert "How did we handle your complaint?" in client.get(survey_url, headers=EN).get_data(
        as_text=True
    )
    done = _answer_recovery(client, survey_url)
    assert done.status_code == 302 and "done=1" in done.location
    with app.app_context():
        row = db.session.scalar(sa.select(RecoveryRating))
        response = db.session.scalar(sa.select(Response))
        assert (row.rating, row.recommend, row.comment) == (4, 9, "快")
        assert row.response_id == response.id and response.customer_id == _customer_id(app)
        kinds = db.session.scalars(
            sa.select(ComplaintEvent.kind).where(ComplaintEvent.complaint_id == row.complaint_id)
        ).all()
        assert EventKind.RATING in kinds
    page = client.get(url, headers=EN).get_data(as_text=True)
    assert "you rated our handling 4 of 5" in page
    assert "/complaint/rate/" not in client.get(f"/complaint/t/{token}").get_data(as_text=True)
    # the survey link cannot be answered twice: still one response, one rating
    again = client.get(survey_url, headers=EN).get_data(as_text=True)
    assert "already answered" in again
    with app.app_context():
        assert _count(Response) == 1 and _count(RecoveryRating) == 1


def test_each_complaint_gets_its_own_invitation_on_the_same_questionnaire(app, client, http_world):
    _t1, first = _resolved(app, http_world)
    _t2, second = _resolved(app, http_world, State.CLOSED, with_customer=False)
    a = client.get(f"/complaint/rate/{first}").location
    b = client.get(f"/complaint/rate/{second}").location
    assert a != b
    with app.app_context():
        invitations = db.session.scalars(sa.select(Invitation).order_by(Invitation.id)).all()
        assert len(invitations) == 2 and _count(Questionnaire) == 1
        assert invitations[1].customer_id is None  # a complaint not linked to a customer
    _answer_recovery(client, b, satisfaction="1", nps="2", improve="")
    with app.app_context():
        row = db.session.scalar(sa.select(RecoveryRating))
        assert (row.rating, row.recommend) == (1, 2)
        assert row.complaint_id == invitations[1].subject_id


def test_a_tampered_or_expired_link_shows_nothing(app, client, http_world):
    _token, signed = _resolved(app, http_world)
    assert client.get(f"/complaint/rate/{signed[:-2]}xx").status_code == 404
    with app.test_request_context(headers={"Accept-Language": "en"}):
        from survey_app.errors import NotFound

        try:
            services.complaint_for_rating(signed, max_age=-1)
        except NotFound as error:
            assert "expired" in str(error.message)
        else:
            raise AssertionError("an expired link was accepted")
    with app.app_context():
        assert _count(Invitation) == 0


def test_out_of_range_answers_are_refused_by_the_questionnaire(app, client, http_world):
    _token, signed = _resolved(app, http_world, State.CLOSED)
    survey_url = client.get(f"/complaint/rate/{signed}").location
    response = _post(
        client,
        survey_url,
        {"step": "1", "q_rec_satisfaction": "9", "q_rec_nps": "11", "q_rec_resolved": "yes"},
    )
    assert response.status_code == 200
    assert "field-error" in response.get_data(as_text=True)
    with app.app_context():
        assert _count(RecoveryRating) == 0


def test_no_rating_before_resolution(app, client, http_world):
    with app.app_context():
        complaint = http_world.open()
        db.session.commit()
        signed = services.rating_token(complaint)
    page = client.get(f"/complaint/rate/{signed}", headers=EN)
    assert page.status_code == 200
    assert "once the complaint is resolved" in page.get_data(as_text=True)
    with app.app_context():
        assert _count(Invitation) == 0 and _count(Questionnaire) == 0


def test_the_recovery_survey_answered_through_the_api_rates_the_handling(app, client, http_world):
    """The API writes a whole response in one statement (in autocommit on PostgreSQL); the
    recovery questionnaire's submission hook writes the rating in the same transaction."""
    _token, signed = _resolved(app, http_world)
    survey_url = client.get(f"/complaint/rate/{signed}").location
    invitation_token = survey_url.rstrip("/").split("/i/")[1].split("?")[0]
    answers = {"rec_satisfaction": 4, "rec_speed": 3, "rec_staff": 5, "rec_resolved": "yes"}
    answers |= {"rec_nps": 9, "rec_improve": "快"}
    sent = client.post(
        "/api/v1/survey-responses", json={"invitation_token": invitation_token, "answers": answers}
    )
    assert sent.status_code == 201, sent.get_json()
    with app.app_context():
        row = db.session.scalar(sa.select(RecoveryRating))
        assert (row.rating, row.recommend, row.comment) == (4, 9, "快")
        assert row.response_id == sent.get_json()["response_id"]
        assert _count(Response) == 1
    again = client.post(
        "/api/v1/survey-responses", json={"invitation_token": invitation_token, "answers": answers}
    )
    assert again.status_code == 409
    with app.app_context():
        assert _count(Response) == 1 and _count(RecoveryRating) == 1
