"""Staff send the exit questionnaire to a lost customer in one click; the answers fill the loss's
reasons through the surveys domain's "response submitted" hook."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from survey_app.churn.models import LossRecord
from survey_app.extensions import db
from survey_app.surveys.models import Invitation, Questionnaire
from tests.churn.scenario import AS_OF, build
from tests.conftest import csrf_token, post_form

EN = {"Accept-Language": "en"}


@pytest.fixture
def record_id(app, runner):
    with app.app_context():
        ids = build()
    assert runner.invoke(args=["churn", "recompute", "--as-of", AS_OF.isoformat()]).exit_code == 0
    with app.app_context():
        return db.session.scalar(
            sa.select(LossRecord.id).where(LossRecord.customer_id == ids["S1"])
        )


def _answer(client, url, data):
    token = csrf_token(client, url)
    return client.post(url, data={"csrf_token": token, "step": "1", **data}, headers=EN)


def test_one_click_from_the_register_then_the_answers_fill_the_reasons(app, record_id, login):
    staff = login("staff")
    register = staff.get("/churn/", headers=EN).get_data(as_text=True)
    action = f"/churn/losses/{record_id}/exit-questionnaire"
    assert action in register
    sent = post_form(staff, action, {}, form_url="/churn/")
    assert sent.status_code == 302 and sent.location.endswith(f"/churn/losses/{record_id}#exit")
    # a second click keeps the same single link
    post_form(staff, action, {}, form_url="/churn/")
    with app.app_context():
        (invitation,) = db.session.scalars(sa.select(Invitation)).all()
        record = db.session.get(LossRecord, record_id)
        assert (invitation.purpose, invitation.subject_id) == ("loss", record_id)
        assert invitation.customer_id == record.customer_id
        questionnaire = db.session.get(Questionnaire, invitation.questionnaire_id)
        assert questionnaire.template == "exit" and questionnaire.status.value == "published"
        link = f"/i/{invitation.token}"
    page = staff.get(f"/churn/losses/{record_id}", headers=EN).get_data(as_text=True)
    assert f"http://localhost{link}" in page
    exported = staff.get("/churn/exit-links.csv")
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 2 and rows[1][5] == f"http://localhost{link}"

    customer = app.test_client()
    done = _answer(
        customer,
        link,
        {
            "q_exit_reasons": ["price", "need", "other"],
            "q_exit_satisfaction": "2",
            "q_exit_return": "3",
            "q_exit_win_back": "便宜一点",
        },
    )
    assert done.status_code == 302 and "done=1" in done.location
    with app.app_context():
        record = db.session.get(LossRecord, record_id)
        assert sorted(r.code for r in record.reasons) == ["no_longer_needed", "price"]
        assert record.learnt_how.value == "exit_survey"
        assert "便宜一点" in record.note
    page = staff.get(f"/churn/losses/{record_id}", headers=EN).get_data(as_text=True)
    assert "Answered on" in page
    # answered links leave the export
    exported = staff.get("/churn/exit-links.csv").get_data(as_text=True)
    assert link not in exported


def test_no_exit_questionnaire_for_a_won_back_customer(app, record_id, login):
    with app.app_context():
        won_back = db.session.scalar(
            sa.select(LossRecord.id).where(LossRecord.won_back_on.is_not(None))
        )
    staff = login("staff")
    refused = post_form(
        staff, f"/churn/losses/{won_back}/exit-questionnaire", {}, form_url="/churn/"
    )
    assert refused.status_code == 302
    page = staff.get(f"/churn/losses/{won_back}", headers=EN).get_data(as_text=True)
    assert "no exit questionnaire is needed" in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 0


def test_managers_cannot_send_it(app, record_id, login):
    manager = login("manager")
    forbidden = post_form(
        manager, f"/churn/losses/{record_id}/exit-questionnaire", {}, form_url="/churn/"
    )
    assert forbidden.status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 0
