"""Take the README's screenshots from a running server with the demo data.

make run                      # in one shell (seeds the demo on first start)
.venv/bin/python scripts/screenshots.py http://127.0.0.1:8000 docs/screenshots
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]

#: (file name, path, language, viewport, demo account or None)
SHOTS = [
    ("home-phone-zh.png", "/", "zh-CN", (390, 844), None),
    ("complaint-form-phone-zh.png", "/complaint", "zh-CN", (390, 844), None),
    (
        "complaint-analysis-en.png",
        "/complaints/analysis",
        "en-US",
        (1280, 900),
        "manager@example.com",
    ),
    ("churn-analysis-zh.png", "/churn/analysis", "zh-CN", (1280, 900), "manager@example.com"),
    ("index-report-en.png", "/index/", "en-US", (1280, 900), "manager@example.com"),
    ("home-overview-en.png", "/", "en-US", (1280, 900), "manager@example.com"),
    ("followups-phone-zh.png", "/surveys/followups", "zh-CN", (390, 844), "staff@example.com"),
]
PASSWORDS = {
    "staff@example.com": "demo-staff-2026",
    "admin@example.com": "demo-admin-2026",
    "manager@example.com": "demo-manager-2026",
}


def main(base: str, out: Path, survey: str | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    shots = list(SHOTS)
    if survey:
        shots.append(("survey-phone-zh.png", survey, "zh-CN", (390, 844), None))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=ARGS)
        for name, path, locale, (width, height), account in shots:
            context = browser.new_context(
                locale=locale, viewport={"width": width, "height": height}
            )
            page = context.new_page()
            if account:
                page.goto(base + "/login")
                page.fill("input[name=email]", account)
                page.fill("input[name=password]", PASSWORDS[account])
                page.click("button[type=submit]")
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(out / name), full_page=False)
            context.close()
            print("wrote", out / name)
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/"), Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)
