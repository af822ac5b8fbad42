"""Value figures, tiers and the tier function other domains call."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from survey_app.customers import services
from survey_app.customers.models import Customer, CustomerValue
from survey_app.extensions import db
from tests.conftest import post_form
from tests.customers.factories import add_customer, every

AS_OF = date(2026, 6, 30)
EN = {"Accept-Language": "en"}
#: code -> amount per purchase; everyone buys every 10 days for two years, so no one is lost and
#: the measured yearly retention is 1
SPEND = {"V1": 1000, "V2": 500, "V3": 200, "V4": 100, "V5": 50}


@pytest.fixture
def valued(app, runner):
    with app.app_context():
        ids = {
            code: add_customer(
                code, [(d, amount) for d in every(10, date(2024, 7, 1), AS_OF - timedelta(days=3))]
            )
            for code, amount in SPEND.items()
        }
        add_customer("V0")  # no purchases at all
    result = runner.invoke(args=["churn", "recompute", "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    return ids


def test_rfm_and_clv_match_an_independent_computation(app, valued):
    days = every(10, date(2024, 7, 1), AS_OF - timedelta(days=3))
    in_year = [d for d in days if AS_OF - timedelta(days=365) < d <= AS_OF]
    factor = sum(1 / 1.1**t for t in range(1, 6))  # r = 1, d = 10%, H = 5, AC = 0
    with app.app_context():
        for code, amount in SPEND.items():
            value = db.session.get(CustomerValue, valued[code])
            assert value.recency_days == (AS_OF - days[-1]).days
            assert value.frequency == len(in_year)
            assert float(value.monetary) == pytest.approx(amount * len(in_year))
            assert float(value.annual_margin) == pytest.approx(amount * 0.25 * len(in_year))
            assert value.retention == pytest.approx(1.0)
            assert float(value.clv) == pytest.approx(
                amount * 0.25 * len(in_year) * factor, abs=0.01
            )


def test_tiers_and_the_tier_function(app, valued):
    # value before each (of 1850): V1 0% key, V2 54% key, V3 81% general,
    # V4 92% general, V5 97% minor
    expected = {"V1": "key", "V2": "key", "V3": "general", "V4": "general", "V5": "minor"}
    with app.app_context():
        for code, tier in expected.items():
            assert services.customer_tier(valued[code]) == tier
            customer = db.session.get(Customer, valued[code])
            assert services.customer_tier(customer) == tier
        v0 = db.session.scalar(sa.select(Customer.id).where(Customer.code == "V0"))
        assert services.customer_tier(v0) == "minor"
        assert services.customer_tier(987654) == "minor"


def test_customer_list_filters_by_tier_and_shows_value(app, valued, login):
    client = login("staff")
    body = client.get("/customers/?tier=key", headers=EN).get_data(as_text=True)
    assert "客户V1" in body and "客户V2" in body and "客户V3" not in body
    assert "Key" in body
    detail = client.get(f"/customers/{valued['V3']}", headers=EN).get_data(as_text=True)
    assert "General" in detail and "Lifetime value" in detail and "Active" in detail


def test_value_page_and_csv_agree_with_the_tiers(app, valued, login):
    client = login("manager")
    page = client.get("/customers/value", headers=EN)
    assert page.status_code == 200 and "Pareto" in page.get_data(as_text=True)
    text = client.get("/customers/value?export=csv").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))[1:]
    with app.app_context():
        frame = pd.DataFrame(
            db.session.execute(sa.select(CustomerValue.tier, CustomerValue.clv)).all(),
            columns=["tier", "clv"],
        )
    frame["clv"] = frame["clv"].astype(float)
    by_tier = frame.groupby("tier")["clv"].agg(["count", "sum"])
    for tier, customers, _share, total, share in rows:
        if tier in by_tier.index:
            assert int(customers) == by_tier.loc[tier, "count"]
            assert float(total) == pytest.approx(by_tier.loc[tier, "sum"])
            assert float(share) == pytest.approx(
                by_tier.loc[tier, "sum"] / frame["clv"].sum(), abs=1e-4
            )
    assert {row[0] for row in rows} == {"key", "general", "minor"}


def test_admin_edits_value_settings_with_checks(app, valued, login, runner):
    admin = login("admin")
    bad = post_form(
        admin,
        "/customers/value/settings",
        {
            "discount_rate": "0.1",
            "horizon_years": "5",
            "acquisition_cost": "0",
            "default_retention": "0.75",
            "key_share": "0.9",
            "general_share": "0.8",
        },
        headers=EN,
    )
    assert bad.status_code == 200
    assert "The general cut-off must be above the key cut-off" in bad.get_data(as_text=True)
    good = post_form(
        admin,
        "/customers/value/settings",
        {
            "discount_rate": "0",
            "horizon_years": "2",
            "acquisition_cost": "100",
            "default_retention": "0.75",
            "key_share": "0.5",
            "general_share": "0.9",
        },
    )
    assert good.status_code == 302
    runner.invoke(args=["churn", "recompute", "--as-of", AS_OF.isoformat()])
    with app.app_context():
        value = db.session.get(CustomerValue, valued["V1"])
        # r = 1, d = 0, H = 2: CLV = 2 m - 100
        assert float(value.clv) == pytest.approx(2 * float(value.annual_margin) - 100, abs=0.01)
        assert services.customer_tier(valued["V2"]) == "general"  # 1000 alone passes 50%


def test_value_settings_are_for_admins_only(login):
    manager = login("manager")
    assert manager.get("/customers/value/settings").status_code == 403
