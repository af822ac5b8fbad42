"""API keys: created by an admin on its page, shown once, stored hashed, revocable, last use."""

from __future__ import annotations

import hashlib
import re

import sqlalchemy as sa

from survey_app.accounts.models import ApiKey
from survey_app.extensions import db
from tests.conftest import csrf_token, post_form

KEY_RE = re.compile(r'value="(sk_[A-Za-z0-9_-]+)"')


def _create(client, user_id: int, name: str = "ERP"):
    return post_form(client, "/admin/api-keys/new", {"user_id": user_id, "name": name})


def test_admin_creates_key_shown_once_and_stored_hashed(app, login, make_user):
    client = login("admin")
    staff_id, _ = make_user("staff")
    page = _create(client, staff_id, "ERP <nightly>")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    key = KEY_RE.search(html).group(1)
    assert "ERP &lt;nightly&gt;" in html
    with app.app_context():
        row = db.session.scalar(sa.select(ApiKey))
        assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
        assert key not in (row.key_hash, row.prefix) and key.startswith(row.prefix)
    listing = client.get("/admin/api-keys").get_data(as_text=True)
    assert key not in listing and row.prefix in listing
    assert "never" in listing or "从未" in listing

    answer = client.get("/api/v1/customers", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(ApiKey.last_used_at)) is not None


def test_key_needs_a_name(login, make_user):
    client = login("admin")
    staff_id, _ = make_user("staff")
    page = _create(client, staff_id, "")
    assert page.status_code == 200
    assert "sk_" not in page.get_data(as_text=True)


def test_revoked_key_stops_working_at_once(app, login, make_user):
    client = login("admin")
    staff_id, _ = make_user("staff")
    key = KEY_RE.search(_create(client, staff_id).get_data(as_text=True)).group(1)
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/customers", headers=headers).status_code == 200
    with app.app_context():
        key_id = db.session.scalar(sa.select(ApiKey.id))
    token = csrf_token(client, "/admin/api-keys")
    revoked = client.post(f"/admin/api-keys/{key_id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 302
    answer = client.get("/api/v1/customers", headers=headers)
    assert answer.status_code == 401
    assert answer.get_json()["error"]["status"] == 401


def test_revoke_without_csrf_token_is_refused(app, login, make_user, api_key):
    client = login("admin")
    api_key("staff")
    with app.app_context():
        key_id = db.session.scalar(sa.select(ApiKey.id))
    assert client.post(f"/admin/api-keys/{key_id}/revoke").status_code == 400
    with app.app_context():
        assert db.session.get(ApiKey, key_id).revoked_at is None


def test_key_follows_its_users_role_and_status(app, api_key, make_user):
    from survey_app.accounts import services

    headers = api_key("manager")
    client = app.test_client()
    assert client.get("/api/v1/customers", headers=headers).status_code == 200
    assert (
        client.post(
            "/api/v1/customers/import",
            json={"customers": [{"code": "C1", "name": "A"}]},
            headers=headers,
        ).status_code
        == 403
    )
    with app.app_context():
        row = db.session.scalar(sa.select(ApiKey))
        admin = services.get_user(db.session.scalar(sa.select(ApiKey.created_by_id)))
        services.update_user(admin, row.user, name="", role="manager", active=False)
        db.session.commit()
    assert client.get("/api/v1/customers", headers=headers).status_code == 401


def test_wrong_key_is_refused_even_on_public_calls(client):
    answer = client.get("/api/v1/complaints/TSNOSUCH00/status", headers={"X-API-Key": "nope"})
    assert answer.status_code == 401
    assert set(answer.get_json()["error"]) >= {"status", "message"}
