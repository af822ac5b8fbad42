"""Helpers shared by the views of every domain."""

from __future__ import annotations

from flask import current_app, request, url_for

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


def page_arg() -> int:
    """The ``page`` query argument, clamped to a positive int (bad input gives page 1)."""
    return max(1, request.args.get("page", 1, type=int) or 1)


def page_size() -> int:
    return current_app.config["PAGE_SIZE"]


def url_for_page(page: int) -> str:
    """The current page's URL with ``page`` replaced, keeping every other query argument."""
    args = {**(request.view_args or {}), **request.args.to_dict(), "page": page}
    return url_for(request.endpoint, **args)
