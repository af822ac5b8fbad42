"""Public intake and tracking over HTTP: no account, a secret link, files checked by content."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa

from survey_app.complaints.models import Attachment, Channel, Complaint, State
from survey_app.extensions import db
from survey_app.taxonomy.services import by_code
from tests.conftest import csrf_token, post_form

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EN = {"Accept-Language": "en"}


def _category_id(app, code="delivery"):
    with app.app_context():
        return by_code(code).id


def file_complaint(client, app, **overrides):
    data = {
        "contact_name": "李娜",
        "contact_email": "lina@example.cn",
        "contact_phone": "",
        "category_id": str(_category_id(app)),
        "description": "快递盒子破了，杯子碎了。",
        "occurred_on": "2026-03-01",
        "order_ref": "SO-1001",
        "desired_outcome": "换货",
    }
    data.update(overrides)
    response = post_form(client, "/complaint", data, headers=EN)
    assert response.status_code == 302, response.get_data(as_text=True)
    token = response.headers["Location"].split("/complaint/t/")[1].split("?")[0]
    return token


def test_a_customer_files_a_complaint_and_follows_it_by_link(app, client):
    token = file_complaint(client, app)
    page = client.get(f"/complaint/t/{token}?new=1", headers=EN).get_data(as_text=True)
    with app.app_context():
        complaint = db.session.scalar(sa.select(Complaint))
        assert complaint.channel is Channel.WEB and complaint.state is State.RECEIVED
        assert complaint.customer_id is None
        code = complaint.code
    assert code in page and "Keep this link" in page
    assert "Thank you. We received your complaint." in page
    assert "Received" in page and "快递盒子破了" in page
    # the thank-you belongs to the first visit only
    later = client.get(f"/complaint/t/{token}", headers=EN).get_data(as_text=True)
    assert "Thank you. We received your complaint." not in later and code in later
    assert len(token) >= 40  # 32 random bytes


def test_validation_errors_show_next_to_the_fields(app, client):
    response = post_form(
        client,
        "/complaint",
        {"contact_name": "", "contact_email": "not-an-email", "category_id": "", "description": ""},
        headers=EN,
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="contact_name-error"' in html and 'id="description-error"' in html
    assert 'id="contact_email-error"' in html
    # no contact at all: the service explains
    response = post_form(
        client,
        "/complaint",
        {
            "contact_name": "A",
            "category_id": str(_category_id(app)),
            "description": "x",
        },
        headers=EN,
    )
    assert "e-mail address or a phone number" in response.get_data(as_text=True)


def test_a_category_not_offered_for_complaints_is_refused(app, client):
    response = post_form(
        client,
        "/complaint",
        {
            "contact_name": "A",
            "contact_phone": "13800000000",
            "category_id": str(_category_id(app, "competitor")),
            "description": "x",
        },
        headers=EN,
    )
    assert response.status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Complaint)) == 0


def test_an_unknown_category_is_refused_next_to_the_field_and_the_list_is_shown_again(app, client):
    delivery = _category_id(app)
    for bad in ("999999", str(2**40), "-1", "1e3", "abc"):
        response = post_form(
            client,
            "/complaint",
            {
                "contact_name": "A",
                "contact_phone": "13800000000",
                "category_id": bad,
                "description": "I typed the text I wanted to keep.",
            },
            headers=EN,
        )
        assert response.status_code == 200, bad
        html = response.get_data(as_text=True)
        assert 'id="category_id-error"' in html, bad
        assert f'value="{delivery}"' in html, bad  # the categories are offered again
        assert "I typed the text I wanted to keep." in html, bad  # nothing typed is lost
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Complaint)) == 0


def test_attachments_are_checked_by_content_and_served_only_with_the_link(app, client, login):
    data = {
        "contact_name": "王",
        "contact_phone": "13800000000",
        "category_id": str(_category_id(app)),
        "description": "see photo",
        "attachments": [(io.BytesIO(b"MZ\x90\x00evil"), "photo.png")],
    }
    response = client.post(
        "/complaint",
        data={"csrf_token": csrf_token(client, "/complaint"), **data},
        content_type="multipart/form-data",
        headers=EN,
    )
    assert response.status_code == 200
    assert "is not a PNG, JPEG or GIF image or a PDF" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Complaint)) == 0

    data["attachments"] = [(io.BytesIO(PNG), "../../photo.png")]
    response = client.post(
        "/complaint",
        data={"csrf_token": csrf_token(client, "/complaint"), **data},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    token = response.headers["Location"].split("/complaint/t/")[1].split("?")[0]
    with app.app_context():
        attachment = db.session.scalar(sa.select(Attachment))
        assert attachment.filename == "photo.png" and attachment.content_type == "image/png"
        stored = app.instance_path + "/complaint_files/" + attachment.stored_name
        assert "static" not in stored
        attachment_id, complaint_id = attachment.id, attachment.complaint_id
    url = f"/complaint/t/{token}/files/{attachment_id}"
    assert client.get(url).data == PNG
    assert client.get(f"/complaint/t/{'x' * 43}/files/{attachment_id}").status_code == 404
    other = file_complaint(client, app)
    assert client.get(f"/complaint/t/{other}/files/{attachment_id}").status_code == 404
    staff = login("staff")
    assert staff.get(f"/complaints/{complaint_id}/files/{attachment_id}").data == PNG


def test_an_unknown_token_or_a_code_shows_nothing(app, client):
    token = file_complaint(client, app)
    with app.app_context():
        complaint = db.session.scalar(sa.select(Complaint))
        code, complaint_id = complaint.code, complaint.id
    assert client.get(f"/complaint/t/{token[:-1]}").status_code == 404
    assert client.get(f"/complaint/t/{code}").status_code == 404
    assert client.get(f"/complaint/t/{complaint_id}").status_code == 404
    assert client.get(f"/complaints/{complaint_id}").status_code == 302  # staff sign-in


def test_another_complaints_link_never_shows_this_one(app, client):
    mine = file_complaint(client, app, description="MY-SECRET-TEXT")
    theirs = file_complaint(client, app, description="THEIR-TEXT", contact_name="张三")
    page = client.get(f"/complaint/t/{theirs}").get_data(as_text=True)
    assert "THEIR-TEXT" in page and "MY-SECRET-TEXT" not in page and "李娜" not in page
    assert mine != theirs


def test_the_customer_adds_information_and_withdraws(app, client):
    token = file_complaint(client, app)
    url = f"/complaint/t/{token}/act"
    form_url = f"/complaint/t/{token}"
    response = post_form(
        client,
        url,
        {"action": "add_information", "text": "订单号其实是 SO-1002"},
        form_url=form_url,
    )
    assert response.status_code == 302
    page = client.get(form_url, headers=EN).get_data(as_text=True)
    assert "SO-1002" in page
    # an action the table does not give the customer is refused with a message
    post_form(client, url, {"action": "acknowledge"}, form_url=form_url)
    page = client.get(form_url, headers=EN).get_data(as_text=True)
    assert "You may not take the step" in page
    post_form(client, url, {"action": "withdraw", "text": "已自行解决"}, form_url=form_url)
    with app.app_context():
        complaint = db.session.scalar(sa.select(Complaint))
        assert complaint.state is State.WITHDRAWN and complaint.end_reason == "已自行解决"


def test_the_public_form_is_linked_from_the_home_page(client):
    html = client.get("/", headers=EN).get_data(as_text=True)
    assert re.search(r'href="/complaint"', html)
