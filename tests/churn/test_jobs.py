"""Churn recomputes run outside the request, as queued jobs; the analysis page only reads the
figures a recompute stored."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from survey_app.churn import services
from survey_app.churn.models import ChurnAnalysis, CustomerStatus
from survey_app.db_types import utcnow
from survey_app.extensions import db
from survey_app.jobs import services as jobs
from survey_app.jobs.models import Job, JobStatus
from tests.churn.scenario import AS_OF, build
from tests.conftest import post_form

EN = {"Accept-Language": "en"}


def test_empty_analysis_page_queues_a_recompute_and_shows_its_progress(app, login, runner):
    with app.app_context():
        build()
    client = login("manager")
    body = client.get("/churn/analysis", headers=EN).get_data(as_text=True)
    assert "Nothing to analyse yet" in body and 'action="/churn/recompute"' in body
    response = post_form(
        client,
        "/churn/recompute",
        {"next": "/churn/analysis?group=segment"},
        form_url="/churn/analysis",
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/churn/analysis?group=segment")
    body = client.get("/churn/analysis", headers=EN).get_data(as_text=True)
    assert "Nothing to analyse yet" in body  # queued, not computed in the request
    assert 'data-status="queued"' in body and "js/job-progress.js" in body
    # an outside target is never followed
    response = post_form(
        client, "/churn/recompute", {"next": "https://evil.example/"}, form_url="/churn/analysis"
    )
    assert response.headers["Location"].endswith("/churn/settings")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Job.id))) == 1

    assert runner.invoke(args=["jobs", "work"]).exit_code == 0
    body = client.get("/churn/analysis", headers=EN).get_data(as_text=True)
    assert "Nothing to analyse yet" not in body and "Churn and retention per month" in body
    assert 'data-status="queued"' not in body  # a finished job is not shown above the figures


def test_the_page_computes_nothing(app, login, runner, monkeypatch):
    """After a recompute the figures come from the stored rows: the page works even with every
    computation of the analyses broken."""
    with app.app_context():
        build(segment_of={"K1": "零售"})
    assert runner.invoke(args=["churn", "recompute", "--as-of", AS_OF.isoformat()]).exit_code == 0

    def broken(*args, **kwargs):
        raise AssertionError("computed in the request")

    monkeypatch.setattr(services.survival, "kaplan_meier", broken)
    monkeypatch.setattr(services.churn_math, "churn_by_month", broken)
    monkeypatch.setattr(services.churn_math, "cohort_retention", broken)
    monkeypatch.setattr(services, "linked_churn", broken)
    client = login("manager")
    for group in ("tier", "segment"):
        response = client.get(f"/churn/analysis?group={group}", headers=EN)
        assert response.status_code == 200
        assert "Churn and retention per month" in response.get_data(as_text=True)
        for export in ("monthly", "cohorts", "survival", "by_complaint"):
            csv = client.get(f"/churn/analysis?group={group}&export={export}")
            assert csv.status_code == 200 and len(csv.get_data(as_text=True).splitlines()) > 1
    with app.app_context():
        rows = db.session.scalars(sa.select(ChurnAnalysis)).all()
        assert {r.group_by for r in rows} == {"tier", "segment"}
        assert all(r.as_of == AS_OF for r in rows)
        # no NaN in the stored JSON (PostgreSQL's JSON type refuses it)
        for row in rows:
            json.dumps(row.data, allow_nan=False)


def test_a_recompute_replaces_the_stored_figures(app, runner):
    with app.app_context():
        build()
    for day in (AS_OF - timedelta(days=31), AS_OF):
        assert runner.invoke(args=["churn", "recompute", "--as-of", day.isoformat()]).exit_code == 0
    with app.app_context():
        rows = db.session.scalars(sa.select(ChurnAnalysis)).all()
        assert len(rows) == 2 and {r.as_of for r in rows} == {AS_OF}
        assert services.analysis("segment").as_of == AS_OF


def test_the_worker_runs_one_job_of_a_kind_at_a_time(app, make_user):
    with app.app_context():
        build()
        running = Job(kind="churn", status=JobStatus.RUNNING, started_at=utcnow())
        db.session.add(running)
        db.session.commit()
        queued = services.queue_recompute(None)
        index_job = jobs.request_job("index", None)
        db.session.commit()
        # the churn job waits for the running one; the index job may go
        assert jobs.claim_job() == index_job
        db.session.rollback()
        assert jobs.claim_job(("churn",)) is None
        # a running job an hour old is taken to be interrupted: the queued one can go
        db.session.get(Job, running.id).started_at = utcnow() - timedelta(hours=2)
        db.session.commit()
        claimed = jobs.claim_job(("churn",))
        assert claimed.id == queued.id and claimed.status == JobStatus.RUNNING
        assert db.session.get(Job, running.id).status == JobStatus.FAILED


def test_a_running_recompute_does_not_swallow_a_new_request(app, make_user):
    """New transactions while a recompute runs: it may have read them too early, so a second one
    is queued, and only one."""
    with app.app_context():
        first = services.queue_recompute(None)
        db.session.commit()
        assert jobs.claim_job(("churn",)).id == first.id
        db.session.commit()
        second = services.queue_recompute(None)
        third = services.queue_recompute(None)
        assert second.id != first.id and third.id == second.id


@pytest.mark.parametrize("path", ["/index/jobs/{id}", "/churn/jobs/{id}"])
def test_a_job_is_shown_only_on_its_own_page(app, login, path):
    with app.app_context():
        churn_job = services.queue_recompute(None)
        index_job = jobs.request_job("index", None)
        db.session.commit()
        ids = {"churn": churn_job.id, "index": index_job.id}
    client = login("manager")
    own = "index" if path.startswith("/index") else "churn"
    other = "churn" if own == "index" else "index"
    assert client.get(path.format(id=ids[own])).get_json()["status"] == "queued"
    assert client.get(path.format(id=ids[other])).status_code == 404


def test_unknown_job_kind_is_refused_by_the_worker(runner):
    result = runner.invoke(args=["jobs", "work", "--kind", "nope"])
    assert result.exit_code != 0 and "unknown kind 'nope'" in result.output


def test_the_nightly_command_stays_synchronous(app, runner):
    with app.app_context():
        ids = build()
    result = runner.invoke(args=["churn", "recompute", "--as-of", date(2026, 6, 30).isoformat()])
    assert result.exit_code == 0
    with app.app_context():
        assert db.session.get(CustomerStatus, ids["S1"]).status.value == "lost"
        assert db.session.scalar(sa.select(sa.func.count(Job.id))) == 0
