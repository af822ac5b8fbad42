"""API-key authentication. The API never reads the session cookie, so a browser's sign-in cannot
be ridden across sites (the API is exempt from CSRF for that reason only)."""

from __future__ import annotations

import json
from functools import wraps

from flask import g, request
from flask_babel import gettext as _

from survey_app.accounts import services as account_services
from survey_app.accounts.models import Role, User
from survey_app.errors import DomainError, PermissionDenied
from survey_app.extensions import db


class Unauthorized(DomainError):
    status_code = 401


def _presented_key() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.headers.get("X-API-Key") or None


def _refuse_bottomless_json() -> None:
    """JSON nested thousands deep exhausts the parser's recursion: refuse it as bad JSON (400)
    before the schema parser meets it."""
    if request.mimetype != "application/json" or request.method != "POST":
        return
    try:
        json.loads(request.get_data(cache=True) or b"null")
    except RecursionError:
        raise DomainError(_("The request body is nested too deeply.")) from None
    except ValueError:
        pass  # malformed JSON: the schema parser answers it


def load_api_user() -> None:
    """``before_request`` of the API: a presented key must be valid (a wrong key is refused even
    where no key is needed, so a broken integration notices); no key means a public caller."""
    g.api_user = None
    _refuse_bottomless_json()
    key = _presented_key()
    if key is None:
        return
    user = account_services.authenticate_api_key(key)
    if user is None:
        raise Unauthorized(_("The API key is not valid or has been revoked."))
    db.session.commit()  # the time of use, when it was due (read-only calls commit nothing else)
    g.api_user = user


def api_user() -> User | None:
    return g.get("api_user")


def key_required(*roles: Role):
    """The call needs a key of a user holding one of ``roles`` (admins hold every right)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            user = api_user()
            if user is None:
                raise Unauthorized(_("This call needs an API key: Authorization: Bearer <key>."))
            if not user.has_role(*roles):
                raise PermissionDenied(_("This API key's user may not do this."))
            return view(*args, **kwargs)

        wrapped.api_roles = frozenset(role.value for role in roles)
        return wrapped

    return decorator
