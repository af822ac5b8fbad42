"""Survey submissions/s and complaint intake/s through gunicorn on loopback, side by side with the
floor: a bare Flask endpoint doing one raw INSERT of the same rows (``http_floor_app.py``) under
the same gunicorn settings. Prints throughput, the ratio (target >= 0.5) and p50/p99 latencies,
on SQLite and then on a throwaway PostgreSQL (``scripts/with-postgres.sh``).

The load generator is a bounded Python one (threads, a fresh connection per request, as gunicorn's
sync workers close each one): every run sends a fixed number of requests, so it ends.

    .venv/bin/python benchmarks/bench_http.py [--requests 600] [--concurrency 8] [--workers 2]
                                              [--sqlite-only]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(n: int) -> dict:
    """A published pulse questionnaire, 2n invitations (n for the app, n for the floor)."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from survey_app import create_app
    from survey_app.customers.models import Customer
    from survey_app.db_types import utcnow
    from survey_app.extensions import db
    from survey_app.surveys import services as surveys
    from survey_app.surveys.models import Invitation
    from survey_app.taxonomy.services import by_code

    app = create_app()
    with app.app_context():
        upgrade()
        questionnaire = surveys.create_from_template(None, "pulse")
        surveys.change_status(None, questionnaire, "publish")
        db.session.execute(
            sa.insert(Customer), [{"code": f"B{i:06d}", "name": f"客户{i}"} for i in range(2 * n)]
        )
        ids = list(db.session.scalars(sa.select(Customer.id).order_by(Customer.id)))
        expires = utcnow() + timedelta(days=1)
        db.session.execute(
            sa.insert(Invitation),
            [
                {
                    "questionnaire_id": questionnaire.id,
                    "customer_id": cid,
                    "expires_at": expires,
                    "token": f"bench{cid:08d}",
                }
                for cid in ids
            ],
        )
        db.session.commit()
        version = questionnaire.current_version
        questions = {q.code: q.id for s in version.sections for q in s.questions}
        invitations = list(
            db.session.execute(sa.select(Invitation.id, Invitation.token).order_by(Invitation.id))
        )
        info = {
            "questionnaire_id": questionnaire.id,
            "version_id": version.id,
            "questions": questions,
            "app_tokens": [t for _i, t in invitations[:n]],
            "floor_invitations": [i for i, _t in invitations[n:]],
            "category_id": by_code("delivery").id,
        }
        db.session.remove()
        db.engine.dispose()
    return info


def start(module: str, port: int, workers: int, env: dict, log: Path) -> subprocess.Popen:
    handle = log.open("wb")
    process = subprocess.Popen(  # noqa: S603 (fixed arguments)
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            module,
        ],
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=handle,
    )
    handle.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"gunicorn {module} did not start; see {log}")


def load(port: int, requests: list, concurrency: int, prepare=None) -> dict:
    """Send every (path, body, content type) once, ``concurrency`` at a time."""
    latencies, failures, lock = [], [], threading.Lock()
    queue = list(reversed(requests))

    def worker():
        headers = prepare() if prepare else {}
        while True:
            with lock:
                if not queue:
                    return
                path, body, ctype = queue.pop()
            data = body(headers) if callable(body) else body
            began = time.perf_counter()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                connection.request("POST", path, data, {"Content-Type": ctype, **headers})
                status = connection.getresponse().status
            finally:
                connection.close()
            elapsed = time.perf_counter() - began
            with lock:
                latencies.append(elapsed)
                if status not in (201, 302):
                    failures.append(status)

    began = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    latencies.sort()
    return {
        "rate": len(latencies) / wall,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "failures": len(failures),
    }


def web_form_session(port: int):
    """A browser's first visit: the session cookie and the form's CSRF token."""

    def prepare():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/complaint")
        answer = connection.getresponse()
        page = answer.read().decode()
        cookie = answer.getheader("Set-Cookie", "").split(";")[0]
        connection.close()
        return {"Cookie": cookie, "X-Token": CSRF_RE.search(page).group(1)}

    return prepare


