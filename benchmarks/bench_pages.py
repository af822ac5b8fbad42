"""Server time of the foundation's pages on the demo data (2,000 customers, ~43,000 transactions).

Runs against a fresh SQLite file, or the PostgreSQL database in DATABASE_URL (it must be empty: the
script migrates it and seeds the demo). Prints one table: median and p95 over repeated requests,
measured inside the process with the Flask test client (no network), so it shows the app's own cost.

    .venv/bin/python benchmarks/bench_pages.py [--repeat 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.report import scratch_dir  # noqa: E402

WORK = scratch_dir("survey-bench-")
os.environ.setdefault("SECRET_KEY", "benchmark-only")
os.environ["INSTANCE_PATH"] = str(WORK)
os.environ["RATELIMIT_ENABLED"] = "0"

from flask_migrate import upgrade  # noqa: E402

from benchmarks.report import engine_of, record  # noqa: E402
from survey_app import create_app  # noqa: E402
from survey_app.demo import seed_demo  # noqa: E402
from survey_app.extensions import db  # noqa: E402

PAGES = [
    ("home (signed in)", "/"),
    ("customer list", "/customers/"),
    ("customer list, page 50", "/customers/?page=50"),
    ("customer search", "/customers/?q=c01"),
    (
        "customer filter",
        "/customers/?segment=%E5%A4%A7%E5%AE%A2%E6%88%B7&region=%E5%8D%8E%E4%B8%9C",
    ),
    ("customer page", "/customers/1"),
    ("health check", "/healthz"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    app = create_app({"WTF_CSRF_ENABLED": False})
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        seed_demo(date(2026, 11, 1))
        db.session.commit()
        seeded = time.perf_counter() - started
    client = app.test_client()
    client.post("/login", data={"email": "staff@example.com", "password": "demo-staff-2026"})
    engine = app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0]
    print(f"engine: {engine}; demo seed took {seeded:.1f} s")
    print(f"{'page':<28}{'median ms':>12}{'p95 ms':>10}{'status':>8}")
    for label, url in PAGES:
        times, status = [], None
        for _ in range(args.repeat):
            started = time.perf_counter()
            status = client.get(url).status_code
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        p95 = times[int(0.95 * (len(times) - 1))]
        print(f"{label:<28}{statistics.median(times):>12.1f}{p95:>10.1f}{status:>8}")
        record(
            "pages",
            f"page: {label} (demo data)",
            statistics.median(times),
            "ms",
            engine=engine_of(engine),
        )


if __name__ == "__main__":
    main()
