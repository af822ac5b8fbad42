"""Answering as a customer: public link and personal invitation, over HTTP."""

from __future__ import annotations

import re
import threading

import sqlalchemy as sa

from survey_app.extensions import db
from survey_app.surveys import queries, services
from survey_app.surveys.models import Answer, Invitation, Question, Response
from tests.conftest import csrf_token

ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}


def _post(client, url, data, headers=EN, form_url=None):
    token = csrf_token(client, form_url or url)
    return client.post(url, data={"csrf_token": token, **data}, headers=headers)


def _responses(app):
    with app.app_context():
        return db.session.scalars(sa.select(Response).order_by(Response.id)).all()


def test_public_pulse_in_two_steps_with_condition(app, client, make_questionnaire):
    _qid, token = make_questionnaire("pulse")
    url = f"/s/{token}"
    page = client.get(url, headers=ZH).get_data(as_text=True)
    assert "服务满意度快速调查" in page and "总体而言" in page
    assert 'name="q_csat"' in page and 'name="q_nps"' in page

    answer = _post(client, url, {"step": "1", "q_csat": "2", "q_nps": "3"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("?step=2")
    second = client.get(answer.headers["Location"], headers=EN).get_data(as_text=True)
    # csat 2 <= 3: the "what went wrong" question is shown
    assert "What went wrong?" in second and "Step 2 of 2" in second

    done = _post(client, url + "?step=2", {"step": "2", "q_what_wrong": "Late =delivery"})
    assert done.status_code == 302 and "done=1" in done.headers["Location"]
    assert "Thank you" in client.get(done.headers["Location"], headers=EN).get_data(as_text=True)

    (response,) = _responses(app)
    assert response.submitted_at is not None and response.customer_id is None
    with app.app_context():
        rows = db.session.execute(
            sa.select(Question.code, Answer.value_num, Answer.value_text).join(Question)
        ).all()
    assert sorted(rows, key=lambda r: r[0]) == [
        ("csat", 2.0, None),
        ("nps", 3.0, None),
        ("what_wrong", None, "Late =delivery"),
    ]
    # the same browser may answer a public link again (not one-per-browser): a fresh attempt
    again = client.get(url, headers=EN).get_data(as_text=True)
    assert 'name="q_csat"' in again


def test_hidden_question_is_skipped_when_condition_not_met(app, client, make_questionnaire):
    _qid, token = make_questionnaire("pulse")
    url = f"/s/{token}"
    first = _post(client, url, {"step": "1", "q_csat": "5", "q_nps": "10"})
    page = client.get(first.headers["Location"], headers=EN).get_data(as_text=True)
    assert "What went wrong?" not in page and "Anything else" in page


def test_validation_errors_sit_next_to_fields_and_keep_answers(app, client, make_questionnaire):
    _qid, token = make_questionnaire("pulse")
    url = f"/s/{token}"
    page = _post(client, url, {"step": "1", "q_nps": "7"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert re.search(r'id="q_csat-error"[^>]*>\s*Please answer this question', html)
    assert re.search(r'name="q_nps" value="7"\s+checked', html)
    out_of_range = _post(client, url, {"step": "1", "q_csat": "9", "q_nps": "11"})
    assert out_of_range.status_code == 200
    assert out_of_range.get_data(as_text=True).count("Pick a point on the scale") == 2
    assert _responses(app) == []


def test_invitation_links_the_customer_saves_and_resumes(
    app, client, make_questionnaire, make_customer, make_invitation
):
    qid, _token = make_questionnaire("ecsi")
    customer_id = make_customer()
    token = make_invitation(qid, customer_id)
    url = f"/i/{token}"
    first = client.get(url, headers=EN).get_data(as_text=True)
    assert "Step 1 of 6" in first and "Trustworthy and reliable" in first
    saved = _post(
        client,
        url,
        {
            "step": "1",
            "q_image__img_reliable": "8",
            "q_image__img_innovative": "7",
            "q_image__img_society": "9",
        },
    )
    assert saved.status_code == 302
    with app.app_context():
        invitation = db.session.scalar(sa.select(Invitation))
        assert invitation.opened_at is not None and invitation.completed_at is None
    # a new browser with the same personal link resumes at step 2, keeping step 1's answers
    other = app.test_client()
    resumed = other.get(url, headers=EN).get_data(as_text=True)
    assert "Step 2 of 6" in resumed
    back = other.get(url + "?step=1", headers=EN).get_data(as_text=True)
    assert re.search(r'name="q_image__img_society" value="9"\s+checked', back)
    (response,) = _responses(app)
    assert response.customer_id == customer_id and response.submitted_at is None


def test_anonymous_questionnaire_stores_no_customer(
    app, client, make_questionnaire, make_customer, make_invitation
):
    qid, _ = make_questionnaire("pulse", anonymous=True)
    token = make_invitation(qid, make_customer())
    url = f"/i/{token}"
    _post(client, url, {"step": "1", "q_csat": "5", "q_nps": "9"})
    _post(client, url + "?step=2", {"step": "2"})
    (response,) = _responses(app)
    assert response.submitted_at is not None and response.customer_id is None
    assert response.invitation_id is not None


def test_used_expired_closed_and_unknown_links_are_friendly(
    app, client, make_questionnaire, make_customer, make_invitation
):
    qid, public = make_questionnaire("pulse")
    used = make_invitation(qid, make_customer())
    _post(client, f"/i/{used}", {"step": "1", "q_csat": "4", "q_nps": "8"})
    _post(client, f"/i/{used}?step=2", {"step": "2"})
    page = client.get(f"/i/{used}", headers=EN)
    assert page.status_code == 200 and "already answered" in page.get_data(as_text=True)
    replay = _post(client, f"/i/{used}?step=2", {"step": "2"}, form_url="/login")
    assert replay.status_code == 200 and "already answered" in replay.get_data(as_text=True)

    expired = make_invitation(qid, make_customer(), days=-1)
    page = client.get(f"/i/{expired}", headers=EN)
    assert page.status_code == 410 and "expired" in page.get_data(as_text=True)

    assert client.get("/i/no-such-token").status_code == 404
    assert client.get("/s/no-such-token").status_code == 404

    closed_id, closed_token = make_questionnaire("recovery")
    with app.app_context():
        from survey_app.surveys import services

        services.change_status(None, services.get_questionnaire(closed_id), "close")
        db.session.commit()
    page = client.get(f"/s/{closed_token}", headers=EN)
    assert page.status_code == 410 and "This survey is closed" in page.get_data(as_text=True)
    assert len(_responses(app)) == 1


def test_one_response_per_browser(app, client, make_questionnaire):
    _qid, token = make_questionnaire("exit", one_per_browser=True)
    url = f"/s/{token}"
    data = {
        "step": "1",
        "q_exit_reasons": ["price", "service"],
        "q_exit_satisfaction": "2",
        "q_exit_return": "4",
    }
    first = _post(client, url, data)
    assert first.status_code == 302 and "done=1" in first.headers["Location"]
    again = client.get(url, headers=EN)
    assert "already answered" in again.get_data(as_text=True)
    assert len(_responses(app)) == 1
    with app.app_context():
        chosen = db.session.scalars(
            sa.select(Answer.value_text).where(Answer.value_text.is_not(None)).order_by(Answer.id)
        ).all()
    assert chosen == ["price", "service"]


def test_language_follows_the_page_with_fallback(app, client, make_questionnaire):
    qid, token = make_questionnaire("pulse")
    with app.app_context():
        from survey_app.surveys import services

        questionnaire = services.get_questionnaire(qid)
        questionnaire.title_en = ""  # English visitors fall back to the Chinese title
        db.session.commit()
    page = client.get(f"/s/{token}", headers=EN).get_data(as_text=True)
    assert "服务满意度快速调查" in page and "Overall, how satisfied" in page


def test_concurrent_double_submission_stores_one_response(
    app, make_questionnaire, make_customer, make_invitation
):
    qid, _ = make_questionnaire("exit")
    token = make_invitation(qid, make_customer())
    url = f"/i/{token}"
    clients = [app.test_client(), app.test_client()]
    tokens = [csrf_token(c, url) for c in clients]
    data = {
        "step": "1",
        "q_exit_reasons": "price",
        "q_exit_satisfaction": "3",
        "q_exit_return": "4",
    }
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def submit(i):
        barrier.wait()
        results[i] = clients[i].post(url, data={"csrf_token": tokens[i], **data}, headers=EN)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 302], statuses
    polite = next(r for r in results if r.status_code == 200).get_data(as_text=True)
    assert "already answered" in polite
    (response,) = _responses(app)
    assert response.submitted_at is not None
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count(Answer.id)))
        counted, _results = queries.question_results(
            services.get_questionnaire(qid), queries.Filters()
        )
        (satisfaction,) = [r for r in _results if r.question.code == "exit_satisfaction"]
    assert count == 3
    assert counted == 1 and satisfaction.scales[0].counts == {3: 1}  # counted once


def test_replaying_the_last_page_of_a_public_link_stores_nothing_new(
    app, client, make_questionnaire
):
    _qid, token = make_questionnaire("exit")
    url = f"/s/{token}"
    form = client.get(url, headers=EN).get_data(as_text=True)
    attempt = re.search(r'name="attempt" value="([^"]+)"', form).group(1)
    data = {
        "step": "1",
        "attempt": attempt,
        "q_exit_reasons": "price",
        "q_exit_satisfaction": "3",
        "q_exit_return": "2",
    }
    assert "done=1" in _post(client, url, data).headers["Location"]
    replay = _post(client, url, data, form_url="/login")  # back button, then submit again
    assert replay.status_code == 200 and "already answered" in replay.get_data(as_text=True)
    assert len(_responses(app)) == 1
    # a fresh visit is a new attempt: the same browser may answer the public link again
    fresh = client.get(url, headers=EN).get_data(as_text=True)
    assert re.search(r'name="attempt" value="([^"]+)"', fresh).group(1) != attempt
