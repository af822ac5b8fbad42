"""Real-browser checks: Playwright driving Debian's Chromium against a live server."""

from __future__ import annotations

import os
import shutil
import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    assert path, "Chromium is missing: `make test` installs Debian's chromium package"
    return path


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


def test_home_page_speaks_the_browsers_language(browser, live_server):
    for locale, heading in (
        ("zh-CN", "您的意见让我们的服务更好"),
        ("en-US", "Your opinion makes our service better"),
    ):
        context = browser.new_context(locale=locale)
        page = context.new_page()
        page.goto(live_server + "/")
        assert page.locator("h1").first.inner_text() == heading
        context.close()


def test_switch_language_then_sign_in(browser, live_server, make_user):
    _id, email = make_user("staff", name="Wang Fang")
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})  # a phone
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(live_server + "/")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"

    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")  # waits for the new page
    expect(page.locator("h1").first).to_have_text("Your opinion makes our service better")

    page.get_by_role("link", name="Staff sign-in").first.click()
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("h1").first).to_contain_text("Hello, Wang Fang")
    assert (
        page.get_by_role("navigation", name="Main")
        .get_by_role("link", name="Customers")
        .is_visible()
    )
    page.reload()  # the language choice outlives the page
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert errors == [], f"console errors (CSP violations show here): {errors}"
    context.close()
