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


def test_admin_changes_the_definition_and_queues_a_recompute(app, login, runner):
    from survey_app.churn import services
    from survey_app.jobs.models import JobStatus

    with app.app_context():
        ids = build()
    admin = login("admin")
    response = post_form(admin, "/churn/settings", {**VALID, "floor_days": "400"})
    assert response.status_code == 302
    response = post_form(admin, "/churn/recompute", {}, form_url="/churn/settings", headers=EN)
    assert response.status_code == 302
    with app.app_context():
        # the request only queued the work
        assert db.session.get(CustomerStatus, ids["S1"]) is None
        job = services.latest_job()
        assert job.status == JobStatus.QUEUED
    body = admin.get("/churn/settings", headers=EN).get_data(as_text=True)
    assert f"Recomputation #{job.id}" in body and "queued" in body
    assert admin.get(f"/churn/jobs/{job.id}").get_json()["status"] == "queued"
    # a second click while it is queued does not queue another
    post_form(admin, "/churn/recompute", {}, form_url="/churn/settings")
    with app.app_context():
        assert services.latest_job().id == job.id

    result = runner.invoke(args=["jobs", "work"])
    assert result.exit_code == 0 and "1 job(s) run" in result.output, result.output
    status = admin.get(f"/churn/jobs/{job.id}").get_json()
    assert status["status"] == "done" and status["done"] == status["total"] == 5
    with app.app_context():
        statuses = {code: db.session.get(CustomerStatus, cid) for code, cid in ids.items()}
        assert all(s.as_of == date.today() for s in statuses.values())
        # with a 400-day floor nobody who bought in 2025 counts as lost by purchase gaps
        assert statuses["S1"].threshold_days == 400
    body = admin.get("/churn/settings", headers=EN).get_data(as_text=True)
    assert "Last computed as of" in body
    assert admin.get("/churn/jobs/99999").status_code == 404


def test_a_failed_recompute_is_shown_and_the_worker_goes_on(app, login, runner, monkeypatch):
    from survey_app.churn import services
    from survey_app.jobs.models import JobStatus

    with app.app_context():
        build()
    admin = login("admin")
    post_form(admin, "/churn/recompute", {}, form_url="/churn/settings")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services.customer_queries, "purchase_frame", broken)
    result = runner.invoke(args=["jobs", "work"])
    assert result.exit_code == 1 and "1 job(s) run, 1 failed" in result.output
    with app.app_context():
        job = services.latest_job()
        assert job.status == JobStatus.FAILED and job.message == "disk full"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CustomerStatus)) == 0
    body = admin.get("/churn/settings", headers=EN).get_data(as_text=True)
    assert "failed" in body and "disk full" in body
    # the next click queues a new job, which runs
    monkeypatch.undo()
    post_form(admin, "/churn/recompute", {}, form_url="/churn/settings")
    assert runner.invoke(args=["jobs", "work", "--kind", "churn"]).exit_code == 0
    with app.app_context():
        assert services.latest_job().status == JobStatus.DONE
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CustomerStatus)) > 0


def test_staff_cannot_recompute_from_the_page(login):
    staff = login("staff")
    response = post_form(staff, "/churn/recompute", {}, form_url="/churn/")
    assert response.status_code == 403
