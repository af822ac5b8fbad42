from __future__ import annotations

import pytest

from survey_app import create_app
from survey_app.security import safe_next


def test_healthz_reports_a_reachable_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_answers_503_when_the_database_is_unreachable(app, tmp_path):
    broken = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/dir/x.sqlite"})
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] != "ok"


def test_every_page_carries_the_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_security_headers_appear_once_and_a_view_may_set_its_own(tmp_path):
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite", "SESSION_COOKIE_SECURE": True}
    )

    @app.get("/framed")
    def framed():
        return "", 200, {"X-Frame-Options": "SAMEORIGIN", "referrer-policy": "no-referrer"}

    headers = app.test_client().get("/framed").headers
    assert headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert headers.getlist("Referrer-Policy") == ["no-referrer"]  # names match in any case
    assert headers.getlist("X-Content-Type-Options") == ["nosniff"]
    assert len(headers.getlist("Content-Security-Policy")) == 1
    assert headers.getlist("Strict-Transport-Security") == ["max-age=31536000"]


def test_session_cookie_is_httponly_and_samesite_lax(client, make_user):
    from tests.conftest import sign_in

    _id, email = make_user("staff")
    response = sign_in(client, email)
    cookies = [
        v for k, v in response.headers.items() if k == "Set-Cookie" and v.startswith("session=")
    ]
    assert cookies, "sign-in sets a session cookie"
    assert "HttpOnly" in cookies[-1] and "SameSite=Lax" in cookies[-1]


def test_unknown_page_is_a_friendly_404_in_the_visitors_language(client):
    response = client.get("/no/such/page", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)
    response = client.get("/no/such/page", headers={"Accept-Language": "en-US"})
    assert "Page not found" in response.get_data(as_text=True)


def test_unhandled_error_gives_the_500_page_not_a_traceback(app):
    fresh = create_app()

    @fresh.get("/_test_boom")
    def boom():
        raise RuntimeError("kaboom")

    response = fresh.test_client().get("/_test_boom", headers={"Accept-Language": "en"})
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Something went wrong" in body and "kaboom" not in body


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/customers/?q=x", "/customers/?q=x"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_redirect_targets_stay_on_this_site(target, expected):
    assert safe_next(target, "/") == expected


def test_oversized_request_bodies_are_refused_with_a_friendly_413(app, client):
    too_big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post(
        "/login",
        data=too_big,
        content_type="application/octet-stream",
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)
