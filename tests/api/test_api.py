"""The integration API through HTTP: complaints, survey responses, imports, customers, errors."""

from __future__ import annotations

import sqlalchemy as sa

from survey_app.complaints.models import Complaint, ComplaintEvent
from survey_app.customers.models import Customer, Transaction
from survey_app.extensions import db
from survey_app.surveys.models import Answer, Question, Response
from survey_app.taxonomy.models import Reason

COMPLAINT = {
    "category": "delivery",
    "contact_name": "王芳",
    "contact_phone": "13800001111",
    "description": "The parcel arrived broken.",
}


def test_public_complaint_and_its_status_reveal_nothing_personal(app, client):
    created = client.post("/api/v1/complaints", json=COMPLAINT)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["state"] == "received" and body["code"].startswith("TS")
    with app.app_context():
        complaint = db.session.scalar(sa.select(Complaint))
        assert complaint.channel.value == "web" and complaint.contact_name == "王芳"
        assert body["tracking_url"].endswith(f"/complaint/t/{complaint.token}")

    status = client.get(f"/api/v1/complaints/{body['code'].lower()}/status")
    assert status.status_code == 200
    shown = status.get_json()
    assert shown["state"] == "received" and shown["acknowledged_at"] is None
    text = status.get_data(as_text=True)
    for secret in ("王芳", "13800001111", "broken", complaint.token):
        assert secret not in text
    assert client.get("/api/v1/complaints/TSNOSUCH00/status").status_code == 404


def test_customer_cannot_set_staff_fields_but_staff_key_can(app, client, api_key):
    customer = client.post(
        "/api/v1/complaints", json={**COMPLAINT, "severity": "critical", "channel": "phone"}
    )
    assert customer.status_code == 201
    staff = client.post(
        "/api/v1/complaints",
        json={**COMPLAINT, "severity": "critical", "channel": "phone"},
        headers=api_key("staff"),
    )
    assert staff.status_code == 201
    with app.app_context():
        rows = db.session.execute(
            sa.select(Complaint.code, Complaint.severity, Complaint.channel)
        ).all()
    by_code = {code: (sev.value, ch.value) for code, sev, ch in rows}
    assert by_code[customer.get_json()["code"]] == ("medium", "web")
    assert by_code[staff.get_json()["code"]] == ("critical", "phone")


def test_a_complaint_to_a_closed_category_writes_nothing_and_the_next_is_whole(app, client):
    """On PostgreSQL a public complaint is one statement in autocommit: a refused one leaves no
    row, and the connection it used is transactional again afterwards."""
    with app.app_context():
        db.session.execute(sa.update(Reason).where(Reason.code == "price").values(active=False))
        db.session.commit()
    refused = client.post("/api/v1/complaints", json={**COMPLAINT, "category": "price"})
    assert refused.status_code == 422
    assert set(refused.get_json()["error"]["fields"]) == {"category"}
    filed = client.post("/api/v1/complaints", json=COMPLAINT)
    assert filed.status_code == 201
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Complaint)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ComplaintEvent)) == 1
        for _ in range(10):  # each connection of the pool in turn: a rollback undoes
            db.session.execute(sa.update(Complaint).values(description="changed"))
            db.session.rollback()
            db.session.close()
        assert db.session.scalar(sa.select(Complaint.description)) == COMPLAINT["description"]


