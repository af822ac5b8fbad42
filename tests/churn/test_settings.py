"""Admins define when a customer counts as lost, and can recompute from the page."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from survey_app.churn.models import ChurnSettings, CustomerStatus
from survey_app.extensions import db
from tests.churn.scenario import build
from tests.conftest import post_form

EN = {"Accept-Language": "en"}
VALID = {
    "rhythm_multiplier": "4",
    "floor_days": "90",
    "default_days": "180",
    "at_risk_share": "0.6",
    "renewal_grace_days": "30",
    "renewal_warning_days": "60",
    "won_back_days": "365",
}


def test_settings_form_shows_the_documented_defaults(login):
    body = login("admin").get("/churn/settings", headers=EN).get_data(as_text=True)
    for name in VALID:
        assert f'name="{name}"' in body
    assert 'value="4.0"' in body and 'value="0.6"' in body and "Never computed" in body


@pytest.mark.parametrize(
    ("field", "value"), [("at_risk_share", "1.5"), ("floor_days", "-3"), ("rhythm_multiplier", "x")]
)
def test_bad_settings_are_refused_next_to_the_field(app, login, field, value):
    admin = login("admin")
    response = post_form(admin, "/churn/settings", {**VALID, field: value}, headers=EN)
    assert response.status_code == 200
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(ChurnSettings.floor_days)) in (None, 90)


def test_admin_changes_the_definition_and_recomputes(app, login):
    with app.app_context():
        ids = build()
    admin = login("admin")
    response = post_form(admin, "/churn/settings", {**VALID, "floor_days": "400"})
    assert response.status_code == 302
    response = post_form(admin, "/churn/recompute", {}, form_url="/churn/settings", headers=EN)
    assert response.status_code == 302
    with app.app_context():
        statuses = {code: db.session.get(CustomerStatus, cid) for code, cid in ids.items()}
        assert all(s.as_of == date.today() for s in statuses.values())
        # with a 400-day floor nobody who bought in 2025 counts as lost by purchase gaps
        assert statuses["S1"].threshold_days == 400
    body = admin.get("/churn/settings", headers=EN).get_data(as_text=True)
    assert "Last computed as of" in body


def test_only_admins_recompute_from_the_page(login):
    staff = login("staff")
    response = post_form(staff, "/churn/recompute", {}, form_url="/churn/")
    assert response.status_code == 403
