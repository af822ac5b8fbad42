"""Shared fixtures: one app per test session, an empty database for every test, signed-in clients.

The database is SQLite in a temporary folder, or the PostgreSQL server named by ``DATABASE_URL``
(``make test-pg``). Its schema is built by the Alembic migrations, never by ``create_all``.
"""

from __future__ import annotations

import os
import re
import socketserver
import tempfile
import threading
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="survey-app-tests-"))
os.environ["SURVEY_APP_ENV"] = "testing"
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ["INSTANCE_PATH"] = str(_TMP / "instance")

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from flask_migrate import downgrade, upgrade  # noqa: E402

from survey_app import create_app  # noqa: E402
from survey_app.accounts import services as account_services  # noqa: E402
from survey_app.complaints.services import forget_settings  # noqa: E402
from survey_app.extensions import db, limiter  # noqa: E402
from survey_app.taxonomy.services import ensure_default_reasons  # noqa: E402

TEST_DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{_TMP / 'test.sqlite'}"
PASSWORD = "correct-horse-battery"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _drop_everything() -> None:
    db.session.remove()
    meta = sa.MetaData()
    meta.reflect(bind=db.engine)
    meta.drop_all(bind=db.engine)


@pytest.fixture(scope="session")
def app():
    from survey_app.config import database_url

    os.environ["DATABASE_URL"] = TEST_DATABASE_URL
    application = create_app({"SQLALCHEMY_DATABASE_URI": database_url()})
    with application.app_context():
        _drop_everything()
        # Every test session proves the migrations both ways on an empty database.
        upgrade()
        downgrade(revision="base")
        upgrade()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean_state(request):
    """Every test starts with empty tables and fresh rate-limit counters."""
    yield
    if "app" not in request.fixturenames:
        return
    application = request.getfixturevalue("app")
    with application.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())
        ensure_default_reasons()  # reference data the migrations provide
        db.session.commit()
        limiter.reset()
        forget_settings()  # the SLA settings this process read are gone with the rows


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    """Factory: ``make_user(role="staff", email=None)`` creates and commits a user."""
    counter = {"n": 0}

    def factory(
        role: str = "staff", email: str | None = None, password: str = PASSWORD, name: str = ""
    ):
        counter["n"] += 1
        address = email or f"{role}{counter['n']}@example.com"
        with app.app_context():
            user = account_services.create_user(address, password, role, name)
            db.session.commit()
            return user.id, address

    return factory


def csrf_token(client, url: str = "/login") -> str:
    page = client.get(url)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def post_form(client, url: str, data: dict, *, form_url: str | None = None, **kwargs):
    """POST a form the way a browser does: with the CSRF token of the page that shows it."""
    payload = {"csrf_token": csrf_token(client, form_url or url), **data}
    return client.post(url, data=payload, **kwargs)


def sign_in(client, email: str, password: str = PASSWORD):
    return post_form(client, "/login", {"email": email, "password": password})


@pytest.fixture
def login(client, make_user):
    """``login("manager")`` signs the test client in as a new user of that role."""

    def do_login(role: str = "staff"):
        _user_id, email = make_user(role)
        response = sign_in(client, email)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return do_login


ROOT = Path(__file__).resolve().parent.parent


def _missing_build_outputs() -> list[str]:
    """What ``make translations assets`` builds and the suite needs, if missing or stale."""
    missing = []
    for po in sorted((ROOT / "translations").glob("*/LC_MESSAGES/messages.po")):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            missing.append(f"{mo.relative_to(ROOT)} (compiled from {po.name})")
    if not (ROOT / "static" / "vendor" / "plotly.min.js").exists():
        missing.append("static/vendor/plotly.min.js")
    return missing


def pytest_sessionstart(session):
    missing = _missing_build_outputs()
    if missing:
        pytest.exit(
            "missing or older than their sources: "
            + ", ".join(missing)
            + ". `make test` builds them; to run pytest directly, run "
            "`make translations assets` first.",
            returncode=4,
        )


def pytest_report_header(config):
    return f"database under test: {TEST_DATABASE_URL.split('@')[-1]}"


# --- e-mail -------------------------------------------------------------------------------------


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) to accept messages and keep them for the test."""

    def reply(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())

    def handle(self) -> None:
        self.reply("220 test SMTP")
        recipients, data_mode, lines = [], False, []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if data_mode:
                if line == ".":
                    self.server.messages.append((recipients, "\n".join(lines)))
                    recipients, data_mode, lines = [], False, []
                    self.reply("250 OK")
                else:
                    lines.append(line)
                continue
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 test")
            elif verb == "RCPT":
                recipient = line.split(":", 1)[1].strip(" <>")
                if recipient in self.server.refuse:
                    self.reply("550 no such mailbox")
                    continue
                recipients.append(recipient)
                self.reply("250 OK")
            elif verb == "DATA":
                data_mode = True
                self.reply("354 go ahead")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 OK")


@pytest.fixture
def smtp_server(app):
    """A real SMTP server on loopback that keeps what it is sent (``.messages``: recipients and
    the raw message), configured as the app's ``SMTP_HOST``."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.daemon_threads = True
    server.messages = []
    server.refuse = set()  # addresses answered "550 no such mailbox"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    old = {k: app.config.get(k) for k in ("SMTP_HOST", "SMTP_PORT", "SMTP_FROM")}
    app.config.update(
        SMTP_HOST="127.0.0.1", SMTP_PORT=server.server_address[1], SMTP_FROM="survey@example.com"
    )
    yield server
    app.config.update(old)
    server.shutdown()
    server.server_close()
