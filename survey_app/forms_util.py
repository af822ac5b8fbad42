"""Helpers shared by the views of every domain."""

from __future__ import annotations

from datetime import date

from flask import current_app, request, url_for
from flask_babel import gettext as _

from survey_app.errors import DomainError


def attach_error(form, error: DomainError) -> bool:
    """Show a service's rule violation next to the field it concerns (or above the form).

    Returns False so a view can write ``if not attach_error(...)`` fluently."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)
    return False


#: the largest id of any of our rows (a signed 32-bit integer column)
ID_MAX = 2**31 - 1
#: pages past this are as empty as the one after the last
PAGE_MAX = 100_000


def parse_id(text: str | None) -> int | None:
    """A positive id typed as ASCII digits, or None (odd digits such as "²", a sign, or a number
    no row can have, which the database could not even compare)."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 0 < value <= ID_MAX else None


def id_arg(name: str) -> int | None:
    """The query argument ``name`` as an id (``parse_id``)."""
    return parse_id(request.args.get(name))


def date_range_args(first: str, last: str) -> tuple[date | None, date | None, dict[str, str]]:
    """The query arguments ``first`` and ``last`` as a range of days, and what was wrong with
    them by argument: a date that is not one, or a range that ends before it starts, is left out
    with a message (nothing the user typed fails the page)."""
    errors = {}

    def day(name):
        raw = request.args.get(name, "").strip()
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            errors[name] = _("Dates look like 2026-01-31.")
            return None

    start, end = day(first), day(last)
    if start and end and start > end:
        errors[last] = _("The start date is after the end date.")
        start = end = None
    return start, end, errors


def page_arg() -> int:
    """The ``page`` query argument, clamped to 1..PAGE_MAX (bad input gives page 1)."""
    return min(max(1, request.args.get("page", 1, type=int) or 1), PAGE_MAX)


def page_size() -> int:
    return current_app.config["PAGE_SIZE"]


def url_for_page(page: int) -> str:
    """The current page's URL with ``page`` replaced, keeping every other query argument."""
    args = {**(request.view_args or {}), **request.args.to_dict(), "page": page}
    return url_for(request.endpoint, **args)
