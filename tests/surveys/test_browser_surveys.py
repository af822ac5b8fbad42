"""A customer answers each shipped template on a phone-sized Chromium, in both languages, with a
validation error and a resume; a manager then finds the responses in the results."""

from __future__ import annotations

import pytest

from survey_app.extensions import db
from survey_app.surveys import services
from tests.conftest import PASSWORD
from tests.test_browser import CHROMIUM_ARGS, chromium_path

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def live_server(app):
    import threading

    from werkzeug.serving import make_server

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


def _phone(browser, locale):
    context = browser.new_context(locale=locale, viewport=PHONE, has_touch=True, is_mobile=True)
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console",
        lambda msg: errors.append(f"{msg.text} {msg.location}") if msg.type == "error" else None,
    )
    return context, page, errors


def _fill_step(page, point: int = 2) -> None:
    """Answer every visible question of the current step like a person would."""
    groups = page.locator(".scale")
    for i in range(groups.count()):
        points = groups.nth(i).locator(".scale-point")
        points.nth(min(point, points.count() - 1)).click()
    for fieldset in page.locator("fieldset.choices").all():
        fieldset.locator("label.choice").first.click()
    for area in page.locator("textarea, input[type=text]").all():
        area.fill("测试 answer")


def _submit(page) -> None:
    page.locator(".survey-nav button[type=submit]").click()
    page.wait_for_load_state()


def _answer_all(page, point: int = 2, limit: int = 10) -> None:
    for _ in range(limit):
        if page.locator(".survey form").count() == 0:
            return
        _fill_step(page, point)
        _submit(page)
    raise AssertionError("the questionnaire never ended")


def _published(app, kind):
    with app.app_context():
        questionnaire = services.create_from_template(None, kind)
        services.change_status(None, questionnaire, "publish")
        db.session.commit()
        return questionnaire.id, questionnaire.public_token


def test_customer_answers_every_template_on_a_phone(
    app, browser, live_server, make_user, make_customer, make_invitation
):
    pulse_id, pulse_token = _published(app, "pulse")
    ecsi_id, _ = _published(app, "ecsi")
    recovery_id, recovery_token = _published(app, "recovery")
    exit_id, exit_token = _published(app, "exit")

    # Pulse, in Chinese, public link: a validation error first, answers kept
    context, page, errors = _phone(browser, "zh-CN")
    page.goto(f"{live_server}/s/{pulse_token}")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert "服务满意度快速调查" in page.locator("h1").inner_text()
    page.locator("#q_nps .scale-point").nth(3).click()
    _submit(page)
    assert page.locator("#q_csat-error").is_visible()
    assert page.locator("#q_nps input[value='3']").is_checked()
    page.locator("#q_csat .scale-point").nth(1).click()  # 2 of 5: "what went wrong?" follows
    _submit(page)
    assert page.get_by_label("哪里让您不满意？").is_visible()
    page.get_by_label("哪里让您不满意？").fill("送货太慢")
    _submit(page)
    assert page.locator("h1").inner_text() == "谢谢"
    assert errors == []
    context.close()

    # ECSI, in English, personal link: stop after two steps, resume on "another device"
    token = make_invitation(ecsi_id, make_customer(name="Resume Ltd"))
    context, page, errors = _phone(browser, "en-US")
    page.goto(f"{live_server}/i/{token}")
    assert "Step 1 of 6" in page.locator(".progress-text").inner_text()
    _submit(page)  # nothing answered: every matrix row needs a rating
    assert "Please rate every row" in page.locator(".field-error").first.inner_text()
    _fill_step(page, 7)
    _submit(page)
    _fill_step(page, 8)
    _submit(page)
    assert "Step 3 of 6" in page.locator(".progress-text").inner_text()
    context.close()
    context, page, errors = _phone(browser, "en-US")
    page.goto(f"{live_server}/i/{token}")
    assert "Step 3 of 6" in page.locator(".progress-text").inner_text()
    page.locator(".survey-nav a").click()
    assert page.locator(".scale-question input:checked").count() == 3  # step 2 kept
    _submit(page)
    _answer_all(page, 8)
    assert page.locator("h1").inner_text() == "Thank you"
    page.goto(f"{live_server}/i/{token}")
    assert "already answered" in page.locator("main").inner_text()
    assert errors == []
    context.close()

    # Recovery in English and exit in Chinese, keyboard and touch alike
    for locale, token, done in (
        ("en-US", recovery_token, "Thank you"),
        ("zh-CN", exit_token, "谢谢"),
    ):
        context, page, errors = _phone(browser, locale)
        page.goto(f"{live_server}/s/{token}")
        _answer_all(page, 1)
        assert page.locator("h1").inner_text() == done
        assert errors == []
        context.close()

    # A manager sees the responses in the results
    _id, email = make_user("manager")
    context = browser.new_context(locale="en-US", viewport=PHONE)
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    for questionnaire_id in (pulse_id, ecsi_id, recovery_id, exit_id):
        page.goto(f"{live_server}/surveys/{questionnaire_id}/results")
        assert "1 response" in page.locator("hgroup p").inner_text()
    page.goto(f"{live_server}/surveys/{pulse_id}/results")
    assert "NPS -100" in page.locator("#result-nps").inner_text()
    context.close()
