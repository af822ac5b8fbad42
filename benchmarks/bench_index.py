"""Benchmark: computing the composite index and rendering the management report on the demo data.

Seeds the demo story into a throwaway SQLite database (or the empty database in DATABASE_URL),
then times ``index compute`` for the default periods (the last 24 complete months and their
quarters, every group: the nightly job and what the report's "Recompute" job runs), one period,
and the report and a CSV export as the server sees them (the test client, no network; best of
three). Usage:

    .venv/bin/python benchmarks/bench_index.py [CUSTOMERS]      (default: 2000, the demo size)
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.report import scratch_dir  # noqa: E402

TMP = scratch_dir("bench-index-")
os.environ.setdefault("SECRET_KEY", "benchmark-secret-key-not-for-production")
os.environ["INSTANCE_PATH"] = str(TMP / "instance")

import logging  # noqa: E402

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from benchmarks.report import best_of, engine_of, record  # noqa: E402
from survey_app import create_app  # noqa: E402
from survey_app.config import database_url  # noqa: E402
from survey_app.demo import DEMO_USERS, seed_demo  # noqa: E402
from survey_app.extensions import db  # noqa: E402
from survey_app.index import services  # noqa: E402
from survey_app.index.models import IndexValue  # noqa: E402

AS_OF = date(2026, 10, 15)
PAGES = [
    ("report, latest quarter, all", "/index/"),
    ("report, a month, a segment", "/index/?granularity=month&period=2026-05&group=segment:零售"),
    ("report, a quarter, key tier", "/index/?period=2026-Q2&group=tier:key"),
    ("printable report", "/index/?print=1"),
    ("CSV export (trend)", "/index/export/trend.csv"),
]


def main(argv: list[str]) -> None:
    logging.disable(logging.INFO)
    size = int(argv[0]) if argv else 2000
    url = database_url() if os.environ.get("DATABASE_URL") else f"sqlite:///{TMP / 'bench.sqlite'}"
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False}
    )
    rows = []
    with app.app_context():
        upgrade()
        start = time.perf_counter()
        seed_demo(AS_OF, customers=size)
        db.session.commit()
        rows.append(("seed demo (incl. the index chapter)", time.perf_counter() - start, ""))
        periods = services.recent_periods(AS_OF)
        start = time.perf_counter()
        summary = services.compute(periods)
        db.session.commit()
        rows.append(
            (
                "index compute (default periods)",
                time.perf_counter() - start,
                f"{summary.values} values, {summary.periods} periods",
            )
        )
        one = [services.parse_period("2026-Q2")]
        rows.append(
            ("index compute --period 2026-Q2", best_of(3, lambda: services.compute(one)), "")
        )
        db.session.commit()
        stored = db.session.scalar(sa.select(sa.func.count(IndexValue.id)))
    client = app.test_client()
    manager = next(u for u in DEMO_USERS if u[2].value == "manager")
    assert (
        client.post("/login", data={"email": manager[0], "password": manager[1]}).status_code == 302
    )
    for label, path in PAGES:
        assert client.get(path).status_code == 200, path
        rows.append((f"GET {label}", best_of(3, lambda p=path: client.get(p)), ""))
    print(f"index benchmark: {size:,} customers, {stored:,} stored values ({engine_of(url)})")
    print(f"{'step':<44} {'seconds':>9}  note")
    for label, seconds, note in rows:
        print(f"{label:<44} {seconds:>9.3f}  {note}")
        if not label.startswith("seed"):
            unit_ms = label.startswith("GET")
            record(
                "index",
                f"{'index ' if unit_ms else ''}{label} ({size:,} customers)",
                seconds * 1000 if unit_ms else seconds,
                "ms" if unit_ms else "s",
                engine=engine_of(url),
            )


if __name__ == "__main__":
    main(sys.argv[1:])
