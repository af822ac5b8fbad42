"""Load with a fault: concurrent survey submissions and complaint filings through real gunicorn
workers on loopback while one worker is killed with SIGKILL midway.

Afterwards every request that got a success answer is in the database exactly once; nothing is
stored that was not sent; and the only stored rows without a success answer belong to requests
whose connection died with the worker (committed, then killed before the answer left): a client
cannot tell those from lost ones, which is why a retry must be safe (the invitation refuses a
second response; a complaint retry would be a new complaint, so the count is reported)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from survey_app.complaints.models import Complaint
from survey_app.customers.models import Customer
from survey_app.db_types import utcnow
from survey_app.extensions import db
from survey_app.surveys import services as surveys
from survey_app.surveys.models import Invitation, Response
from tests.conftest import TEST_DATABASE_URL

ROOT = Path(__file__).resolve().parent.parent
SURVEYS = 80
COMPLAINTS = 80


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _post(url: str, body: dict):
    request = urllib.request.Request(  # noqa: S310 (a loopback http URL built here)
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, None
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError, OSError):
        # the connection died (before the answer, or in the middle of it, as IncompleteRead):
        # the outcome is unknown to the client
        return None, None


def _workers(master: int) -> list[int]:
    path = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in path.read_text().split()] if path.exists() else []


def _seed(app) -> list[str]:
    with app.app_context():
        questionnaire = surveys.create_from_template(None, "pulse")
        surveys.change_status(None, questionnaire, "publish")
        tokens = []
        for n in range(SURVEYS):
            customer = Customer(code=f"F{n:03d}", name=f"Fault {n}")
            db.session.add(customer)
            db.session.flush()
            invitation = Invitation(
                questionnaire_id=questionnaire.id,
                customer_id=customer.id,
                expires_at=utcnow() + timedelta(days=1),
            )
            db.session.add(invitation)
            db.session.flush()
            tokens.append(invitation.token)
        db.session.commit()
        return tokens


def test_killed_worker_loses_no_acknowledged_write(app, tmp_path):
    tokens = _seed(app)
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": TEST_DATABASE_URL,
        "SURVEY_APP_ENV": "testing",
        "RATELIMIT_ENABLED": "0",
        "INSTANCE_PATH": str(tmp_path / "instance"),
    }
    log = (tmp_path / "gunicorn.log").open("wb")
    server = subprocess.Popen(  # noqa: S603 (our own gunicorn, fixed arguments)
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "2",
            "--threads",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2).close()  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("gunicorn did not start")
        while len(_workers(server.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)

        jobs = []
        for n in range(max(SURVEYS, COMPLAINTS)):
            if n < SURVEYS:
                jobs.append(
                    ("survey", n, {"invitation_token": tokens[n], "answers": {"csat": 4, "nps": 8}})
                )
            if n < COMPLAINTS:
                jobs.append(
                    (
                        "complaint",
                        n,
                        {
                            "category": "delivery",
                            "contact_name": "Fault",
                            "contact_phone": "1",
                            "description": f"fault-{n}",
                        },
                    )
                )
        url = {
            "survey": f"{base}/api/v1/survey-responses",
            "complaint": f"{base}/api/v1/complaints",
        }
        killed = []

        def send(job):
            kind, n, body = job
            if kind == "complaint" and n == COMPLAINTS // 2 and not killed:
                victim = _workers(server.pid)[0]
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)
            return kind, n, *_post(url[kind], body)

        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(send, jobs))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()

    assert killed, "no worker was killed"
    ok_surveys = {n for kind, n, status, _ in results if kind == "survey" and status == 201}
    ok_complaints = {
        n: body["code"]
        for kind, n, status, body in results
        if kind == "complaint" and status == 201
    }
    unknown = {(kind, n) for kind, n, status, _ in results if status is None}
    refused = [
        (kind, n, status)
        for kind, n, status, _ in results
        if status is not None and status not in (201,)
    ]
    assert all(status < 500 for _kind, _n, status in refused), refused
    assert len(ok_surveys) + len(ok_complaints) >= (SURVEYS + COMPLAINTS) // 2

    with app.app_context():
        stored = db.session.execute(sa.select(Complaint.description, Complaint.code)).all()
        by_marker: dict[str, list[str]] = {}
        for description, code in stored:
            by_marker.setdefault(description, []).append(code)
        # each acknowledged complaint exactly once, under the code it was acknowledged with
        for n, code in ok_complaints.items():
            assert by_marker.get(f"fault-{n}") == [code]
        # nothing stored that was not sent; nothing extra except where the answer was lost
        for marker, codes in by_marker.items():
            n = int(marker.removeprefix("fault-"))
            assert len(codes) == 1
            assert n in ok_complaints or ("complaint", n) in unknown, marker
        submitted = dict(
            db.session.execute(
                sa.select(Invitation.token, Response.submitted_at).join(
                    Response, Response.invitation_id == Invitation.id
                )
            ).all()
        )
        for n in ok_surveys:
            assert submitted.get(tokens[n]) is not None
        for token, submitted_at in submitted.items():
            n = tokens.index(token)
            assert submitted_at is not None, "a half-written response survived the kill"
            assert n in ok_surveys or ("survey", n) in unknown
        counts = db.session.execute(
            sa.select(Response.invitation_id, sa.func.count()).group_by(Response.invitation_id)
        ).all()
        assert all(count == 1 for _id, count in counts)
