from __future__ import annotations

import pytest
import sqlalchemy as sa

from survey_app.accounts.models import Role, User
from survey_app.extensions import db
from tests.conftest import PASSWORD, post_form, sign_in


def test_sign_in_and_out(client, make_user):
    _id, email = make_user("staff", name="王芳")
    response = sign_in(client, email.upper())  # addresses are case-insensitive
    assert response.status_code == 302
    assert "王芳" in client.get("/").get_data(as_text=True)
    response = post_form(client, "/logout", {}, form_url="/")
    assert response.status_code == 302
    assert client.get("/customers/").status_code == 302


def test_wrong_password_re_renders_the_form_with_a_message(client, make_user):
    _id, email = make_user("staff")
    response = sign_in(client, email, "not-the-password")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert email in body  # what was typed is kept
    assert "邮箱或密码不正确" in body or "E-mail or password is not correct" in body
    assert client.get("/customers/").status_code == 302


def test_deactivated_user_cannot_sign_in(app, client, make_user):
    user_id, email = make_user("staff")
    with app.app_context():
        db.session.get(User, user_id).active = False
        db.session.commit()
    assert sign_in(client, email).status_code == 200
    assert client.get("/customers/").status_code == 302


def test_passwords_are_stored_with_a_modern_kdf(app, make_user):
    user_id, _email = make_user("staff")
    with app.app_context():
        stored = db.session.get(User, user_id).password_hash
    assert stored.startswith("scrypt:") and PASSWORD not in stored


def test_login_is_not_limited_while_rate_limiting_is_off(app, client, make_user):
    _id, email = make_user("staff")
    app.config["RATELIMIT_ENABLED"] = False
    try:
        statuses = {sign_in(client, email, "wrong-password").status_code for _ in range(12)}
    finally:
        app.config["RATELIMIT_ENABLED"] = True
    assert statuses == {200}
    assert sign_in(client, email).status_code == 302  # and the right password still works


def test_login_is_rate_limited(client, make_user):
    _id, email = make_user("staff")
    statuses = [sign_in(client, email, "wrong-password").status_code for _ in range(12)]
    assert statuses[:10] == [200] * 10
    assert statuses[-1] == 429
    response = post_form(
        client, "/login", {"email": email, "password": "x"}, headers={"Accept-Language": "zh-CN"}
    )
    assert response.status_code == 429 and "请求过于频繁" in response.get_data(as_text=True)


def test_next_parameter_returns_to_the_page_asked_for(client, make_user):
    _id, email = make_user("staff")
    response = client.get("/customers/?q=abc")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    response = post_form(
        client,
        "/login?next=/customers/?q=abc",
        {"email": email, "password": PASSWORD},
        form_url="/login",
    )
    assert response.headers["Location"] == "/customers/?q=abc"


def test_forms_without_csrf_token_are_refused(client, make_user):
    _id, email = make_user("staff")
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD}, headers={"Accept-Language": "en"}
    )
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def test_changing_password_signs_out_other_sessions(app, make_user):
    _id, email = make_user("staff")
    first, second = app.test_client(), app.test_client()
    sign_in(first, email)
    sign_in(second, email)
    response = post_form(
        first,
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "a-brand-new-secret",
            "confirm": "a-brand-new-secret",
        },
    )
    assert response.status_code == 302
    assert first.get("/account/password").status_code == 200  # the changer stays signed in
    assert second.get("/account/password").status_code == 302  # everyone else is signed out
    assert sign_in(app.test_client(), email, "a-brand-new-secret").status_code == 302


def test_password_change_errors_show_next_to_the_fields(login):
    client = login("staff")
    response = post_form(
        client,
        "/account/password",
        {"current_password": "wrong", "new_password": "short", "confirm": "different"},
        headers={"Accept-Language": "en"},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'aria-invalid="true"' in body
    assert "The passwords differ" in body


# --- administration of users -------------------------------------------------------------


def test_admin_creates_a_user_who_can_then_sign_in(app, login):
    admin = login("admin")
    response = post_form(
        admin,
        "/admin/users/new",
        {
            "email": "new.person@example.com",
            "name": "New Person",
            "role": "manager",
            "password": "long-enough-pw",
        },
    )
    assert response.status_code == 302
    assert "new.person@example.com" in admin.get("/admin/users").get_data(as_text=True)
    assert sign_in(app.test_client(), "new.person@example.com", "long-enough-pw").status_code == 302


def test_duplicate_email_is_reported_on_the_field_and_input_is_kept(login, make_user):
    admin = login("admin")
    make_user("staff", email="taken@example.com")
    response = post_form(
        admin,
        "/admin/users/new",
        {
            "email": "Taken@example.com",
            "name": "Someone Else",
            "role": "staff",
            "password": "long-enough-pw",
        },
        headers={"Accept-Language": "en"},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "already exists" in body and "Someone Else" in body


def test_the_last_admin_cannot_be_demoted(app, client, make_user):
    admin_id, email = make_user("admin")
    sign_in(client, email)
    response = post_form(
        client,
        f"/admin/users/{admin_id}",
        {"name": "", "role": "staff", "active": "y"},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 200
    assert "at least one active administrator" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, admin_id).role is Role.ADMIN


def test_admin_deactivates_a_user_and_their_session_ends(app, login, make_user):
    staff_id, staff_email = make_user("staff")
    staff_client = app.test_client()
    sign_in(staff_client, staff_email)
    admin = login("admin")
    response = post_form(admin, f"/admin/users/{staff_id}", {"name": "x", "role": "staff"})
    assert response.status_code == 302
    assert staff_client.get("/customers/").status_code == 302


def test_user_list_is_paginated(login, make_user):
    admin = login("admin")
    for _ in range(12):
        make_user("staff")
    first = admin.get("/admin/users").get_data(as_text=True)
    second = admin.get("/admin/users?page=2").get_data(as_text=True)
    assert first.count("/admin/users/") - first.count("/admin/users/new") == 10
    assert 'rel="prev"' in second
    assert admin.get("/admin/users?page=99").status_code == 404
    assert admin.get("/admin/users?page=abc").status_code == 200


# --- command line ---------------------------------------------------------------------------


def test_create_user_command(app, runner):
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "Cli@Example.com",
            "--password",
            "cli-password-1",
            "--role",
            "manager",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "created manager cli@example.com" in result.output
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "cli@example.com"))
        assert user.role is Role.MANAGER and user.check_password("cli-password-1")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "x@example.com", "--password", "short", "--role", "staff"], "at least 10"),
        (
            ["--email", "not-an-address", "--password", "long-enough-pw", "--role", "staff"],
            "valid e-mail",
        ),
        (
            ["--email", "x@example.com", "--password", "long-enough-pw", "--role", "root"],
            "Invalid value",
        ),
    ],
)
def test_create_user_command_rejects_bad_input(runner, args, message):
    result = runner.invoke(args=["create-user", *args])
    assert result.exit_code != 0
    assert message in result.output


def test_create_user_command_refuses_a_duplicate(runner, make_user):
    make_user("staff", email="dup@example.com")
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "dup@example.com",
            "--password",
            "long-enough-pw",
            "--role",
            "staff",
        ]
    )
    assert result.exit_code != 0 and "already exists" in result.output
