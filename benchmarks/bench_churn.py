"""Benchmark: recomputing churn statuses and serving the analysis and at-risk pages.

Seeds the demo story (customers, two years of transactions, the churn chapter) into a throwaway
SQLite database for each size (or, for one size, into the empty database in DATABASE_URL), then
times the recompute and the pages as the server sees them (the test client, no network). The
recompute includes the analysis page's figures, which it stores; the page only reads them and
draws the charts. "first" is the first request after the
recompute (in this process, so it also pays the first use of templates and Plotly); "again" the
best of three later ones. Usage:

    .venv/bin/python benchmarks/bench_churn.py [SIZE ...]      (default: 2000 50000)
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

TMP = scratch_dir("bench-churn-")
os.environ.setdefault("SECRET_KEY", "benchmark-secret-key-not-for-production")
os.environ["INSTANCE_PATH"] = str(TMP / "instance")

import logging  # noqa: E402

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from benchmarks.report import best_of, engine_of, record  # noqa: E402
from survey_app import create_app  # noqa: E402
from survey_app.churn import services as churn_services  # noqa: E402
from survey_app.config import database_url  # noqa: E402
from survey_app.customers.models import Transaction  # noqa: E402
from survey_app.demo import DEMO_USERS, seed_demo  # noqa: E402
from survey_app.extensions import db  # noqa: E402

AS_OF = date(2026, 6, 30)
PAGES = [
    ("analysis (by tier)", "/churn/analysis"),
    ("analysis (by segment)", "/churn/analysis?group=segment"),
    ("at-risk list", "/churn/at-risk"),
    ("lost-customer register", "/churn/"),
    ("customer list, key tier", "/customers/?tier=key"),
    ("customer value (Pareto)", "/customers/value"),
]


def run(size: int) -> tuple[int, list[tuple[str, float]]]:
    url = (
        database_url()
        if os.environ.get("DATABASE_URL")
        else f"sqlite:///{TMP / f'bench-{size}.sqlite'}"
    )
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False}
    )
    rows = []
    with app.app_context():
        upgrade()
        start = time.perf_counter()
        seed_demo(AS_OF, customers=size)
        db.session.commit()
        rows.append(("seed demo (incl. two recomputes)", time.perf_counter() - start))
        transactions = db.session.scalar(sa.select(sa.func.count()).select_from(Transaction))

        def recompute():
            churn_services.recompute(AS_OF)
            db.session.commit()

        rows.append(("churn recompute", best_of(2, recompute)))
    client = app.test_client()
    email, password = DEMO_USERS[0][0], DEMO_USERS[0][1]
    assert client.post("/login", data={"email": email, "password": password}).status_code == 302
    for label, path in PAGES:
        start = time.perf_counter()
        assert client.get(path).status_code == 200, path
        rows.append((f"GET {label}: first", time.perf_counter() - start))
        rows.append((f"GET {label}: again", best_of(3, lambda p=path: client.get(p))))
    return transactions, rows


def main(argv: list[str]) -> None:
    logging.disable(logging.INFO)
    sizes = [int(a) for a in argv] or [2000, 50000]
    engine = engine_of(os.environ.get("DATABASE_URL", "sqlite"))
    if engine == "PostgreSQL" and len(sizes) > 1:
        sys.exit("with DATABASE_URL, give one size (each size needs an empty database)")
    results, volumes = {}, {}
    for size in sizes:
        volumes[size], rows = run(size)
        results[size] = dict(rows)
        print(f"done: {size:,} customers, {volumes[size]:,} transactions", file=sys.stderr)
    header = f"{'seconds, ' + engine:<44} " + " ".join(f"{f'{s:,} cust.':>14}" for s in sizes)
    print(header)
    print(f"{'transactions':<44} " + " ".join(f"{volumes[s]:>14,}" for s in sizes))
    for step in results[sizes[0]]:
        print(f"{step:<44} " + " ".join(f"{results[s][step]:>14.3f}" for s in sizes))
    for size in sizes:
        scale = f"{size:,} customers, {volumes[size]:,} transactions"
        record(
            "churn",
            f"churn recompute ({scale})",
            results[size]["churn recompute"],
            "s",
            engine=engine,
            target="< 10 s",
        )
        for label, _path in PAGES:
            record(
                "churn",
                f"churn GET {label}, first after recompute ({size:,} customers)",
                results[size][f"GET {label}: first"] * 1000,
                "ms",
                engine=engine,
                target="< 500 ms" if label.startswith("analysis") else "",
            )


if __name__ == "__main__":
    main(sys.argv[1:])
