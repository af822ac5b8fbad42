"""In a real browser: a manager reads the analysis with its charts drawn (no CSP error), and a
staff member imports a file through the upload, mapping and dry-run steps."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from survey_app.churn.models import LossRecord
from survey_app.extensions import db
from survey_app.taxonomy.services import by_code
from tests.churn.scenario import AS_OF, build
from tests.conftest import PASSWORD
from tests.test_browser import browser, live_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def _sign_in(browser, live_server, email):  # noqa: F811
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(live_server + "/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    # listen from here: the browser's own favicon request is no error of ours
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return context, page, errors


def test_analysis_charts_are_drawn(app, runner, browser, live_server, make_user):  # noqa: F811
    with app.app_context():
        build()
    assert runner.invoke(args=["churn", "recompute", "--as-of", AS_OF.isoformat()]).exit_code == 0
    with app.app_context():  # reasons for two losses: the Pareto of reasons is drawn too
        for record, code in zip(
            db.session.scalars(sa.select(LossRecord).order_by(LossRecord.id)),
            ("price", "competitor"),
            strict=False,
        ):
            record.reasons.append(by_code(code))
        db.session.commit()
    _id, email = make_user("manager")
    context, page, errors = _sign_in(browser, live_server, email)
    page.goto(live_server + "/churn/analysis?group=segment")
    page.wait_for_selector(".chart-canvas .main-svg")
    assert page.locator(".chart-canvas .main-svg").count() >= 5
    # the Pareto's cumulative share reads in quarters on its right-hand axis
    ticks = page.locator(".chart-canvas .y2tick text").all_text_contents()
    assert ticks == ["0%", "25%", "50%", "75%", "100%"]
    assert errors == [], f"console errors (CSP violations show here): {errors}"
    context.close()


def test_import_through_the_pages(app, browser, live_server, make_user, tmp_path):  # noqa: F811
    _id, email = make_user("staff")
    data = tmp_path / "customers.csv"
    data.write_text("编号,名称\nP1,浏览器客户\nP2,\n", encoding="utf-8")
    context, page, errors = _sign_in(browser, live_server, email)
    page.goto(live_server + "/customers/import")
    page.get_by_label("What the file holds").select_option("customers")
    page.get_by_label("CSV or XLSX file").set_input_files(str(data))
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_load_state()
    assert page.get_by_label("Customer code").input_value() == "编号"  # guessed from the header
    page.get_by_role("button", name="Check every row (dry run)").click()
    page.wait_for_load_state()
    assert "1 bad row" in page.content() and "Name is missing" in page.content()
    context.close()
    assert errors == []
