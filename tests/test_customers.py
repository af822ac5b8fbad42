from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from survey_app.customers.models import Customer, Transaction
from survey_app.extensions import db


@pytest.fixture
def make_customer(app):
    counter = {"n": 0}

    def factory(name: str = "", segment: str = "零售", region: str = "华东", purchases=()):
        counter["n"] += 1
        with app.app_context():
            customer = Customer(
                code=f"T{counter['n']:04d}",
                name=name or f"客户{counter['n']}",
                email=f"c{counter['n']}@example.cn",
                segment=segment,
                region=region,
            )
            db.session.add(customer)
            db.session.flush()
            for day, amount in purchases:
                db.session.add(
                    Transaction(
                        customer_id=customer.id,
                        occurred_on=day,
                        amount=Decimal(amount),
                        margin=Decimal(amount) / 4,
                    )
                )
            db.session.commit()
            return customer.id

    return factory


def test_customer_list_shows_aggregates_from_transactions(login, make_customer):
    make_customer("李雷", purchases=[(date(2026, 1, 5), "100.00"), (date(2026, 3, 9), "250.50")])
    client = login("staff")
    body = client.get("/customers/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "李雷" in body and "350.50" in body and "Mar 9, 2026" in body


def test_customer_list_search_and_filters(login, make_customer):
    make_customer("韩梅梅", segment="大客户", region="华北")
    make_customer("李雷", segment="零售", region="华东")
    client = login("manager")
    body = client.get("/customers/?q=韩").get_data(as_text=True)
    assert "韩梅梅" in body and "李雷" not in body
    body = client.get("/customers/?segment=零售").get_data(as_text=True)
    assert "李雷" in body and "韩梅梅" not in body
    body = client.get("/customers/?region=西北", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert "No customer matches these filters" in body


def test_customer_list_paginates_and_keeps_filters(login, make_customer):
    for n in range(23):
        make_customer(f"客户{n:02d}", segment="零售")
    client = login("staff")
    body = client.get("/customers/?segment=零售&page=3").get_data(as_text=True)
    assert body.count("/customers/") >= 3
    assert "segment=%E9%9B%B6%E5%94%AE" in body and "page=2" in body  # the filter survives paging
    assert "客户22" in body and "客户00" not in body


def test_customer_page_lists_transactions(login, make_customer):
    customer_id = make_customer("韩梅梅", purchases=[(date(2025, 12, 1), "80.00")])
    client = login("staff")
    body = client.get(f"/customers/{customer_id}", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert "韩梅梅" in body and "80.00" in body and "20.00" in body  # amount and margin


def test_empty_customer_list_says_so(login):
    client = login("staff")
    body = client.get("/customers/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "There are no customers yet" in body


def test_customer_names_are_escaped(login, make_customer):
    make_customer('<script>alert("x")</script>')
    client = login("staff")
    body = client.get("/customers/").get_data(as_text=True)
    assert '<script>alert("x")</script>' not in body
    assert "&lt;script&gt;" in body