def test_complaint_list_keyset_pages_and_filters(client, api_key):
    headers = api_key("staff")
    codes = []
    for n in range(7):
        severity = "high" if n % 2 else "low"
        answer = client.post(
            "/api/v1/complaints",
            json={**COMPLAINT, "description": f"case {n}", "severity": severity},
            headers=headers,
        )
        codes.append(answer.get_json()["code"])
    seen, cursor = [], None
    while True:
        query = {"limit": 3, **({"after": cursor} if cursor else {})}
        page = client.get("/api/v1/complaints", query_string=query, headers=headers).get_json()
        seen += [item["code"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == codes[::-1]
    high = client.get(
        "/api/v1/complaints", query_string={"severity": "high"}, headers=headers
    ).get_json()
    assert [i["code"] for i in high["items"]] == [codes[5], codes[3], codes[1]]
    assert {i["severity"] for i in high["items"]} == {"high"}
    bad = client.get("/api/v1/complaints", query_string={"limit": 0}, headers=headers)
    assert bad.status_code == 422 and "limit" in bad.get_json()["error"]["fields"]
    for path in ("/api/v1/complaints", "/api/v1/customers"):
        typo = client.get(path, query_string={"limt": 3}, headers=headers)
        assert typo.status_code == 422 and "limt" in typo.get_json()["error"]["fields"]


def test_survey_response_through_invitation_once(
    app, client, make_questionnaire, make_customer, make_invitation
):
    qid, _token = make_questionnaire("pulse")
    token = make_invitation(qid, make_customer())
    payload = {"invitation_token": token, "answers": {"csat": 2, "nps": "3", "what_wrong": "Late"}}
    first = client.post("/api/v1/survey-responses", json=payload)
    assert first.status_code == 201, first.get_json()
    assert "Set-Cookie" not in first.headers  # the API starts no session
    again = client.post("/api/v1/survey-responses", json=payload)
    assert again.status_code == 409
    assert again.get_json()["error"]["status"] == 409
    with app.app_context():
        (response,) = db.session.scalars(sa.select(Response)).all()
        assert response.submitted_at is not None and response.invitation_id is not None
        answers = dict(
            db.session.execute(
                sa.select(Question.code, sa.func.coalesce(Answer.value_text, ""))
                .join(Question)
                .where(Answer.response_id == response.id)
            ).all()
        )
    assert answers["what_wrong"] == "Late" and set(answers) == {"csat", "nps", "what_wrong"}


def test_survey_response_validation_names_the_questions(
    app, client, make_questionnaire, make_customer, make_invitation
):
    qid, _token = make_questionnaire("pulse")
    token = make_invitation(qid, make_customer())
    wrong = client.post(
        "/api/v1/survey-responses",
        json={"invitation_token": token, "answers": {"csat": 9, "nope": 1}},
    )
    assert wrong.status_code == 422
    assert "nope" in wrong.get_json()["error"]["fields"]
    out_of_scale = client.post(
        "/api/v1/survey-responses", json={"invitation_token": token, "answers": {"csat": 9}}
    )
    assert out_of_scale.status_code == 422
    assert set(out_of_scale.get_json()["error"]["fields"]) >= {"csat", "nps"}
    unknown = client.post(
        "/api/v1/survey-responses", json={"invitation_token": "x" * 40, "answers": {}}
    )
    assert unknown.status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Response.id))) == 0


def test_imports_are_idempotent_by_external_id(app, client, api_key):
    headers = api_key("staff")
    customers = {
        "customers": [
            {"code": "C1", "name": "Acme", "segment": "零售", "email": "a@example.com"},
            {"code": "C2", "name": "Beta"},
        ]
    }
    first = client.post("/api/v1/customers/import", json=customers, headers=headers)
    assert first.get_json() == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "recompute_job_id": None,
    }
    again = client.post("/api/v1/customers/import", json=customers, headers=headers)
    assert again.get_json() == {
        "created": 0,
        "updated": 0,
        "unchanged": 2,
        "recompute_job_id": None,
    }
    customers["customers"][1]["name"] = "Beta Ltd"
    changed = client.post("/api/v1/customers/import", json=customers, headers=headers)
    assert changed.get_json() == {
        "created": 0,
        "updated": 1,
        "unchanged": 1,
        "recompute_job_id": None,
    }

    sales = {
        "transactions": [
            {
                "external_id": "T1",
                "customer_code": "C1",
                "occurred_on": "2026-01-05",
                "amount": "100.00",
                "margin": 30,
            },
            {
                "external_id": "T2",
                "customer_code": "C2",
                "occurred_on": "2026-02-05",
                "amount": 50.5,
                "margin": "10.25",
            },
        ]
    }
    created = client.post("/api/v1/transactions/import", json=sales, headers=headers).get_json()
    job_id = created.pop("recompute_job_id")
    assert created == {"created": 2, "updated": 0, "unchanged": 0}
    with app.app_context():
        from survey_app.churn import services as churn_services
        from survey_app.churn.models import CustomerStatus
        from survey_app.jobs.models import JobStatus

        job = churn_services.get_job(job_id)
        assert job.status == JobStatus.QUEUED  # the batch answered without recomputing
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CustomerStatus)) == 0
    assert client.post("/api/v1/transactions/import", json=sales, headers=headers).get_json() == {
        "created": 0,
        "updated": 0,
        "unchanged": 2,
        "recompute_job_id": None,
    }
    sales["transactions"][1]["amount"] = 60
    changed = client.post("/api/v1/transactions/import", json=sales, headers=headers).get_json()
    assert changed["updated"] == 1 and changed["recompute_job_id"] == job_id  # joins the queue
    bad = client.post(
        "/api/v1/transactions/import",
        json={
            "transactions": [
                {**sales["transactions"][0], "external_id": "T9", "customer_code": "NOPE"}
            ]
        },
        headers=headers,
    )
    assert bad.status_code == 422 and "transactions[0]" in bad.get_json()["error"]["fields"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Customer.id))) == 2
        assert db.session.scalar(sa.select(sa.func.count(Transaction.id))) == 2
        assert (
            db.session.scalar(sa.select(Customer.name).where(Customer.code == "C2")) == "Beta Ltd"
        )

    listing = client.get("/api/v1/customers", query_string={"limit": 1}, headers=headers).get_json()
    assert [c["code"] for c in listing["items"]] == ["C1"] and listing["next_cursor"] == "C1"
    rest = client.get("/api/v1/customers", query_string={"after": "C1"}, headers=headers).get_json()
    assert [c["code"] for c in rest["items"]] == ["C2"] and rest["next_cursor"] is None
    one = client.get("/api/v1/customers/C1", headers=headers).get_json()
    assert one["name"] == "Acme" and one["tier"] in {"key", "general", "minor"}
    assert client.get("/api/v1/customers/NOPE", headers=headers).status_code == 404


