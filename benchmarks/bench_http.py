"""Survey submissions/s and complaint intake/s through gunicorn on loopback, side by side with the
floor: a bare Flask endpoint doing one raw INSERT of the same rows (``http_floor_app.py``) under
the same gunicorn settings, sent the same kind of request (JSON for the API rows; for the web
form, the same url-encoded post with the same cookie, whose fields the floor reads). Prints
throughput, the ratio (target >= 0.5) and p50/p99 latencies, on SQLite and then on a throwaway
PostgreSQL (``scripts/with-postgres.sh``).

The load generator is wrk (Debian's package; ``make bench`` installs it when missing), on
loopback, for a fixed number of seconds per row; a Lua script gives every survey request its own
invitation (each answers once), so no request is wasted on a refusal. Every row is checked: a
non-2xx/3xx answer or a socket error is counted in the errors column.

    .venv/bin/python benchmarks/bench_http.py [--seconds 5] [--connections 8] [--workers 2]
                                              [--sqlite-only]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.report import keep_scratch, record, scratch_dir  # noqa: E402

#: the complaint every complaint row files (the API, the web form and their floors)
COMPLAINT = {
    "contact_name": "王芳",
    "contact_phone": "13800001111",
    "description": "The parcel arrived broken.",
}
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
                    "token": f"bench{number:08d}",
                }
                for number, cid in enumerate(ids, start=1)
            ],
        )
        db.session.commit()
        version = questionnaire.current_version
        questions = {q.code: q.id for s in version.sections for q in s.questions}
        invitations = list(
            db.session.execute(sa.select(Invitation.id, Invitation.token).order_by(Invitation.id))
        )
        ids = [i for i, _t in invitations]
        assert ids == list(range(ids[0], ids[0] + 2 * n)), "invitation ids are contiguous"
        assert invitations[0][1] == "bench00000001"
        info = {
            "questionnaire_id": questionnaire.id,
            "version_id": version.id,
            "questions": questions,
            "app_first": 1,  # the app answers the invitations with tokens bench00000001 ..
            "floor_first": ids[n],  # the floor the next n
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
            "--preload",  # workers start with the app imported: no import stall in a measurement
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


WRK = shutil.which("wrk") or "/usr/bin/wrk"
LUA = """
local counter = 0
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
request = function()
  counter = counter + 1
  local n = FIRST + id * STRIDE + counter - 1
  return wrk.format("POST", PATH, HEADERS, string.format(BODY, n))
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.status + e.connect + e.read + e.write + e.timeout))
end
"""


def lua_string(text: str) -> str:
    """A Lua string literal (JSON's escapes for ASCII text are Lua's too)."""
    assert text.isascii(), text
    return json.dumps(text)


def load(
    port: int,
    path: str,
    body: str,
    headers: dict,
    args,
    *,
    first: int = 0,
    capacity: int = 0,
    seconds: float | None = None,
) -> dict:
    """wrk for ``seconds`` against ``path``. ``body`` is a Lua ``string.format`` pattern: a
    ``%d`` in it becomes a number unique to the request, from ``first`` up (each of the wrk
    threads takes its own ``capacity // threads`` numbers); ``%%`` is a literal percent."""
    threads = 2
    script = (
        LUA.replace("FIRST", str(first))
        .replace("STRIDE", str(max(capacity // threads, 1)))
        .replace("PATH", lua_string(path))
        .replace(
            "HEADERS",
            "{"
            + ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items())
            + "}",
        )
        .replace("BODY", lua_string(body))
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        out = subprocess.run(  # noqa: S603 (fixed arguments)
            [
                WRK,
                f"-t{threads}",
                f"-c{args.connections}",
                f"-d{round(seconds or args.seconds)}s",
                "--timeout",
                "30s",
                "-s",
                handle.name,
                f"http://127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
    finally:
        os.unlink(handle.name)
    requests, micros, p50, p99, errors = map(int, out.split("RESULT")[1].split())
    return {
        "seconds": micros / 1e6,
        "rate": requests / (micros / 1e6),
        "p50": p50 / 1000,
        "p99": p99 / 1000,
        "failures": errors,
        "requests": requests,
    }


def web_form_session(port: int) -> dict:
    """A browser's first visit: the session cookie and the form's CSRF token."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/complaint")
    answer = connection.getresponse()
    page = answer.read().decode()
    cookie = answer.getheader("Set-Cookie", "").split(";")[0]
    connection.close()
    return {"Cookie": cookie, "token": CSRF_RE.search(page).group(1)}


def run_backend(args, label: str) -> list[tuple]:
    # enough invitations for the fastest rate seen here (the floor) for the whole run, twice
    n = (args.seconds + 1) * 4000
    info = seed(n)
    env = {**os.environ, "RATELIMIT_ENABLED": "0", "SURVEY_APP_ENV": "development"}
    tmp = Path(os.environ["INSTANCE_PATH"])
    app_port, floor_port = free_port(), free_port()
    app = start("wsgi:app", app_port, args.workers, env, tmp / "app.log")
    floor_env = {**env, "PYTHONPATH": f"{ROOT}:{ROOT / 'benchmarks'}"}
    floor = start("http_floor_app:app", floor_port, args.workers, floor_env, tmp / "floor.log")
    q = info["questions"]
    json_type = {"Content-Type": "application/json"}
    api_complaint = json.dumps({"category": "delivery", **COMPLAINT}).replace("%", "%%")
    floor_complaint = json.dumps({"category_id": info["category_id"], **COMPLAINT})
    floor_complaint = floor_complaint.replace("%", "%%")
    api_survey = '{"invitation_token": "bench%08d", "answers": {"csat": 4, "nps": 8}}'
    floor_survey = (
        f'{{"questionnaire_id": {info["questionnaire_id"]}, "version_id": {info["version_id"]}, '
        f'"invitation_id": %d, "answers": [[{q["csat"]}, 4], [{q["nps"]}, 8]]}}'
    )
    rows = []
    block = 4000  # invitations per one-second round: more than the floor answers in a second
    next_invitation = {"app": info["app_first"], "floor": info["floor_first"]}

    def survey(side: str) -> Callable[[], dict]:
        port, path, body = (
            (app_port, "/api/v1/survey-responses", api_survey)
            if side == "app"
            else (floor_port, "/response", floor_survey)
        )

        def run() -> dict:
            first = next_invitation[side]
            next_invitation[side] += block
            return load(port, path, body, json_type, args, first=first, capacity=block, seconds=1)

        return run

    try:
        # Warm-up (not measured): every worker opens its connections and fills its caches.
        for port, path, body in (
            (app_port, "/api/v1/complaints", api_complaint),
            (floor_port, "/complaint", floor_complaint),
        ):
            load(port, path, body, json_type, args, seconds=1)
        survey("app")()
        survey("floor")()
        browser = web_form_session(app_port)
        form_body = urllib.parse.urlencode(
            {"csrf_token": browser["token"], "category_id": info["category_id"], **COMPLAINT}
        ).replace("%", "%%")
        form_headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": browser["Cookie"],
        }

        def fixed(port, path, body, headers):
            return lambda: load(port, path, body, headers, args, seconds=1)

        floor_complaints = fixed(floor_port, "/complaint", floor_complaint, json_type)
        for name, app_run, floor_run in (
            ("survey response (API)", survey("app"), survey("floor")),
            (
                "complaint (API)",
                fixed(app_port, "/api/v1/complaints", api_complaint, json_type),
                floor_complaints,
            ),
            (
                "complaint (web form, CSRF)",
                fixed(app_port, "/complaint", form_body, form_headers),
                # the same post: the floor reads the form's fields as any form handler does
                fixed(floor_port, "/complaint-form", form_body, form_headers),
            ),
        ):
            app_result, floor_result = interleaved(app_run, floor_run, args.seconds)
            rows.append((label, name, app_result, floor_result))
    finally:
        for process in (app, floor):
            process.terminate()
            process.wait(timeout=30)
    return rows


def interleaved(app_run, floor_run, rounds: int) -> tuple[dict, dict]:
    """One-second runs of the app and the floor, alternating, so that whatever else the noisy
    machine does weighs on both alike. Rate: all requests over all seconds; p50: the median of
    the rounds' p50; p99: the worst round's p99."""
    results: dict[str, list[dict]] = {"app": [], "floor": []}
    for _ in range(rounds):
        results["app"].append(app_run())
        results["floor"].append(floor_run())
    return tuple(combine(results[side]) for side in ("app", "floor"))


def combine(parts: list[dict]) -> dict:
    return {
        "rate": sum(p["requests"] for p in parts) / sum(p["seconds"] for p in parts),
        "p50": sorted(p["p50"] for p in parts)[len(parts) // 2],
        "p99": max(p["p99"] for p in parts),
        "failures": sum(p["failures"] for p in parts),
        "requests": sum(p["requests"] for p in parts),
    }


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


def _keep_logs_of_errors(rows, tmp: Path) -> None:
    """Keep the run's directory (the app's and the floor's gunicorn logs) when a row had errors."""
    if any(app["failures"] or floor["failures"] for _label, _name, app, floor in rows):
        keep_scratch(tmp, "errors in the table: the gunicorn logs (app.log, floor.log) are")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not Path(WRK).exists():
        sys.exit("wrk is missing: `make bench` installs it (apt-get install wrk)")
    tmp = scratch_dir("bench-http-")
    os.environ["INSTANCE_PATH"] = str(tmp)
    os.environ.setdefault("SECRET_KEY", "bench-http")
    if args.child == "postgresql":
        rows = run_backend(args, "PostgreSQL")
        _keep_logs_of_errors(rows, tmp)
        print(json.dumps(rows))
        return
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite'}"
    print(
        f"wrk, {args.seconds:g} s per row, {args.connections} connections, "
        f"gunicorn --workers {args.workers} on 127.0.0.1 (both apps)"
    )
    rows = run_backend(args, "SQLite")
    _keep_logs_of_errors(rows, tmp)
    if not args.sqlite_only:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        child = subprocess.run(  # noqa: S603 (our own script, fixed arguments)
            [
                str(ROOT / "scripts" / "with-postgres.sh"),
                sys.executable,
                __file__,
                "--child",
                "postgresql",
                "--seconds",
                str(args.seconds),
                "--connections",
                str(args.connections),
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
    for label, name, a, f in rows:
        for what, value, unit in (
            (f"{name}: app / floor", a["rate"] / f["rate"], "ratio"),
            (f"{name}: app", a["rate"], "req/s"),
            (f"{name}: app p50", a["p50"], "ms"),
            (f"{name}: app p99", a["p99"], "ms"),
        ):
            target = ">= 0.5" if unit == "ratio" else ""
            record("http", what, value, unit, engine=label, target=target)


if __name__ == "__main__":
    main()
