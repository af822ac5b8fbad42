"""The report's panels over a stored history of months. The "Correlation over the periods"
panel: satisfaction against churn in the same period and against churn the loss definition's
floor later, periods paired by date, each r with its 95% interval and a reading (expected values
worked out here with numpy and Fisher's z). The retention panel's values of money."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from survey_app.churn.models import ChurnSettings
from survey_app.extensions import db
from survey_app.index.models import IndexValue
from tests.index.test_report import page_row

#: satisfaction of the months 2025-01 .. 2025-12
S = [70.0, 62.0, 75.0, 58.0, 66.0, 73.0, 60.0, 68.0, 71.0, 64.0, 59.0, 77.0]
#: losses per 1,000 customers at start: each month's count follows the satisfaction of three
#: months before (lower satisfaction, more losses), with a wobble; the first three are free
LOST = [30, 41, 25, 32, 37, 27, 44, 35, 26, 41, 33, 29]
COMPLAINTS = [2.0 * s + w for s, w in zip(S, [1, -2, 0, 3, -1, 2, 0, -3, 1, 2, -2, 0], strict=True)]
MISSING = 5  # 2025-06 is not stored


def _month(i: int) -> IndexValue:
    start = date(2025, i + 1, 1)
    following = date(2025 + (i + 1) // 12, (i + 1) % 12 + 1, 1)
    return IndexValue(
        period=f"2025-{i + 1:02d}",
        granularity="month",
        period_start=start,
        period_end=following - timedelta(days=1),
        group_kind="all",
        group_value="",
        satisfaction=S[i],
        complaint_handling=60.0,
        retention=95.0,
        composite=70.0,
        weight_s=0.6,
        weight_c=0.2,
        weight_r=0.2,
        s_method="model",
        responses=50,
        complaints=9,
        customers=1000,
        computed_at=datetime(2026, 1, 5, tzinfo=UTC),
        details={
            "retention": {
                "customers": 1000,
                "lost": LOST[i],
                "value_at_start": 2_345_678.4 + i,
                "value_lost": 19_876.4,
            },
            "complaint": {"per_thousand_month": COMPLAINTS[i]},
        },
    )


def _expected(pairs: list[tuple[float, float]]) -> tuple[str, str, str]:
    x, y = np.array(pairs).T
    r = float(np.corrcoef(x, y)[0, 1])
    half = 1.959963984540054 / math.sqrt(len(pairs) - 3)
    low, high = math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half)
    return f"{r:.2f}", f"{low:.2f} to {high:.2f}", str(len(pairs))


@pytest.fixture(autouse=True)
def english(client):
    """The page texts compared here are the English ones (one test reads the Chinese page)."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture()
def months(app):
    with app.app_context():
        db.session.add_all([_month(i) for i in range(12) if i != MISSING])
        db.session.commit()
    kept = [i for i in range(12) if i != MISSING]
    return kept


def _panel(client, **query) -> str:
    response = client.get("/index/", query_string={"granularity": "month", **query})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_churn_is_read_against_satisfaction_the_loss_floor_earlier(app, login, months):
    html = _panel(login("manager"))
    churn = {i: LOST[i] / 10 for i in months}  # % of the 1,000 customers at start

    same = page_row(html, "correlation", "Satisfaction vs churn rate, same period")
    assert same[1:4] == list(_expected([(S[i], churn[i]) for i in months]))

    # the default floor, 90 days, is three months: S of month t against churn of month t + 3,
    # paired by date: the missing June drops its own pairs (March's and June's), no others
    later = page_row(html, "correlation", "Satisfaction vs churn rate 3 months later")
    pairs = [(S[i], churn[i + 3]) for i in months if i + 3 in churn]
    assert len(pairs) == 7
    assert later[1:4] == list(_expected(pairs))
    assert float(later[1]) < -0.9 and float(later[2].split(" to ")[1]) < 0
    assert later[4] == "Negative, as a valid index should be"

    complaints = page_row(
        html, "correlation", "Satisfaction vs complaints per 1,000 customers, same period"
    )
    assert complaints[1:4] == list(_expected([(S[i], COMPLAINTS[i]) for i in months]))
    assert complaints[4] == "Positive: not what a valid index shows"
    low, high = (float(v) for v in same[2].split(" to "))
    assert same[4] == (
        "Negative, as a valid index should be"
        if high < 0
        else "No clear sign: too few periods or too weak"
        if low < 0
        else "Positive: not what a valid index shows"
    )
    assert "90 days or more after the customer" in html


def test_the_lag_follows_the_loss_definition(app, login, months):
    with app.app_context():
        db.session.add(ChurnSettings(id=1, floor_days=120))
        db.session.commit()
    html = _panel(login("manager"))
    later = page_row(html, "correlation", "Satisfaction vs churn rate 4 months later")
    churn = {i: LOST[i] / 10 for i in months}
    pairs = [(S[i], churn[i + 4]) for i in months if i + 4 in churn]
    assert later[1:4] == list(_expected(pairs))
    assert "120 days or more after the customer" in html


def test_too_few_periods_say_so(app, login):
    with app.app_context():
        db.session.add_all([_month(0), _month(1), _month(2)])
        db.session.commit()
    html = _panel(login("manager"))
    later = page_row(html, "correlation", "Satisfaction vs churn rate 3 months later")
    assert later[1:] == ["—", "—", "0", "Cannot tell: too few periods, or one side never changes"]
    same = page_row(html, "correlation", "Satisfaction vs churn rate, same period")
    assert same[2] == "—" and same[3] == "3"  # r of three pairs, but no interval


def test_the_panel_reads_in_chinese(app, login, client, months):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN,zh;q=0.9"
    html = _panel(login("manager"))
    later = page_row(html, "correlation", "满意度与 3 个月后的流失率")
    assert later[2].count(" 至 ") == 1 and later[4] == "负相关，符合有效指数的表现"
    assert "至少 90 天才会记为流失" in html


def test_counts_and_money_read_with_thousands_separators_and_export_as_numbers(app, login, months):
    client = login("manager")
    html = _panel(client)
    row = page_row(html, "retention", "2025-03")
    assert row == ["2025-03", "1,000", "25", "2,345,680", "19,876", "95.0"]
    export = client.get("/index/export/retention.csv", query_string={"granularity": "month"})
    lines = export.get_data(as_text=True).splitlines()
    assert next(line for line in lines if line.startswith("2025-03")).split(",")[3:5] == [
        "2345680",
        "19876",
    ]


def test_periods_before_losses_can_be_seen_leave_the_churn_pairs(app, login, months):
    """January and February start before losses can be seen (no R; ``observable_from``): their
    churn of 0 is not known, so they pair with no satisfaction; their satisfaction still pairs
    with complaints."""
    with app.app_context():
        for value in db.session.scalars(sa.select(IndexValue)):
            if value.period in ("2025-01", "2025-02"):
                details = dict(value.details)
                details["retention"] = {
                    **details["retention"],
                    "lost": 0,
                    "observable_from": "2025-03-01",
                }
                value.details, value.retention = details, None
        db.session.commit()
    html = _panel(login("manager"))
    churn = {i: LOST[i] / 10 for i in months if i >= 2}
    same = page_row(html, "correlation", "Satisfaction vs churn rate, same period")
    assert same[1:4] == list(_expected([(S[i], churn[i]) for i in months if i in churn]))
    complaints = page_row(
        html, "correlation", "Satisfaction vs complaints per 1,000 customers, same period"
    )
    assert complaints[3] == str(len(months))
    assert "Losses can be seen from Mar 1, 2025 on" in html
