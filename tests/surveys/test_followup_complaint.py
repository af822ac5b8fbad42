"""Closing the loop: a low survey score becomes a complaint case in one click."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from survey_app.complaints.models import Channel as ComplaintChannel
from survey_app.complaints.models import Complaint
from survey_app.extensions import db
from survey_app.surveys import services
from survey_app.surveys.demo import bulk_responses
from survey_app.surveys.models import Channel, Response
from tests.conftest import csrf_token


def _detractor(app, questionnaire_id, customer_id):
    with app.app_context():
        bulk_responses(
            services.get_questionnaire(questionnaire_id),
            [
                {
                    "submitted_at": datetime.now(UTC),
                    "customer_id": customer_id,
                    "channel": Channel.INVITATION if customer_id else Channel.PUBLIC,
                    "answers": {"csat": 1, "nps": 2, "what_wrong": "退款一直没到账"},
                }
            ],
        )
        db.session.commit()
        return db.session.scalar(sa.select(sa.func.max(Response.id)))


def test_staff_open_a_linked_prefilled_case_from_a_detractor(
    app, login, make_questionnaire, make_customer
):
    qid, _ = make_questionnaire("pulse")
    customer_id = make_customer("韩梅梅")
    response_id = _detractor(app, qid, customer_id)
    client = login("staff")
    page = client.get(f"/surveys/responses/{response_id}", headers={"Accept-Language": "en"})
    assert "Open a complaint case" in page.get_data(as_text=True)

    token = csrf_token(client, f"/surveys/responses/{response_id}")
    response = client.post(
        f"/complaints/from-survey-response/{response_id}", data={"csrf_token": token}
    )
    assert response.status_code == 302
    with app.app_context():
        complaint = db.session.scalar(sa.select(Complaint))
        assert complaint.survey_response_id == response_id
        assert complaint.customer_id == customer_id
        assert complaint.channel is ComplaintChannel.SURVEY
        assert "退款一直没到账" in complaint.description
        assert complaint.contact_name == "韩梅梅"
        code, complaint_id = complaint.code, complaint.id
    assert response.headers["Location"].endswith(f"/complaints/{complaint_id}")

    # a second click lands on the same case; the response page now links to it
    again = client.post(
        f"/complaints/from-survey-response/{response_id}", data={"csrf_token": token}
    )
    assert again.headers["Location"].endswith(f"/complaints/{complaint_id}")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Complaint)) == 1
    page = client.get(f"/surveys/responses/{response_id}").get_data(as_text=True)
    assert code in page and "from-survey-response" not in page


def test_an_anonymous_response_offers_no_case(app, login, make_questionnaire):
    qid, _ = make_questionnaire("pulse")
    response_id = _detractor(app, qid, None)
    client = login("staff")
    page = client.get(f"/surveys/responses/{response_id}").get_data(as_text=True)
    assert "from-survey-response" not in page
    response = client.post(
        f"/complaints/from-survey-response/{response_id}",
        data={"csrf_token": csrf_token(client, "/surveys/followups")},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 400
    assert "nobody to contact" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Complaint)) == 0


def test_unknown_response_is_404(login):
    client = login("staff")
    token = csrf_token(client, "/surveys/followups")
    response = client.post("/complaints/from-survey-response/999999", data={"csrf_token": token})
    assert response.status_code == 404
