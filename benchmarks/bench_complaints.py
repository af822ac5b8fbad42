"""Server time of the complaint staff list (with filters) and the analysis page at 100,000
complaints. Builds a throwaway SQLite database (or uses DATABASE_URL), prints a table.

    .venv/bin/python benchmarks/bench_complaints.py [--complaints 100000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.report import scratch_dir  # noqa: E402

TMP = scratch_dir("bench-complaints-")
os.environ.setdefault("INSTANCE_PATH", str(TMP))
os.environ.setdefault("SECRET_KEY", "bench")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{TMP / 'bench.sqlite'}")
os.environ["RATELIMIT_ENABLED"] = "0"

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from benchmarks.report import engine_of, record  # noqa: E402
from survey_app import create_app  # noqa: E402
from survey_app.accounts import services as accounts  # noqa: E402
from survey_app.complaints.models import Channel, Complaint, Severity, State  # noqa: E402
from survey_app.customers.models import Customer, Transaction  # noqa: E402
from survey_app.extensions import db  # noqa: E402
from survey_app.taxonomy.models import Reason  # noqa: E402

TARGET_MS = 300
NOW = datetime.now(UTC).replace(microsecond=0)


def seed(count: int) -> None:
    rng = np.random.default_rng(1)
    users = [
        accounts.create_user(f"s{i}@example.com", "bench-password-1", "staff") for i in range(5)
    ]
    accounts.create_user("m@example.com", "bench-password-1", "manager")
    db.session.flush()
    db.session.execute(
        sa.insert(Customer),
        [{"code": f"C{i:06d}", "name": f"客户{i}", "segment": "零售"} for i in range(20_000)],
    )
    db.session.execute(
        sa.insert(Transaction),
        [
            {
                "customer_id": int(rng.integers(1, 20_001)),
                "occurred_on": NOW.date() - timedelta(days=int(rng.integers(0, 700))),
                "amount": Decimal("100"),
                "margin": Decimal("20"),
            }
            for _ in range(60_000)
        ],
    )
    categories = list(db.session.scalars(sa.select(Reason.id).where(Reason.for_complaints)))
    states, severities, channels = list(State), list(Severity), list(Channel)
    rows = []
    # complaints arrive over time: ids follow the receipt time, as in a real table
    offsets = np.sort(rng.integers(0, 730 * 24 * 60, size=count))[::-1]
    for i in range(count):
        created = NOW - timedelta(minutes=int(offsets[i]))
        state = states[int(rng.integers(0, len(states)))]
        acked = created + timedelta(hours=float(rng.exponential(5)))
        resolved = acked + timedelta(hours=float(rng.exponential(40)))
        done = state in (State.RESOLVED, State.CLOSED)
        rows.append(
            {
                "code": f"TS{i:08d}",
                "token": f"tok{i:040d}",
                "state": state,
                "severity": severities[int(rng.integers(0, 4))],
                "channel": channels[int(rng.integers(0, 5))],
                "category_id": categories[int(rng.integers(0, len(categories)))],
                "contact_name": f"联系人{i}",
                "contact_email": f"c{i}@example.cn",
                "contact_phone": "",
                "description": "快递晚到，包装破损。" * 3,
                "order_ref": f"SO-{i}",
                "desired_outcome": "",
                "customer_id": int(rng.integers(1, 20_001)),
                "assignee_id": users[i % 5].id if i % 3 else None,
                "tier": "general",
                "root_cause_text": "",
                "corrective_action": "",
                "end_reason": "",
                "proposed_resolution": "",
                "created_at": created,
                "acknowledged_at": acked if state is not State.RECEIVED else None,
                "resolved_at": resolved if done else None,
                "ack_due_at": created + timedelta(hours=8),
                "resolve_due_at": created + timedelta(days=5),
                # the cron job escalates overdue complaints; what is left overdue is escalated
                "due_at": None
                if done or state in (State.WITHDRAWN, State.REJECTED)
                else (
                    created + timedelta(days=5)
                    if state is State.ESCALATED
                    else NOW + timedelta(hours=float(rng.uniform(1, 100)))
                ),
                "clock_started_at": created,
                "updated_at": created,
                "paused_seconds": 0,
                "reopen_count": int(rng.random() < 0.05),
                "version": 1,
            }
        )
        if len(rows) == 20_000:
            db.session.execute(sa.insert(Complaint), rows)
            rows = []
    if rows:
        db.session.execute(sa.insert(Complaint), rows)
    db.session.commit()
    settle()


def settle() -> None:
    """On PostgreSQL, vacuum and analyse the fresh rows, as autovacuum does on a running server
    soon after a bulk load: otherwise the timings depend on whether autovacuum (which also folds
    the trigram indexes' pending entries in) is done yet, or still running beside them. (SQLite
    has no such background work; it is left as the app leaves it, without statistics.)"""
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")


def timed(client, url: str, runs: int = 7) -> tuple[float, float]:
    client.get(url)  # warm caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--complaints", type=int, default=100_000)
    args = parser.parse_args()
    app = create_app({"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
        start = time.perf_counter()
        seed(args.complaints)
        print(
            f"seeded {args.complaints:,} complaints in {time.perf_counter() - start:.1f} s "
            f"({db.engine.dialect.name})"
        )
        engine = engine_of(db.engine.url.drivername)
    client = app.test_client()
    client.set_cookie("lang", "en")
    client.post("/login", data={"email": "m@example.com", "password": "bench-password-1"})
    staff = app.test_client()
    staff.post("/login", data={"email": "s1@example.com", "password": "bench-password-1"})
    pages = [
        ("staff list, newest", "/complaints/"),
        ("staff list, page 50 (keyset)", "/complaints/?before=" + str(args.complaints - 50 * 25)),
        ("list: state + severity", "/complaints/?state=investigating&severity=high"),
        ("list: overdue, open, category", "/complaints/?overdue=1&open=1&category=3"),
        ("list: assignee + date range", "/complaints/?assignee=2&from=2026-01-01&to=2026-03-31"),
        ("list: text search", "/complaints/?q=SO-4242"),
        ("my work (staff with ~13,000 assigned)", "/complaints/mine"),
        ("analysis, last 12 months", "/complaints/analysis"),
        (
            "analysis, 2 years by week",
            f"/complaints/analysis?from={NOW.date() - timedelta(days=730)}&to={NOW.date()}&by=week",
        ),
        ("analysis, filtered", "/complaints/analysis?severity=high&channel=phone"),
    ]
    print(f"{'page':<40} {'median ms':>10} {'max ms':>8}  target {TARGET_MS} ms")
    for label, url in pages:
        median, worst = timed(staff if url == "/complaints/mine" else client, url)
        flag = "ok" if median < TARGET_MS else "SLOW"
        print(f"{label:<40} {median:>10.0f} {worst:>8.0f}  {flag}")
        record(
            "complaints",
            f"complaints {label} ({args.complaints:,})",
            median,
            "ms",
            engine=engine,
            target=f"< {TARGET_MS} ms",
        )


if __name__ == "__main__":
    main()
