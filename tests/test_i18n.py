from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from survey_app.i18n import normalise

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


@pytest.mark.parametrize(
    ("header", "marker"),
    [
        ("zh-CN,zh;q=0.9", "您的意见"),
        ("zh-TW", "您的意见"),
        ("en-US,en;q=0.9", "Your opinion makes our service better"),
        ("fr-FR,en;q=0.5", "Your opinion makes our service better"),
        ("de-DE", "您的意见"),  # nothing we speak: the default, Chinese
    ],
)
def test_language_follows_accept_language(client, header, marker):
    body = client.get("/", headers={"Accept-Language": header}).get_data(as_text=True)
    assert marker in body


def test_html_lang_attribute_names_the_language(client):
    assert '<html lang="zh-Hans">' in client.get(
        "/", headers={"Accept-Language": "zh-CN"}
    ).get_data(as_text=True)
    assert '<html lang="en">' in client.get("/", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )


def test_language_switch_is_remembered_over_the_browser_preference(client):
    response = client.get("/lang/en?next=/login", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    body = client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "Your opinion makes our service better" in body
    client.get("/lang/zh_Hans")
    assert "您的意见" in client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_language_switch_ignores_unknown_languages_and_foreign_redirects(client):
    response = client.get("/lang/xx?next=https://evil.example/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "lang=" not in response.headers.get("Set-Cookie", "")


def test_page_offers_the_other_language(client):
    body = client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert 'href="/lang/en' in body
    body = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'href="/lang/zh_Hans' in body


@pytest.mark.parametrize(
    ("tag", "locale"),
    [("zh-Hans-CN", "zh_Hans"), ("ZH", "zh_Hans"), ("en-GB", "en"), ("ja", None), ("", None)],
)
def test_browser_tags_map_to_catalogues(tag, locale):
    assert normalise(tag) == locale


def test_the_chinese_catalogue_translates_every_message():
    with open(TRANSLATIONS / "zh_Hans" / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalog = read_po(handle)
    missing = [
        m.id
        for m in catalog
        if m.id and not (m.string if isinstance(m.string, str) else all(m.string))
    ]
    assert missing == []
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert fuzzy == []


def test_both_catalogues_are_compiled(app):
    for locale in ("zh_Hans", "en"):
        assert (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo").is_file(), (
            "run `make translations` (make test does it)"
        )