def test_errors_share_one_shape(client, api_key):
    headers = api_key("staff")
    answers = [
        client.post("/api/v1/complaints", data=b"{", content_type="application/json"),
        client.post("/api/v1/complaints", data=b"\xff\xfe\x00", content_type="application/json"),
        client.post("/api/v1/complaints", json={**COMPLAINT, "extra": 1}),
        client.post("/api/v1/complaints", json={**COMPLAINT, "category": "nope"}),
        client.post("/api/v1/complaints", json=[1, 2]),
        client.get("/api/v1/complaints"),
        client.get("/api/v1/nothing-here", headers=headers),
        client.delete("/api/v1/complaints", headers=headers),
    ]
    statuses = [a.status_code for a in answers]
    assert statuses == [400, 400, 422, 422, 422, 401, 404, 405]
    for answer in answers:
        body = answer.get_json()
        assert set(body) == {"error"}
        assert body["error"]["status"] == answer.status_code and body["error"]["message"]
    # the unknown category is named by the API's own field
    assert set(answers[3].get_json()["error"]["fields"]) == {"category"}


def test_public_posts_are_rate_limited_but_keyed_calls_are_not(app, client, api_key):
    limit = int(app.config["PUBLIC_POST_RATE_LIMIT"].split(" per minute")[0])
    statuses = [client.post("/api/v1/complaints", json=COMPLAINT).status_code for _ in range(limit)]
    assert statuses == [201] * limit
    refused = client.post("/api/v1/complaints", json=COMPLAINT)
    assert refused.status_code == 429
    assert refused.get_json()["error"]["status"] == 429
    headers = api_key("staff")
    keyed = client.post("/api/v1/complaints", json=COMPLAINT, headers=headers)
    assert keyed.status_code == 201


def _counts(app, qid):
    """The results summary rows of a questionnaire, without ids."""
    from survey_app.surveys.models import ResultCount

    with app.app_context():
        rows = db.session.execute(
            sa.select(
                ResultCount.question_id,
                ResultCount.item_id,
                ResultCount.value_num,
                ResultCount.choice,
                ResultCount.segment,
                ResultCount.count,
            ).where(ResultCount.questionnaire_id == qid)
        ).all()
    return sorted(tuple(r) for r in rows)


def test_api_responses_are_counted_as_a_rebuild_from_the_answers_counts_them(
    app, client, make_questionnaire, make_customer, make_invitation
):
    from survey_app.surveys import services as survey_services

    qid, _token = make_questionnaire("ecsi")
    with app.app_context():
        version = survey_services.get_questionnaire(qid).current_version
        questions = [q for s in version.sections for q in s.questions]

        def answers(score: int) -> dict:
            """Every question answered: scales at ``score`` (clipped), choices the first one."""
            given = {}
            for q in questions:
                if q.items:
                    for item in q.items:
                        given[f"{q.code}.{item.code}"] = min(max(score, q.scale_min), q.scale_max)
                elif q.type.scored:
                    given[q.code] = min(max(score, q.scale_min), q.scale_max)
                elif q.choices():
                    given[q.code] = q.choices()[0][0]
                else:
                    given[q.code] = "好"
            return given

        payloads = [answers(score) for score in (3, 9, 9)]
    for payload in payloads:
        token = make_invitation(qid, make_customer(segment="批发"))
        answer = client.post(
            "/api/v1/survey-responses", json={"invitation_token": token, "answers": payload}
        )
        assert answer.status_code == 201, answer.get_json()
    stored = _counts(app, qid)
    with app.app_context():
        rebuilt = survey_services.rebuild_result_counts(survey_services.get_questionnaire(qid))
        db.session.commit()
    assert rebuilt == 3
    assert stored and stored == _counts(app, qid)
    assert {row[4] for row in stored} == {"批发"}


