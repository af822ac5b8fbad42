"""A complaint from a phone to closure, in a real browser (Playwright + Debian's Chromium)."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from survey_app.complaints.services import ensure_default_root_causes
from survey_app.extensions import db
from tests.conftest import PASSWORD
from tests.test_browser import CHROMIUM_ARGS, chromium_path

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def _watch(page, errors):
    page.set_default_timeout(10_000)

    def on_console(msg):
        # the browser asks for /favicon.ico on its own; the site has none (not ours to add)
        if msg.type == "error" and not msg.location.get("url", "").endswith("/favicon.ico"):
            errors.append(f"{msg.text} {msg.location}")

    page.on("console", on_console)


def _step(page, action_label, text=None):
    box = page.locator("details.action-box", has=page.locator("summary", has_text=action_label))
    box.locator("summary").click()
    if text is not None:
        box.locator("textarea").fill(text)
    box.get_by_role("button", name=action_label).click()
    page.wait_for_load_state()


def test_a_complaint_from_a_phone_to_closure(app, browser, live_server, make_user):
    with app.app_context():
        ensure_default_root_causes()
        db.session.commit()
    _id, email = make_user("staff", name="Wang Fang")
    errors: list[str] = []

    customer = browser.new_context(locale="en-US", viewport=PHONE, is_mobile=True)
    phone = customer.new_page()
    _watch(phone, errors)
    phone.goto(live_server + "/")
    phone.get_by_role("button", name="File a complaint").click()
    phone.get_by_label("Your name").fill("Li Na")
    phone.get_by_label("E-mail").fill("lina@example.cn")
    phone.get_by_label("What is it about?").select_option(label="Delivery")
    phone.get_by_label("What happened?").fill("The parcel arrived crushed; two cups broken.")
    phone.get_by_label("What would you like us to do?").fill("Replace the cups")
    phone.get_by_role("button", name="Send the complaint").click()
    phone.wait_for_load_state()
    tracking = phone.locator("#tracking-link").get_attribute("href")
    assert "/complaint/t/" in tracking
    code = phone.locator("h1").inner_text().split()[-1]

    staff_context = browser.new_context(locale="en-US")
    desk = staff_context.new_page()
    _watch(desk, errors)
    desk.goto(live_server + "/login")
    desk.get_by_label("E-mail").fill(email)
    desk.get_by_label("Password").fill(PASSWORD)
    desk.get_by_role("button", name="Sign in").click()
    desk.get_by_role("navigation", name="Main").get_by_role("link", name="Complaints").click()
    desk.get_by_role("link", name=code).click()
    _step(desk, "Acknowledge")
    _step(desk, "Start investigating")
    desk.get_by_label("Text").fill("INTERNAL: the courier dropped the box")
    desk.get_by_role("button", name="Save", exact=True).click()
    desk.wait_for_load_state()
    _step(desk, "Propose a resolution", "We send two new cups by express today.")

    phone.goto(live_server + tracking)
    assert "We send two new cups" in phone.content()
    phone.get_by_role("button", name="Accept the resolution").click()
    phone.wait_for_load_state()
    assert "Resolved" in phone.locator("h1 + p, hgroup p").first.inner_text()

    desk.reload()
    box = desk.locator("details.action-box", has=desk.locator("summary", has_text="Close"))
    box.locator("summary").click()
    box.get_by_label("Root cause", exact=True).select_option(label="Packing or transport damage")
    box.get_by_label("Corrective action taken").fill("Double boxes for glassware")
    box.get_by_role("button", name="Close").click()
    desk.wait_for_load_state()
    timeline = desk.locator("ol.timeline").inner_text()
    for step in (
        "Complaint received",
        "Acknowledge",
        "Start investigating",
        "Internal note",
        "Propose a resolution",
        "Accept the resolution",
        "Close: Closed",
    ):
        assert step in timeline, (step, timeline)

    phone.reload()
    page_text = phone.locator("main").inner_text()
    assert "Closed" in page_text and "Accept the resolution" in page_text
    assert "INTERNAL" not in phone.content() and "Wang Fang" not in phone.content()
    assert errors == [], f"console errors (CSP violations show here): {errors}"
    customer.close()
    staff_context.close()
