from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import (
    Blueprint,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_login import current_user

from survey_app.db_types import utcnow
from survey_app.extensions import db
from survey_app.i18n import LANG_COOKIE
from survey_app.security import safe_next

from . import overview

bp = Blueprint("core", __name__)
log = logging.getLogger(__name__)


@bp.get("/")
def home():
    """The public welcome, or for a signed-in user the overview their role may see."""
    if not current_user.is_authenticated:
        return render_template("core/home.html", overview=None)
    summary = overview.build(current_user, utcnow(), str(get_locale()))
    return render_template("core/home.html", overview=summary)


@bp.get("/healthz")
def healthz():
    """Liveness and readiness: 200 after a real round trip to the database, 503 without one."""
    try:
        db.session.execute(sa.text("SELECT 1")).scalar_one()
    except Exception:  # any driver error means "not ready"; the detail goes to the log only
        log.exception("health check: database unreachable")
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


@bp.get("/lang/<code>")
def set_language(code: str):
    """Remember the visitor's language for a year and go back to where they were."""
    target = safe_next(request.args.get("next"), url_for("core.home"))
    response = make_response(redirect(target))
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie(
            LANG_COOKIE,
            code,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            httponly=True,
            secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        )
    return response
