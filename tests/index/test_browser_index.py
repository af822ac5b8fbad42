"""In a real browser: a manager opens the satisfaction index report on seeded data, changes period
and customers, reads the composite with its confidence band, the driver matrix and the validity
panel, changes the weights (the change is listed) and downloads a table."""

from __future__ import annotations

from datetime import date

import pytest

from survey_app.demo import seed_demo
from survey_app.extensions import db
from survey_app.index import services
from tests.conftest import PASSWORD
from tests.test_browser import browser, live_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def test_manager_reads_and_steers_the_index(
    app,
    runner,
    browser,  # noqa: F811
    live_server,  # noqa: F811
    make_user,
    monkeypatch,
    tmp_path,
):
    with app.app_context():
        seed_demo(date(2026, 10, 15), customers=900, seed=7)
        db.session.commit()
    monkeypatch.setattr(services, "MIN_MODEL_RESPONSES", 15)
    for period in ("2026-Q1", "2026-Q2"):
        assert runner.invoke(args=["index", "compute", "--period", period]).exit_code == 0
    _id, email = make_user("manager", name="Manager Li")

    context = browser.new_context(locale="en-US", accept_downloads=True)
    page = context.new_page()
    page.goto(live_server + "/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    # the landing page leads managers to the report
    page.locator("a", has_text="Open the satisfaction index report").click()
    page.wait_for_load_state()
    assert page.locator("h1").first.inner_text() == "Satisfaction index"

    page.select_option("#granularity", "quarter")
    page.select_option("#period", "2026-Q1")
    page.select_option("#group", "segment:零售")
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state()
    assert "2026-Q1 · Segment: 零售" in page.locator(".headline .selection").inner_text()
    page.select_option("#group", "all")
    page.select_option("#period", "2026-Q2")
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state()
    headline = page.locator(".headline").inner_text()
    assert "2026-Q2 · All customers" in headline
    for label in ("Composite index", "Satisfaction (S)", "Complaint handling (C)", "Retention (R)"):
        assert label in headline
    assert "95% interval" in page.locator("#composite-figure").inner_text()
    assert "PLS model" in headline

    # charts drawn, the trend with its confidence band; driver matrix and validity panel
    page.wait_for_selector("#panel-trend .chart-canvas .main-svg")
    assert page.locator("#panel-trend .legendtext", has_text="Confidence band (95%)").count() == 1
    drivers = page.locator("#panel-drivers")
    assert drivers.locator(".chart-canvas .main-svg").count() >= 1
    assert drivers.locator("tbody tr").count() == 4
    quadrants = drivers.locator("tbody td:nth-child(4)").all_inner_texts()
    assert set(quadrants) <= {"Fix first", "Keep up", "Low priority", "Possible overkill"}
    assert "Fix first" in drivers.locator(".chart-canvas").inner_text()
    validity = page.locator("#panel-validity")
    assert validity.locator("tbody tr").count() >= 2
    assert "Churn rate (%)" in validity.locator("thead").inner_text()

    # change the weights: the change is listed with who made it
    page.get_by_label("Satisfaction (S)").fill("0.5")
    page.get_by_label("Complaint handling (C)").fill("0.25")
    page.get_by_label("Retention (R)").fill("0.25")
    page.get_by_role("button", name="Save weights").click()
    page.wait_for_load_state()
    changes = page.locator("#weight-changes tbody tr").first.inner_text()
    assert "Manager Li" in changes and "0.6/0.2/0.2" in changes and "0.5/0.25/0.25" in changes

    # export the table behind the driver matrix
    with page.expect_download() as download_info:
        page.locator("#panel-drivers").get_by_role("link", name="Download CSV").click()
    target = tmp_path / "drivers.csv"
    download_info.value.save_as(target)
    text = target.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("Driver,Importance (total effect)")
    assert len(text.splitlines()) == 5

    assert errors == [], f"console errors (CSP violations show here): {errors}"
    context.close()
