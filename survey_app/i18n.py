"""Which language a page is in: the visitor's saved choice, else their browser's preference."""

from __future__ import annotations

from flask import current_app, has_request_context, request

LANG_COOKIE = "lang"


def normalise(tag: str | None) -> str | None:
    """Map a browser language tag to one of our catalogues, or None.

    Every Chinese tag (zh, zh-CN, zh-Hans, zh-SG, and the traditional zh-TW/zh-HK, for which
    simplified text serves better than English) gives ``zh_Hans``; ``en-*`` gives ``en``.
    """
    if not tag:
        return None
    primary = tag.replace("_", "-").split("-")[0].lower()
    if primary == "zh":
        return "zh_Hans"
    if primary == "en":
        return "en"
    return None


def select_locale() -> str:
    if not has_request_context():
        return "en"  # command-line tools and background jobs speak English
    supported = current_app.config["LANGUAGES"]
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in supported:
        return chosen
    for tag, _quality in request.accept_languages:
        locale = normalise(tag)
        if locale in supported:
            return locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def html_lang(locale: str) -> str:
    """The ``lang`` attribute for a locale code (BCP 47: ``zh-Hans``)."""
    return locale.replace("_", "-")
