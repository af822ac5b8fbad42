"""Response headers and access rules every page shares."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import abort, current_app, request
from flask_login import current_user

#: Only our own scripts run. Styles allow inline attributes because Plotly sets them on its SVG.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


#: what every response carries unless its view set the header itself
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
)
#: and over HTTPS (``SESSION_COOKIE_SECURE``)
HTTPS_HEADERS = (*SECURITY_HEADERS, ("Strict-Transport-Security", "max-age=31536000"))


def set_security_headers(response):
    # One pass over the headers: Werkzeug's per-header lookup (``setdefault``) raises and
    # catches an exception for every header that is missing, which is every one of these.
    headers = response.headers
    present = {key.lower() for key in headers.keys()}
    wanted = HTTPS_HEADERS if current_app.config.get("SESSION_COOKIE_SECURE") else SECURITY_HEADERS
    for key, value in wanted:
        if key.lower() not in present:
            headers.add(key, value)
    return response


def roles_required(*roles):
    """View decorator: anonymous visitors go to the login page; a signed-in user without one of
    ``roles`` gets 403. Admins hold every right."""
    allowed = {getattr(role, "value", role) for role in roles}

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if not current_user.has_role(*allowed):
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = frozenset(allowed)
        return wrapped

    return decorator


def safe_next(target: str | None, default: str) -> str:
    """A redirect target from user input: only a path on this site, never another host."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target


def reject_unstorable_input():
    """Refuse (400) path parts, query values and form fields holding NUL: PostgreSQL cannot store
    or even compare it, no person types it, and letting it through would turn hostile input into a
    server error. (JSON bodies are checked by the API's schemas.)"""
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and "\x00" in value:
            abort(400)
    sources = [request.args]
    if request.method == "POST" and request.mimetype != "application/json":
        sources.append(request.form)
    for source in sources:
        for key, value in source.items(multi=True):
            if "\x00" in key or "\x00" in value:
                abort(400)
