"""Index values by period and group through the API."""

from __future__ import annotations

from datetime import UTC, date, datetime

from survey_app.extensions import db
from survey_app.index.models import IndexValue


def _value(period, start, end, kind="all", value="", **figures):
    defaults = {
        "satisfaction": 70.0,
        "complaint_handling": 60.0,
        "retention": 90.0,
        "composite": 72.0,
        "weight_s": 0.6,
        "weight_c": 0.2,
        "weight_r": 0.2,
        "s_low": 66.0,
        "s_high": 74.0,
        "composite_low": 69.6,
        "composite_high": 74.4,
        "s_method": "model",
        "responses": 120,
        "complaints": 9,
        "customers": 800,
    }
    defaults.update(figures)
    return IndexValue(
        period=period,
        granularity="quarter" if "Q" in period else "month",
        period_start=start,
        period_end=end,
        group_kind=kind,
        group_value=value,
        computed_at=datetime(2026, 10, 1, tzinfo=UTC),
        details={},
        **defaults,
    )


def test_managers_read_index_values_with_their_inputs(app, api_key):
    with app.app_context():
        db.session.add_all(
            [
                _value("2026-Q1", date(2026, 1, 1), date(2026, 3, 31), composite=71.5),
                _value(
                    "2026-Q2",
                    date(2026, 4, 1),
                    date(2026, 6, 30),
                    composite=73.25,
                    weight_s=0.5,
                    weight_c=0.25,
                    weight_r=0.25,
                ),
                _value(
                    "2026-Q2", date(2026, 4, 1), date(2026, 6, 30), "tier", "key", composite=80.0
                ),
                _value("2026-05", date(2026, 5, 1), date(2026, 5, 31), s_method="fallback"),
            ]
        )
        db.session.commit()
    client = app.test_client()
    headers = api_key("manager")

    body = client.get("/api/v1/index-values", headers=headers).get_json()
    assert [item["period"] for item in body["items"]] == ["2026-Q1", "2026-Q2"]
    q2 = body["items"][1]
    assert q2["composite"] == 73.25 and q2["weights"] == {"S": 0.5, "C": 0.25, "R": 0.25}
    assert q2["satisfaction_low"] == 66.0 and q2["responses"] == 120

    body = client.get(
        "/api/v1/index-values?group_kind=tier&group_value=key&period=2026-Q2", headers=headers
    ).get_json()
    assert [(i["group_value"], i["composite"]) for i in body["items"]] == [("key", 80.0)]

    body = client.get("/api/v1/index-values?granularity=month", headers=headers).get_json()
    assert [(i["period"], i["satisfaction_method"]) for i in body["items"]] == [
        ("2026-05", "fallback")
    ]


def test_bad_filters_are_422_and_staff_keys_are_403(app, api_key):
    client = app.test_client()
    manager = api_key("manager")
    for query in ("period=2026-13", "granularity=week", "group_kind=region", "period=Q1-2026"):
        answer = client.get(f"/api/v1/index-values?{query}", headers=manager)
        assert answer.status_code == 422, query
        assert "error" in answer.get_json()
    assert client.get("/api/v1/index-values", headers=api_key("staff")).status_code == 403
    assert client.get("/api/v1/index-values").status_code == 401
