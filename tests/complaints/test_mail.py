"""Customers hear by e-mail when staff move their complaint: an outbox row written with the
timeline event, sent by ``flask complaints send-mail`` over a real (loopback) SMTP server."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from survey_app.complaints import mail
from survey_app.complaints.models import ComplaintMail, State
from survey_app.db_types import utcnow
from survey_app.extensions import db
from survey_app.taxonomy.services import by_code
from tests.conftest import post_form, sign_in


def _mails() -> list[ComplaintMail]:
    return list(db.session.scalars(sa.select(ComplaintMail).order_by(ComplaintMail.id)))


def _parsed(server) -> list[email.message.EmailMessage]:
    return [
        email.message_from_string(raw, policy=email.policy.default) for _to, raw in server.messages
    ]


def _send(runner, app, base="https://service.example.com"):
    app.config["PUBLIC_BASE_URL"] = base
    try:
        return runner.invoke(args=["complaints", "send-mail"])
    finally:
        app.config["PUBLIC_BASE_URL"] = ""


def test_staff_steps_are_queued_with_their_event_and_the_customers_own_are_not(world, smtp_server):
    complaint = world.open()
    world.act(complaint, "acknowledge")
    world.act(complaint, "investigate")  # no news for the customer
    asked = world.act(complaint, "request_information", text="Which order number?")
    world.act(complaint, "add_information", "customer", text="Order 123")  # their own step
    proposed = world.act(complaint, "propose", text="A new parcel by Friday.")
    world.act(complaint, "accept", "customer")  # they accepted on the tracking page
    from survey_app.complaints import services

    services.add_note(complaint, world.actor("staff"), "Internal: courier fined", to_customer=False)
    reply = services.add_note(complaint, world.actor("staff"), "Sent today.", to_customer=True)
    db.session.commit()
    mails = _mails()
    assert [m.event_id for m in mails][1:] == [asked.id, proposed.id, reply.id]
    assert {m.to_address for m in mails} == {"lina@example.cn"}
    assert all(m.sent_at is None and m.attempts == 0 for m in mails)


def test_nothing_is_queued_without_an_address_or_without_smtp(world, app, smtp_server):
    by_phone = world.open(contact_email="", contact_phone="13800001111")
    world.act(by_phone, "acknowledge")
    app.config["SMTP_HOST"] = ""
    world.act(world.open(), "acknowledge")
    app.config["SMTP_HOST"] = "127.0.0.1"
    db.session.commit()
    assert _mails() == []


def test_a_rolled_back_step_mails_nothing(world, smtp_server):
    complaint = world.open()
    db.session.commit()
    world.act(complaint, "acknowledge")
    db.session.rollback()
    assert _mails() == []


def test_send_mail_delivers_each_once_in_both_languages_with_the_tracking_link(
    app, runner, world, smtp_server
):
    complaint = world.open(contact_name="王芳", contact_email="wangfang@example.cn")
    world.act(complaint, "acknowledge")
    world.act(complaint, "investigate")
    world.act(complaint, "propose", text="A new parcel by Friday.\nAnd a voucher.")
    db.session.commit()
    code, token = complaint.code, complaint.token

    result = _send(runner, app)
    assert result.exit_code == 0, result.output
    assert "2 complaint update(s) e-mailed" in result.output
    assert [to for to, _raw in smtp_server.messages] == [["wangfang@example.cn"]] * 2
    acknowledged, proposed = _parsed(smtp_server)
    assert proposed["Subject"] == f"您的投诉 {code} 有新进展 / Update on your complaint {code}"
    body = proposed.get_content()
    assert body.index("王芳，您好") < body.index("Dear 王芳")  # Chinese, then English
    assert "请在进度页面接受或拒绝" in body and "please accept or reject it" in body
    assert body.count("> A new parcel by Friday.\n> And a voucher.") == 2
    assert body.count(f"https://service.example.com/complaint/t/{token}") == 2
    assert "我们已受理您的投诉" in acknowledged.get_content()
    assert all(m.sent_at is not None and m.attempts == 1 for m in _mails())

    again = _send(runner, app)
    assert again.exit_code == 0 and "0 complaint update(s)" in again.output
    assert len(smtp_server.messages) == 2


def test_a_refused_address_is_retried_then_given_up_without_holding_up_the_others(
    app, runner, world, smtp_server
):
    smtp_server.refuse.add("nobody@example.cn")
    bad = world.open(contact_email="nobody@example.cn")
    good = world.open(contact_email="lina@example.cn")
    world.act(bad, "acknowledge")
    world.act(good, "acknowledge")
    db.session.commit()
    result = _send(runner, app)
    assert result.exit_code == 1 and "1 complaint update(s) e-mailed, 1 failed" in result.output
    assert [to for to, _raw in smtp_server.messages] == [["lina@example.cn"]]
    failed = next(m for m in _mails() if m.sent_at is None)
    assert failed.attempts == 1 and "nobody@example.cn" in failed.last_error
    assert failed.claimed_at is None  # free for the next run
    for _ in range(mail.MAX_ATTEMPTS - 1):
        _send(runner, app)
    db.session.expire_all()
    assert db.session.get(ComplaintMail, failed.id).attempts == mail.MAX_ATTEMPTS
    assert "0 complaint update(s)" in _send(runner, app).output  # given up: not tried again
    assert len(smtp_server.messages) == 1


def test_an_unreachable_server_keeps_every_mail_for_the_next_run(app, runner, world, smtp_server):
    world.act(world.open(), "acknowledge")
    db.session.commit()
    port = app.config["SMTP_PORT"]
    app.config["SMTP_PORT"] = 1  # nothing listens there
    try:
        result = _send(runner, app)
    finally:
        app.config["SMTP_PORT"] = port
    assert result.exit_code == 1 and "0 complaint update(s) e-mailed, 1 failed" in result.output
    db.session.expire_all()
    (waiting,) = _mails()
    assert waiting.sent_at is None and waiting.last_error
    assert _send(runner, app).exit_code == 0
    assert len(smtp_server.messages) == 1


def test_two_senders_never_take_the_same_mail(world, smtp_server):
    world.act(world.open(), "acknowledge")
    world.act(world.open(), "acknowledge")
    db.session.commit()
    now = utcnow()
    first = mail.claim(now)
    second = mail.claim(now)  # a second sender, while the first holds them
    assert len(first) == 2 and second == []
    # a sender that died lets go after CLAIM_SECONDS
    later = now + timedelta(seconds=mail.CLAIM_SECONDS + 1)
    assert sorted(mail.claim(later)) == sorted(first)


def test_send_mail_refuses_without_smtp(runner):
    result = runner.invoke(args=["complaints", "send-mail"])
    assert result.exit_code != 0 and "SMTP_HOST is not set" in result.output


def test_in_production_send_mail_needs_the_public_address(app, runner, world, smtp_server):
    world.act(world.open(), "acknowledge")
    db.session.commit()
    app.config["SURVEY_APP_ENV"] = "production"
    try:
        refused = runner.invoke(args=["complaints", "send-mail"])
        assert refused.exit_code != 0 and "PUBLIC_BASE_URL is not set" in refused.output
        assert smtp_server.messages == []  # nothing sent with a link to nowhere
        assert _send(runner, app).exit_code == 0
    finally:
        app.config["SURVEY_APP_ENV"] = "testing"
    assert len(smtp_server.messages) == 1


def test_staff_see_on_the_timeline_whether_the_customer_was_e_mailed(
    app, client, runner, http_world, smtp_server
):
    with app.app_context():
        complaint = http_world.open(contact_email="wangfang@example.cn")
        db.session.commit()
        complaint_id = complaint.id
    sign_in(client, "staff-w@example.com")
    url = f"/complaints/{complaint_id}"
    en = {"Accept-Language": "en"}
    # the version the page shows (opening it may have moved the complaint, e.g. auto-routing)
    shown = client.get(url).get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', shown).group(1)
    posted = post_form(
        client,
        f"{url}/act",
        {"action": "request_information", "text": "<b>Which</b> order?", "version": version},
        form_url=url,
    )
    assert posted.status_code == 302, posted.get_data(as_text=True)[-3000:]
    page = client.get(url, headers=en).get_data(as_text=True)
    assert "E-mail to wangfang@example.cn waiting to be sent" in page
    # before a step, staff are told their text goes to the customer by e-mail; not for steps
    # the customer never hears of
    withdraw = page.split("<summary>Withdraw</summary>")[1].split("</details>")[0]
    assert "The customer is e-mailed about this step, at wangfang@example.cn." in withdraw
    investigate = page.split("<summary>Start investigating</summary>")[1].split("</details>")[0]
    assert "e-mailed" not in investigate
    assert "A reply shown to the customer is also e-mailed to wangfang@example.cn." in page
    assert _send(runner, app).exit_code == 0
    page = client.get(url, headers=en).get_data(as_text=True)
    assert re.search(r"E-mailed to wangfang@example\.cn, \d", page)
    (message,) = _parsed(smtp_server)
    assert "> <b>Which</b> order?" in message.get_content()  # plain text: nothing to escape
    tracking = client.get(f"/complaint/t/{_token(app, complaint_id)}", headers=en)
    assert "Which" in tracking.get_data(as_text=True)  # the question, on the customer's page
    assert "E-mailed to" not in tracking.get_data(as_text=True)  # but not the staff's mail line


def _token(app, complaint_id):
    from survey_app.complaints.models import Complaint

    with app.app_context():
        return db.session.get(Complaint, complaint_id).token


@pytest.mark.parametrize("state", [State.CLOSED, State.REJECTED])
def test_endings_say_so(world, smtp_server, state):
    complaint = world.complaint_in(state)
    db.session.commit()
    last = _mails()[-1]
    event_action = next(e.action for e in complaint_events(complaint) if e.id == last.event_id)
    assert event_action == {"closed": "close", "rejected": "reject"}[state.value]


def complaint_events(complaint):
    from survey_app.complaints import services

    return services.timeline(complaint, customer_view=False)


def test_the_thank_you_page_promises_mail_only_to_those_who_get_it(app, client, smtp_server):
    en = {"Accept-Language": "en"}
    with app.app_context():
        category = by_code("delivery").id
    seen = {}
    for email_address in ("lina@example.cn", ""):
        posted = post_form(
            client,
            "/complaint",
            {
                "contact_name": "李娜",
                "contact_email": email_address,
                "contact_phone": "13800001111",
                "category_id": category,
                "description": "The parcel arrived broken.",
            },
        )
        assert posted.status_code == 302, posted.get_data(as_text=True)
        page = client.get(posted.headers["Location"], headers=en).get_data(as_text=True)
        seen[email_address] = "We also e-mail you, with this link" in page
    assert seen == {"lina@example.cn": True, "": False}


def test_the_public_form_says_news_comes_by_e_mail_only_when_it_does(app, client, smtp_server):
    en = {"Accept-Language": "en"}
    assert "We write to you there when there is news." in client.get(
        "/complaint", headers=en
    ).get_data(as_text=True)
    app.config["SMTP_HOST"] = ""
    try:
        page = client.get("/complaint", headers=en).get_data(as_text=True)
    finally:
        app.config["SMTP_HOST"] = "127.0.0.1"
    assert "We write to you there" not in page
