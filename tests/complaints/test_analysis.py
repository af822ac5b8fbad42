"""The managers' analysis checked against pandas on the raw rows of seeded complaints."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from survey_app.complaints import queries, services
from survey_app.complaints.models import Channel, Severity
from survey_app.customers.models import Customer, Transaction
from survey_app.extensions import db
from survey_app.taxonomy.services import by_code
from tests.conftest import sign_in

START = datetime(2025, 1, 6, 2, 0, tzinfo=UTC)
PERIOD_END = date(2025, 6, 30)


def _seed(world):
    rng = np.random.default_rng(7)
    admin = world.actor("admin")
    causes = [world.cause_id] + [
        services.save_root_cause(admin, None, name_zh=z, name_en=e).id
        for z, e in (("包装不良", "Packing"), ("培训不足", "Training"))
    ]
    categories = [by_code(c).id for c in ("quality", "delivery", "service", "billing")]
    customers = []
    for i in range(40):
        customer = Customer(code=f"A{i:03d}", name=f"客户{i}", segment="零售")
        db.session.add(customer)
        db.session.flush()
        customers.append(customer.id)
        last = PERIOD_END - timedelta(days=int(rng.integers(0, 600)))
        db.session.add(
            Transaction(
                customer_id=customer.id, occurred_on=last, amount=Decimal("10"), margin=Decimal("2")
            )
        )
    for _i in range(90):
        t = START + timedelta(hours=float(rng.uniform(0, 24 * 190)))
        complaint = world.open(
            now=t,
            category_id=int(rng.choice(categories)),
            severity=Severity(str(rng.choice([s.value for s in Severity]))),
            channel=Channel(str(rng.choice(["phone", "email", "letter"]))),
            customer_id=int(rng.choice(customers)) if rng.random() < 0.5 else None,
        )
        step = int(rng.integers(0, 7))
        t += timedelta(hours=float(rng.exponential(6)))
        if step >= 1:
            world.act(complaint, "acknowledge", now=t)
        if step >= 2:
            t += timedelta(hours=float(rng.exponential(20)))
            world.act(complaint, "investigate", now=t)
            t += timedelta(hours=float(rng.exponential(30)))
            world.act(complaint, "propose", now=t)
        if step >= 3:
            t += timedelta(hours=float(rng.exponential(10)))
            if rng.random() < 0.25:
                world.act(complaint, "reject_resolution", "customer", now=t)
                world.act(complaint, "investigate", now=t + timedelta(hours=1))
                world.act(complaint, "propose", now=t + timedelta(hours=5))
                t += timedelta(hours=8)
            world.act(complaint, "accept", "customer", now=t)
        if step >= 4:
            world.act(
                complaint,
                "close",
                now=t + timedelta(hours=2),
                root_cause_id=int(rng.choice(causes)),
            )
            if rng.random() < 0.6:
                services.rate_recovery(
                    complaint,
                    rating=int(rng.integers(1, 6)),
                    recommend=int(rng.integers(0, 11)),
                    now=t + timedelta(hours=3),
                )
    db.session.commit()


def _frame(sql: str) -> pd.DataFrame:
    return pd.read_sql(sa.text(sql), db.engine)


@pytest.fixture
def seeded(app, world):
    _seed(world)
    return world


@pytest.fixture
def seeded_http(app, http_world):
    with app.app_context():
        _seed(http_world)
    return http_world


def _as_utc(series):
    return pd.to_datetime(series, utc=True, format="mixed")


def test_figures_match_an_independent_computation(app, seeded):
    frame = _frame("SELECT * FROM complaints")
    for column in ("created_at", "acknowledged_at", "resolved_at", "ack_due_at", "resolve_due_at"):
        frame[column] = _as_utc(frame[column])
    start, end = pd.Timestamp("2025-01-01", tz="UTC"), pd.Timestamp("2025-07-01", tz="UTC")
    frame = frame[(frame.created_at >= start) & (frame.created_at < end)]
    filters = queries.AnalysisFilters(date_from=date(2025, 1, 1), date_to=PERIOD_END)
    a = queries.analysis(filters, "en")

    assert a.total == len(frame)
    months = frame.created_at.dt.strftime("%Y-%m")
    expected_volume = frame.groupby([months, frame.category_id]).size()
    labels = {r.id: r.name_en for r in services.complaint_categories()}
    got_volume = {(p, c): n for p, c, n in a.volume}
    assert got_volume == {(p, labels[c]): n for (p, c), n in expected_volume.items()}
    # by week: each week is labelled by its Monday (UTC)
    weekly = queries.analysis(
        queries.AnalysisFilters(date_from=date(2025, 1, 1), date_to=PERIOD_END, granularity="week"),
        "en",
    )
    mondays = frame.created_at.dt.normalize() - pd.to_timedelta(frame.created_at.dt.weekday, "D")
    expected_weekly = frame.groupby([mondays.dt.strftime("%Y-%m-%d"), frame.category_id]).size()
    assert len(expected_weekly.index.get_level_values(0).unique()) > 10
    assert {(p, c): n for p, c, n in weekly.volume} == {
        (p, labels[c]): n for (p, c), n in expected_weekly.items()
    }

    counts = frame.category_id.map(labels).value_counts()
    assert [(k, n) for k, n, _s, _c in a.categories] == list(counts.items())
    assert a.categories[-1][3] == pytest.approx(100.0)
    assert a.categories[0][2] == pytest.approx(100 * counts.iloc[0] / counts.sum())

    ack_hours = (frame.acknowledged_at - frame.created_at).dt.total_seconds().dropna() / 3600
    resolve_hours = (frame.resolved_at - frame.created_at).dt.total_seconds().dropna() / 3600
    assert a.ack.count == len(ack_hours)
    assert a.ack.median == pytest.approx(ack_hours.median(), abs=1e-3)
    assert a.ack.p90 == pytest.approx(ack_hours.quantile(0.9), abs=1e-3)
    assert a.resolve.median == pytest.approx(resolve_hours.median(), abs=1e-3)
    assert a.resolve.p90 == pytest.approx(resolve_hours.quantile(0.9), abs=1e-3)
    assert a.ack.mean == pytest.approx(ack_hours.mean(), abs=1e-3)
    assert a.resolve.count == len(resolve_hours)
    assert a.resolve.mean == pytest.approx(resolve_hours.mean(), abs=1e-3)
    edges = [0, 1, 4, 24, 48, 168, 336, 720, np.inf]
    for got, hours in ((a.ack_histogram, ack_hours), (a.resolve_histogram, resolve_hours)):
        bins = pd.cut(hours.clip(lower=0), edges, right=False)
        assert got == list(bins.value_counts(sort=False).values)

    acked = frame.dropna(subset=["acknowledged_at"])
    assert a.ack_sla == ((acked.acknowledged_at <= acked.ack_due_at).sum(), len(acked))
    resolved = frame.dropna(subset=["resolved_at"])
    assert a.resolve_sla == ((resolved.resolved_at <= resolved.resolve_due_at).sum(), len(resolved))
    reopened = (frame.reopen_count > 0).sum()
    base = (frame.resolved_at.notna() | (frame.reopen_count > 0)).sum()
    assert a.reopened == (reopened, base) and reopened > 0

    ratings = _frame("SELECT * FROM complaint_ratings")
    ratings = ratings[ratings.complaint_id.isin(frame.id)]
    assert a.ratings == len(ratings) > 0
    assert a.mean_rating == pytest.approx(ratings.rating.mean())
    nps = 100 * ((ratings.recommend >= 9).mean() - (ratings.recommend <= 6).mean())
    assert a.nps == pytest.approx(nps)

    causes = _frame("SELECT id, name_en FROM root_causes").set_index("id").name_en
    cause_counts = frame.root_cause_id.dropna().astype(int).map(causes).value_counts()
    assert sorted((k, n) for k, n, _s, _c in a.root_causes) == sorted(cause_counts.items())

    tx = _frame("SELECT customer_id, occurred_on FROM transactions")
    tx["occurred_on"] = pd.to_datetime(tx.occurred_on).dt.date
    active = tx[
        (tx.occurred_on > PERIOD_END - timedelta(days=365)) & (tx.occurred_on <= PERIOD_END)
    ]
    assert a.active_customers == active.customer_id.nunique()
    assert a.per_thousand == pytest.approx(1000 * len(frame) / active.customer_id.nunique())


def test_filters_narrow_the_figures(app, seeded):
    frame = _frame("SELECT severity, channel, created_at FROM complaints")
    frame = frame[_as_utc(frame.created_at) < pd.Timestamp("2025-07-01", tz="UTC")]
    full = queries.AnalysisFilters(date_from=date(2025, 1, 1), date_to=PERIOD_END)
    high = queries.AnalysisFilters(
        date_from=date(2025, 1, 1),
        date_to=PERIOD_END,
        severity=Severity.HIGH,
        channel=Channel.PHONE,
        granularity="week",
    )
    expected = ((frame.severity == "high") & (frame.channel == "phone")).sum()
    assert queries.analysis(high, "en").total == expected < queries.analysis(full, "en").total
    weeks = {p for p, _c, _n in queries.analysis(high, "en").volume}
    assert all(date.fromisoformat(w).weekday() == 0 for w in weeks)  # weeks start on Monday


def test_the_page_and_its_csv_exports(app, seeded_http):
    client = app.test_client()
    client.set_cookie("lang", "en")
    assert sign_in(client, "manager-w@example.com").status_code == 302
    page = client.get("/complaints/analysis?from=2025-01-01&to=2025-06-30")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count('class="chart-data"') == 4 and "Pareto of categories" in html
    # number columns are right-aligned under their header too; text columns are not
    assert '<th>Measure</th><th class="num">Value</th><th class="num">Based on</th>' in html
    response = client.get("/complaints/analysis.csv?table=categories&from=2025-01-01&to=2025-06-30")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["Category", "Complaints", "Share %", "Cumulative %"]
    with app.app_context():
        frame = _frame("SELECT created_at FROM complaints")
    in_period = (_as_utc(frame.created_at) < pd.Timestamp("2025-07-01", tz="UTC")).sum()
    assert sum(int(r[1]) for r in rows[1:]) == in_period
    # complaints per period: a row per month, a column per category (as in the Pareto), a total
    response = client.get("/complaints/analysis.csv?table=volume&from=2025-01-01&to=2025-06-30")
    volume = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert volume[0] == ["Period", *(r[0] for r in rows[1:]), "Total"]
    months = _as_utc(frame.created_at)
    months = months[months < pd.Timestamp("2025-07-01", tz="UTC")].dt.strftime("%Y-%m")
    assert {r[0]: int(r[-1]) for r in volume[1:]} == months.value_counts().to_dict()
    assert all(sum(map(int, r[1:-1])) == int(r[-1]) for r in volume[1:])
    assert client.get("/complaints/analysis.csv?table=nope").status_code == 404
    staff = app.test_client()
    sign_in(staff, "staff-w@example.com")
    assert staff.get("/complaints/analysis").status_code == 403


def test_an_empty_period_reads_cleanly(app, world):
    a = queries.analysis(
        queries.AnalysisFilters(date_from=date(2020, 1, 1), date_to=date(2020, 2, 1)), "en"
    )
    assert a.total == 0 and a.ack.median is None and a.per_thousand is None
