"""Distribution: invitations for picked customers, CSV for a mail merge, status per invitation,
and e-mail over a real (local, in-test) SMTP server."""

from __future__ import annotations

import csv
import email
import email.policy
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from survey_app.db_types import utcnow
from survey_app.extensions import db
from survey_app.surveys import queries
from survey_app.surveys.models import Invitation
from tests.conftest import post_form


@pytest.fixture(autouse=True)
def _english(client):
    """These tests read the English interface."""
    client.set_cookie("lang", "en")


def _states(app, qid):
    with app.app_context():
        rows, _total = queries.invitation_page(qid, 1, 100)
        return sorted((inv.customer.name, state) for inv, state in rows)


def test_invite_export_and_status(app, login, make_questionnaire, make_customer):
    qid, _ = make_questionnaire("pulse")
    ids = [make_customer(name=f"客户{n}", segment="大客户" if n < 2 else "零售") for n in range(5)]
    client = login("admin")
    url = f"/surveys/{qid}/invitations"
    empty = post_form(client, url, {"valid_days": "30"})
    assert "Pick at least one customer" in empty.get_data(as_text=True)
    picked = post_form(client, url, {"customers": [str(ids[0]), str(ids[2])], "valid_days": "30"})
    assert picked.status_code == 302
    # everyone in a segment; the one already invited is not invited twice
    whole = post_form(client, url + "?segment=大客户", {"whole_selection": "y", "valid_days": "7"})
    assert whole.status_code == 302
    with app.app_context():
        invited = sorted(db.session.scalars(sa.select(Invitation.customer_id)))
    assert invited == sorted([ids[0], ids[1], ids[2]])

    exported = client.get(f"/surveys/{qid}/invitations.csv")
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["name"] for r in rows] == ["客户0", "客户1", "客户2"]
    assert all(r["url"].startswith("http://localhost/i/") and r["email"] for r in rows)
    assert {r["status"] for r in rows} == {"not_opened"}

    # open one, half-answer another (needs a two-step template: pulse has two)
    answer_client = app.test_client()
    answer_client.get(rows[0]["url"].replace("http://localhost", ""))
    second = rows[1]["url"].replace("http://localhost", "")
    post_form(answer_client, second, {"step": "1", "q_csat": "5", "q_nps": "9"})
    third = rows[2]["url"].replace("http://localhost", "")
    post_form(answer_client, third, {"step": "1", "q_csat": "5", "q_nps": "9"})
    post_form(answer_client, third + "?step=2", {"step": "2"}, form_url="/login")
    with app.app_context():
        late = db.session.scalar(sa.select(Invitation).where(Invitation.customer_id == ids[1]))
        assert late.opened_at is not None
    assert _states(app, qid) == [("客户0", "opened"), ("客户1", "partial"), ("客户2", "completed")]
    with app.app_context():
        first = db.session.scalar(sa.select(Invitation).where(Invitation.customer_id == ids[0]))
        first.expires_at = utcnow() - timedelta(hours=1)
        db.session.commit()
        stats = queries.invitation_stats(qid)
    assert _states(app, qid)[0] == ("客户0", "expired")
    assert stats == {
        "total": 3,
        "opened": 3,
        "completed": 1,
        "expired": 1,
        "partial": 1,
        "rate": pytest.approx(100 / 3),
    }
    pending = client.get(f"/surveys/{qid}/invitations.csv?pending=1").get_data(as_text=True)
    assert "客户1" in pending and "客户0" not in pending and "客户2" not in pending
    page = client.get(url + "?state=partial", headers={"Accept-Language": "en"})
    table = page.get_data(as_text=True).split("Status per customer")[1]
    assert "客户1" in table and "客户2" not in table
    results = client.get(f"/surveys/{qid}/results", headers={"Accept-Language": "en"})
    assert "invitation response rate 33% (1 of 3)" in results.get_data(as_text=True)


def test_email_sending_and_reminders(app, login, make_questionnaire, make_customer, smtp_server):
    qid, _ = make_questionnaire("ecsi")
    ids = [make_customer(name=f"Customer {n}", email=f"c{n}@example.cn") for n in range(3)]
    client = login("admin")
    post_form(
        client,
        f"/surveys/{qid}/invitations",
        {"customers": [str(i) for i in ids], "valid_days": "14"},
    )
    sent = post_form(
        client,
        f"/surveys/{qid}/invitations/send",
        {"kind": "first"},
        form_url=f"/surveys/{qid}/invitations",
    )
    assert sent.status_code == 302
    assert sorted(r for rcpts, _ in smtp_server.messages for r in rcpts) == [
        "c0@example.cn",
        "c1@example.cn",
        "c2@example.cn",
    ]
    message = email.message_from_string(smtp_server.messages[0][1], policy=email.policy.default)
    body = message.get_content()
    with app.app_context():
        token = db.session.scalar(
            sa.select(Invitation.token).where(Invitation.customer_id == ids[0])
        )
    assert f"http://localhost/i/{token}" in body and "Customer 0" in body
    # nothing new to send the second time
    post_form(
        client,
        f"/surveys/{qid}/invitations/send",
        {"kind": "first"},
        form_url=f"/surveys/{qid}/invitations",
    )
    assert len(smtp_server.messages) == 3
    page = client.get(f"/surveys/{qid}/invitations", headers={"Accept-Language": "en"})
    assert "Nobody to write to" in page.get_data(as_text=True)
    post_form(
        client,
        f"/surveys/{qid}/invitations/send",
        {"kind": "reminder"},
        form_url=f"/surveys/{qid}/invitations",
    )
    assert len(smtp_server.messages) == 6
    with app.app_context():
        assert set(db.session.scalars(sa.select(Invitation.reminders))) == {1}


def test_without_smtp_the_export_is_the_way(app, login, make_questionnaire, make_customer):
    qid, _ = make_questionnaire("pulse")
    client = login("admin")
    post_form(
        client,
        f"/surveys/{qid}/invitations",
        {"customers": [str(make_customer())], "valid_days": "30"},
    )
    page = client.get(f"/surveys/{qid}/invitations", headers={"Accept-Language": "en"})
    assert "E-mail sending is off" in page.get_data(as_text=True)
    post_form(
        client,
        f"/surveys/{qid}/invitations/send",
        {"kind": "first"},
        form_url=f"/surveys/{qid}/invitations",
    )
    follow = client.get(f"/surveys/{qid}/invitations", headers={"Accept-Language": "en"})
    assert "not configured" in follow.get_data(as_text=True)
