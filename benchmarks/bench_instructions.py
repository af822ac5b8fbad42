"""Instructions per request of the three write rows of ``bench_http.py`` and of their floors,
counted by valgrind's callgrind in-process on SQLite (the WSGI apps called directly, the same
requests as ``bench_http`` sends). Repeatable to about half a percent, where timings on a noisy
machine move by ten: run it before and after a change to a write path to see a gain of one or
two percent. Not a throughput measurement: no HTTP server, no gunicorn, and no kernel time (the
SQLite file's writes are system calls); ``bench_http`` measures throughput.

Each row runs in its own valgrind process on its own copy of one seeded database: it warms up
(caches, compiled statements, a first checkpoint of the write-ahead log), then counts
``--requests`` requests, each of which must succeed. Needs valgrind (Debian's package; ``make
bench`` installs it when missing).

    .venv/bin/python benchmarks/bench_instructions.py [--requests 100] [--rows survey api form]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from benchmarks.bench_http import COMPLAINT, CSRF_RE, seed  # noqa: E402
from benchmarks.report import record, scratch_dir  # noqa: E402

VALGRIND = shutil.which("valgrind") or "/usr/bin/valgrind"
CONTROL = shutil.which("callgrind_control") or "/usr/bin/callgrind_control"
#: row -> (label, the app's expected status, the floor's)
ROWS = {
    "survey": ("survey response (API)", "201", "201"),
    "api": ("complaint (API)", "201", "201"),
    "form": ("complaint (web form, CSRF)", "302", "201"),
}
WARM_UP = 30


def _environ(method, path, body=b"", content_type=None, cookie=None) -> dict:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
        "HTTP_HOST": "127.0.0.1:8000",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
    }
    if content_type:
        environ["CONTENT_TYPE"] = content_type
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    return environ


def _call(app, environ) -> tuple[str, list, bytes]:
    started = []

    def start_response(status, headers, _exc_info=None):
        started.append((status, headers))

    body = b"".join(app(environ, start_response))
    return started[0][0], started[0][1], body


def child(row: str, side: str, count: int, info: dict) -> None:
    """Run in valgrind: warm up, then count ``count`` requests of ``row`` on ``side``."""
    import http_floor_app

    import wsgi

    app, floor = wsgi.app, http_floor_app.app
    status, headers, page = _call(app, _environ("GET", "/complaint"))
    cookie = next(v for k, v in headers if k == "Set-Cookie").split(";")[0]
    token = CSRF_RE.search(page.decode()).group(1)
    form = urllib.parse.urlencode(
        {"csrf_token": token, "category_id": info["category_id"], **COMPLAINT}
    ).encode()
    questions = info["questions"]

    def request(i: int) -> tuple:
        """The i-th request: the WSGI app and its environ."""
        if row == "form":
            path = "/complaint" if side == "app" else "/complaint-form"
            target = app if side == "app" else floor
            return target, _environ("POST", path, form, "application/x-www-form-urlencoded", cookie)
        if row == "survey" and side == "app":
            path = "/api/v1/survey-responses"
            body = {"invitation_token": f"bench{info['app_first'] + i:08d}"}
            body["answers"] = {"csat": 4, "nps": 8}
        elif row == "survey":
            path = "/response"
            body = {"questionnaire_id": info["questionnaire_id"], "version_id": info["version_id"]}
            body["invitation_id"] = info["floor_first"] + i
            body["answers"] = [[questions["csat"], 4], [questions["nps"], 8]]
        elif side == "app":
            path, body = "/api/v1/complaints", {"category": "delivery", **COMPLAINT}
        else:
            path, body = "/complaint", {"category_id": info["category_id"], **COMPLAINT}
        target = app if side == "app" else floor
        return target, _environ("POST", path, json.dumps(body).encode(), "application/json")

    expected = ROWS[row][1 if side == "app" else 2]
    requests = [request(i) for i in range(WARM_UP + count)]
    statuses = [_call(*r)[0] for r in requests[:WARM_UP]]
    instrument = [CONTROL, "--instr=on", str(os.getpid())]
    subprocess.run(instrument, check=True, capture_output=True)  # noqa: S603 (fixed arguments)
    statuses += [_call(*r)[0] for r in requests[WARM_UP:]]
    instrument[1] = "--instr=off"
    subprocess.run(instrument, check=True, capture_output=True)  # noqa: S603
    wrong = [s for s in statuses if not s.startswith(expected)]
    if wrong:
        sys.exit(f"{row}/{side}: {len(wrong)} requests answered {wrong[0]}, not {expected}")


def count(row: str, side: str, requests: int, database: Path, info: dict, tmp: Path) -> int:
    """The instructions per request of one row and side, in a valgrind process of its own."""
    copy = tmp / f"{row}-{side}.sqlite"
    shutil.copy(database, copy)
    log = tmp / f"{row}-{side}.log"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{copy}", "PYTHONHASHSEED": "0"}
    command = [
        VALGRIND,
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={tmp / f'{row}-{side}.out'}",
        f"--log-file={log}",
        sys.executable,
        __file__,
        "--child",
        json.dumps([row, side, requests, info]),
    ]
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise RuntimeError(f"{row}/{side} failed: {result.stderr[-2000:]}")
    collected = re.search(r"Collected : (\d+)", log.read_text())
    return int(collected.group(1)) // requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--rows", nargs="+", choices=list(ROWS), default=list(ROWS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", "bench-instructions")
    os.environ["RATELIMIT_ENABLED"] = "0"
    os.environ["SURVEY_APP_ENV"] = "development"
    if args.child:
        child(*json.loads(args.child))
        return
    if not Path(VALGRIND).exists():
        sys.exit("valgrind is missing: `make bench` installs it (apt-get install valgrind)")
    tmp = scratch_dir("bench-instructions-")
    os.environ["INSTANCE_PATH"] = str(tmp)
    database = tmp / "seeded.sqlite"
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    info = seed(WARM_UP + args.requests)
    jobs = [(row, side) for row in args.rows for side in ("app", "floor")]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counts = dict(
            zip(
                jobs,
                pool.map(lambda job: count(*job, args.requests, database, info, tmp), jobs),
                strict=True,
            )
        )
    print(f"\ninstructions per request (callgrind, SQLite, in-process, {args.requests} requests)")
    head = f"{'operation':<27} {'app':>11} {'floor':>11} {'floor/app':>10}"
    print(head)
    print("-" * len(head))
    for row in args.rows:
        app, floor = counts[(row, "app")], counts[(row, "floor")]
        print(f"{ROWS[row][0]:<27} {app:>11,} {floor:>11,} {floor / app:>10.3f}")
        name = ROWS[row][0]
        record("instructions", f"{name}: app", app, "instr", engine="SQLite")
        record("instructions", f"{name}: floor / app", floor / app, "ratio", engine="SQLite")


if __name__ == "__main__":
    main()