def run_backend(args, label: str) -> list[tuple]:
    n = args.requests
    info = seed(n)
    env = {**os.environ, "RATELIMIT_ENABLED": "0", "SURVEY_APP_ENV": "development"}
    tmp = Path(os.environ["INSTANCE_PATH"])
    app_port, floor_port = free_port(), free_port()
    app = start("wsgi:app", app_port, args.workers, env, tmp / "app.log")
    floor_env = {**env, "PYTHONPATH": f"{ROOT}:{ROOT / 'benchmarks'}"}
    floor = start("http_floor_app:app", floor_port, args.workers, floor_env, tmp / "floor.log")
    q = info["questions"]
    rows = []
    try:
        api_surveys = [
            (
                "/api/v1/survey-responses",
                json.dumps({"invitation_token": t, "answers": {"csat": 4, "nps": 8}}),
                "application/json",
            )
            for t in info["app_tokens"]
        ]
        floor_surveys = [
            (
                "/response",
                json.dumps(
                    {
                        "questionnaire_id": info["questionnaire_id"],
                        "version_id": info["version_id"],
                        "invitation_id": i,
                        "answers": [[q["csat"], 4], [q["nps"], 8]],
                    }
                ),
                "application/json",
            )
            for i in info["floor_invitations"]
        ]
        complaint = {
            "contact_name": "王芳",
            "contact_phone": "13800001111",
            "description": "The parcel arrived broken.",
        }
        api_complaints = [
            (
                "/api/v1/complaints",
                json.dumps({"category": "delivery", **complaint}),
                "application/json",
            )
        ] * n
        floor_complaints = [
            (
                "/complaint",
                json.dumps({"category_id": info["category_id"], **complaint}),
                "application/json",
            )
        ] * n

        def form_body(headers):
            return urllib.parse.urlencode(
                {"csrf_token": headers["X-Token"], "category_id": info["category_id"], **complaint}
            )

        form_complaints = [("/complaint", form_body, "application/x-www-form-urlencoded")] * n
        # Warm-up (not measured): every worker imports its code and opens its connections.
        load(app_port, api_complaints[:40], args.concurrency)
        load(floor_port, floor_complaints[:40], args.concurrency)
        floor_for_form = load(floor_port, floor_complaints, args.concurrency)
        for name, app_result, floor_result in (
            (
                "survey response (API)",
                load(app_port, api_surveys, args.concurrency),
                load(floor_port, floor_surveys, args.concurrency),
            ),
            ("complaint (API)", load(app_port, api_complaints, args.concurrency), floor_for_form),
            (
                "complaint (web form, CSRF)",
                load(app_port, form_complaints, args.concurrency, web_form_session(app_port)),
                floor_for_form,
            ),
        ):
            rows.append((label, name, app_result, floor_result))
    finally:
        for process in (app, floor):
            process.terminate()
            process.wait(timeout=30)
    return rows


def print_table(rows) -> None:
    head = (
        f"{'database':<11} {'operation':<27} {'app/s':>7} {'floor/s':>8} {'ratio':>6} "
        f"{'app p50/p99 ms':>15} {'floor p50/p99 ms':>17} {'errors':>6}"
    )
    print(head)
    print("-" * len(head))
    for label, name, a, f in rows:
        print(
            f"{label:<11} {name:<27} {a['rate']:>7.0f} {f['rate']:>8.0f} "
            f"{a['rate'] / f['rate']:>6.2f} {a['p50']:>7.1f}/{a['p99']:<7.1f} "
            f"{f['p50']:>8.1f}/{f['p99']:<8.1f} {a['failures'] + f['failures']:>6}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-http-"))
    os.environ["INSTANCE_PATH"] = str(tmp)
    os.environ.setdefault("SECRET_KEY", "bench-http")
    if args.child == "postgresql":
        rows = run_backend(args, "PostgreSQL")
        print(json.dumps(rows))
        return
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite'}"
    print(
        f"{args.requests} requests per row, {args.concurrency} concurrent, "
        f"gunicorn --workers {args.workers} on 127.0.0.1 (both apps)"
    )
    rows = run_backend(args, "SQLite")
    if not args.sqlite_only:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        child = subprocess.run(  # noqa: S603 (our own script, fixed arguments)
            [
                str(ROOT / "scripts" / "with-postgres.sh"),
                sys.executable,
                __file__,
                "--child",
                "postgresql",
                "--requests",
                str(args.requests),
                "--concurrency",
                str(args.concurrency),
                "--workers",
                str(args.workers),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=True,
        )
        rows += [tuple(row) for row in json.loads(child.stdout.strip().splitlines()[-1])]
    print_table(rows)


if __name__ == "__main__":
    main()
