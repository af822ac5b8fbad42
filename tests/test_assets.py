"""Static files under versioned URLs, kept by browsers for a year; and ``Vary: Cookie`` only on
responses that read the session."""

from __future__ import annotations

import hashlib
import re

from tests.conftest import PASSWORD, post_form

VERSIONED = re.compile(r'/static/([^"?\s]+)\?v=([0-9a-f]{12})')


def fetch(client, url: str):
    """GET ``url``; a file's response is read and closed (it streams the file)."""
    with client.get(url) as answer:
        answer.get_data()
        return answer


def test_pages_link_static_files_by_a_version_of_their_content(client):
    html = client.get("/").get_data(as_text=True)
    links = dict(VERSIONED.findall(html))
    assert "css/app.css" in links and "js/app.js" in links
    for filename, version in links.items():
        answer = fetch(client, f"/static/{filename}?v={version}")
        assert answer.status_code == 200
        assert version == hashlib.sha256(answer.data).hexdigest()[:12]
        assert "max-age=31536000" in answer.headers["Cache-Control"]
    # asked for without a version (an old link, a hand-typed URL): revalidated every time
    assert fetch(client, "/static/css/app.css").headers["Cache-Control"] == "no-cache"


def test_only_responses_that_read_the_session_vary_on_the_cookie(client):
    client.get("/login")  # the browser now holds a session cookie (the form's CSRF token)
    assert "Cookie" in client.get("/login").headers.get("Vary", "")
    for url in ("/static/css/app.css", "/api/v1/openapi.json", "/api/v1/complaints"):
        assert "Cookie" not in fetch(client, url).headers.get("Vary", ""), url


def test_keep_me_signed_in_still_sets_the_remember_cookie(client, make_user):
    _user_id, email = make_user("staff")
    post_form(client, "/login", {"email": email, "password": PASSWORD, "remember": "y"})
    assert client.get_cookie("remember_token") is not None
    other = client.application.test_client()
    _user_id, email = make_user("staff")
    post_form(other, "/login", {"email": email, "password": PASSWORD})
    assert other.get_cookie("remember_token") is None