def test_counts_added_by_several_processes_are_summed_on_the_results(
    app, client, make_questionnaire, make_customer, make_invitation, monkeypatch
):
    """Each process adds to its own row of a key (no queue on one row's lock); the results
    report the sum, and a rebuild gives the same totals."""
    import os

    from survey_app.surveys import queries
    from survey_app.surveys import services as survey_services
    from survey_app.surveys.models import Question, ResultCount

    qid, _token = make_questionnaire("pulse")
    for pid in (1001, 1002, 1002):  # three workers' answers, two of them from one worker
        monkeypatch.setattr(os, "getpid", lambda pid=pid: pid)
        token = make_invitation(qid, make_customer())
        answer = client.post(
            "/api/v1/survey-responses",
            json={"invitation_token": token, "answers": {"csat": 4, "nps": 9}},
        )
        assert answer.status_code == 201, answer.get_json()
    monkeypatch.undo()
    with app.app_context():
        rows = db.session.execute(
            sa.select(ResultCount.shard, ResultCount.count)
            .join(Question, Question.id == ResultCount.question_id)
            .where(ResultCount.questionnaire_id == qid, Question.code == "csat")
            .where(ResultCount.item_id == 0, ResultCount.choice == "")
        ).all()
        assert sorted(rows) == sorted([(1001 % 8, 1), (1002 % 8, 2)])
        questionnaire = survey_services.get_questionnaire(qid)

        def csat() -> dict:
            _n, results = queries.question_results(questionnaire, queries.Filters())
            (result,) = [r for r in results if r.question.code == "csat"]
            return result.scales[0].counts

        assert csat() == {4: 3}
        survey_services.rebuild_result_counts(questionnaire)
        db.session.commit()
        assert csat() == {4: 3}


def test_api_finishes_a_response_the_customer_began_on_the_web(
    app, client, make_questionnaire, make_customer, make_invitation
):
    from tests.conftest import post_form

    qid, _token = make_questionnaire("pulse")
    token = make_invitation(qid, make_customer())
    browser = app.test_client()
    began = post_form(browser, f"/i/{token}", {"step": "1", "q_csat": "5", "q_nps": "9"})
    assert began.status_code == 302
    payload = {"invitation_token": token, "answers": {"csat": 2, "nps": 3, "what_wrong": "Late"}}
    finished = client.post("/api/v1/survey-responses", json=payload)
    assert finished.status_code == 201, finished.get_json()
    with app.app_context():
        (response,) = db.session.scalars(sa.select(Response)).all()
        assert response.submitted_at is not None
        answers = {
            code: text if text is not None else number
            for code, text, number in db.session.execute(
                sa.select(Question.code, Answer.value_text, Answer.value_num)
                .join(Question)
                .where(Answer.response_id == response.id)
            )
        }
    assert answers == {"csat": 2, "nps": 3, "what_wrong": "Late"}
    assert finished.get_json()["response_id"] == response.id
    assert client.post("/api/v1/survey-responses", json=payload).status_code == 409


def test_api_answers_the_new_version_after_the_questionnaire_changes(
    app, client, make_questionnaire, make_customer, make_invitation
):
    from survey_app.surveys import services as survey_services

    qid, _token = make_questionnaire("pulse")
    for _ in range(2):  # the second submission finds the version frozen (it has a response)
        token = make_invitation(qid, make_customer())
        sent = client.post(
            "/api/v1/survey-responses",
            json={"invitation_token": token, "answers": {"csat": 4, "nps": 8}},
        )
        assert sent.status_code == 201
    with app.app_context():
        questionnaire = survey_services.get_questionnaire(qid)
        csat = next(
            q for q in questionnaire.current_version.sections[0].questions if q.code == "csat"
        )
        data = survey_services.QuestionData(
            type="likert",
            text_zh="满意吗？",
            text_en="Satisfied?",
            code="csat",
            points=5,
            required=True,
        )
        survey_services.save_question(None, questionnaire, csat.id, None, data)
        db.session.commit()
    token = make_invitation(qid, make_customer())
    old_scale = client.post(
        "/api/v1/survey-responses",
        json={"invitation_token": token, "answers": {"csat": 7, "nps": 8}},
    )
    assert old_scale.status_code == 422 and "csat" in old_scale.get_json()["error"]["fields"]
    new_scale = client.post(
        "/api/v1/survey-responses",
        json={"invitation_token": token, "answers": {"csat": 5, "nps": 8}},
    )
    assert new_scale.status_code == 201
    with app.app_context():
        versions = db.session.scalars(sa.select(Response.version_id).order_by(Response.id)).all()
    assert versions[0] == versions[1] != versions[2]
