"""Server time of a questionnaire's results page with 200,000 responses (and of the detractor
follow-up list and the home overview over them).

Seeds a throwaway database (SQLite by default; PostgreSQL when DATABASE_URL is set) with a
published pulse questionnaire and RESPONSES complete responses (about 650,000 answers), then
times GET /surveys/<id>/results through the WSGI app (no network), unfiltered and filtered.
Target: under 300 ms. Run: ``.venv/bin/python benchmarks/bench_survey_results.py``.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESPONSES = int(os.environ.get("BENCH_RESPONSES", "200000"))
REPEAT = 7
from benchmarks.report import scratch_dir  # noqa: E402

# BENCH_DIR: a directory of your own, left in place afterwards
TMP = (
    Path(os.environ["BENCH_DIR"]) if os.environ.get("BENCH_DIR") else scratch_dir("bench-surveys-")
)
os.environ.setdefault("SECRET_KEY", "benchmark-only")
os.environ["INSTANCE_PATH"] = str(TMP)
os.environ["RATELIMIT_ENABLED"] = "false"


def main() -> None:
    from flask_migrate import upgrade

    from benchmarks.report import engine_of, record
    from survey_app import create_app
    from survey_app.accounts import services as account_services
    from survey_app.config import database_url
    from survey_app.customers.models import Customer
    from survey_app.extensions import db
    from survey_app.surveys import services
    from survey_app.surveys.demo import bulk_responses
    from survey_app.surveys.models import Channel

    url = database_url() if os.environ.get("DATABASE_URL") else f"sqlite:///{TMP / 'bench.sqlite'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False})
    rng = np.random.default_rng(1)
    with app.app_context():
        everything = db.MetaData()
        everything.reflect(bind=db.engine)
        everything.drop_all(bind=db.engine)  # a clean slate, Alembic's own table included
        upgrade()
        account_services.create_user("bench@example.com", "bench-password-1", "manager", "Bench")
        db.session.add_all(
            Customer(code=f"B{i:05d}", name=f"客户{i}", segment=("零售", "大客户")[i % 2])
            for i in range(2000)
        )
        db.session.flush()
        questionnaire = services.create_from_template(None, "pulse")
        services.change_status(None, questionnaire, "publish")
        db.session.commit()
        start = time.perf_counter()
        now = datetime(2026, 11, 1, tzinfo=UTC)
        days = rng.integers(0, 730, RESPONSES)
        csat = rng.integers(1, 6, RESPONSES)
        nps = rng.integers(0, 11, RESPONSES)
        customers = rng.integers(1, 2001, RESPONSES)
        records = []
        for i in range(RESPONSES):
            answers = {"csat": int(csat[i]), "nps": int(nps[i])}
            if csat[i] <= 3:
                answers["what_wrong"] = "送货太慢"
            records.append(
                {
                    "submitted_at": now - timedelta(days=int(days[i]), minutes=i % 1440),
                    "customer_id": int(customers[i]),
                    "channel": Channel.INVITATION if i % 3 else Channel.PUBLIC,
                    "answers": answers,
                }
            )
        records.sort(key=lambda r: r["submitted_at"])
        bulk_responses(questionnaire, records, batch=20000)
        db.session.commit()
        db.session.execute(db.text("ANALYZE"))  # fresh planner statistics, as after a restore
        db.session.commit()
        seeded = time.perf_counter() - start
        qid = questionnaire.id

    client = app.test_client()
    client.post("/login", data={"email": "bench@example.com", "password": "bench-password-1"})
    pages = {
        "results, no filter": f"/surveys/{qid}/results?end=2026-11-01",
        "results, segment + channel": (
            f"/surveys/{qid}/results?end=2026-11-01&segment=零售&channel=invitation"
        ),
        "results, one quarter": f"/surveys/{qid}/results?start=2026-07-01&end=2026-09-30",
        # the detractor work list (its default: waiting, 90 days) and the home page's cards
        "detractor follow-up": "/surveys/followups",
        "home overview": "/",
    }
    print(f"database: {url.split('://')[0]}; {RESPONSES:,} responses seeded in {seeded:.1f} s")
    print(f"{'page':<30} {'median ms':>10} {'min ms':>8} {'max ms':>8}  target < 300 ms")
    for label, path in pages.items():
        assert client.get(path).status_code == 200  # warm-up
        times = []
        for _ in range(REPEAT):
            t0 = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200
        median = statistics.median(times)
        verdict = "ok" if median < 300 else "SLOW"
        print(f"{label:<30} {median:>10.0f} {min(times):>8.0f} {max(times):>8.0f}  {verdict}")
        record(
            "survey_results",
            f"survey {label} ({RESPONSES:,} responses)",
            median,
            "ms",
            engine=engine_of(url),
            target="< 300 ms",
        )


if __name__ == "__main__":
    main()
