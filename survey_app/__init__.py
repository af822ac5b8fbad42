"""survey_app: satisfaction surveys, complaint workflow, lost-customer analysis, one index."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from . import assets
from .config import INSTANCE_DIR, PROJECT_ROOT, engine_options, load_config
from .errors import DomainError
from .extensions import babel, csrf, db, limiter, login_manager, migrate, rest_api
from .forms_util import ID_MAX
from .i18n import html_lang, select_locale
from .security import reject_unstorable_input, set_security_headers

ERROR_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Server error",
}


class IdConverter(IntegerConverter):
    """``<int:...>`` in our URLs: the ids of our rows fit a signed 32-bit column, so a larger
    number matches no route (404) instead of reaching the database, which cannot even compare it
    with a column (SQLite's driver raises, PostgreSQL refuses an integer out of range)."""

    def __init__(self, map, fixed_digits=0, min=None, max=ID_MAX, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits, min, max, signed)


def create_app(config: dict | None = None) -> Flask:
    """Build the application. ``config`` overrides settings (tests pass a dict)."""
    app = assets.VersionedStaticFlask(
        __name__,
        instance_path=str(INSTANCE_DIR),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_object(load_config())
    if config:
        app.config.update(config)
    # the engine's options follow the database the app is finally given
    app.config.setdefault(
        "SQLALCHEMY_ENGINE_OPTIONS", engine_options(app.config["SQLALCHEMY_DATABASE_URI"])
    )
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    limiter.init_app(app)  # the limits are per view: extensions.rate_limit
    csrf.init_app(app)
    rest_api.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    _init_login(app)

    assets.init_app(app)
    app.url_map.converters["int"] = IdConverter  # before any rule is made
    _register_blueprints(app)
    _register_error_handlers(app)
    app.before_request(reject_unstorable_input)
    app.after_request(set_security_headers)

    from .forms_util import url_for_page

    app.add_template_global(url_for_page)

    @app.context_processor
    def inject_locale():
        locale = str(get_locale())
        return {"current_locale": locale, "html_lang": html_lang(locale)}

    return app


def _init_login(app: Flask) -> None:
    from .accounts.models import User

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(token: str):
        return db.session.scalar(db.select(User).where(User.session_token == token))


def _register_blueprints(app: Flask) -> None:
    from .accounts.cli import cli as accounts_cli
    from .accounts.views import bp as accounts_bp
    from .churn.cli import cli as churn_cli
    from .churn.views import bp as churn_bp
    from .complaints.cli import cli as complaints_cli
    from .complaints.views import bp as complaints_bp
    from .core.views import bp as core_bp
    from .customers.cli import cli as customers_cli
    from .customers.views import bp as customers_bp
    from .demo import cli as demo_cli
    from .index.cli import cli as index_cli
    from .index.views import bp as index_bp
    from .jobs.cli import cli as jobs_cli
    from .surveys.cli import cli as surveys_cli
    from .surveys.views import bp as surveys_bp
    from .taxonomy.views import bp as taxonomy_bp

    for blueprint in (
        core_bp,
        accounts_bp,
        customers_bp,
        taxonomy_bp,
        complaints_bp,
        surveys_bp,
        churn_bp,
        index_bp,
        accounts_cli,
        customers_cli,
        surveys_cli,
        complaints_cli,
        churn_cli,
        demo_cli,
        index_cli,
        jobs_cli,
    ):
        app.register_blueprint(blueprint)

    from .api.views import bp as api_bp

    rest_api.register_blueprint(api_bp)  # through flask-smorest, so it enters the OpenAPI document


def _wants_json() -> bool:
    return request.path.startswith("/api/") or (request.accept_mimetypes.best == "application/json")


def _field_errors(data: dict) -> dict[str, list[str]]:
    """webargs' ``{"json": {"a": {"0": {"b": ["msg"]}}}}`` as ``{"a[0].b": ["msg"]}``."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                key = str(key)
                name = (
                    f"{prefix}[{key}]"
                    if key.isdigit() and prefix
                    else (f"{prefix}.{key}" if prefix else key)
                )
                walk(name, value)
        elif isinstance(node, list) and all(isinstance(m, str) for m in node):
            flat.setdefault(prefix or "_", []).extend(node)
        else:
            flat.setdefault(prefix or "_", []).append(str(node))

    for _location, messages in data["messages"].items():
        walk("", messages)
    return flat


def _register_error_handlers(app: Flask) -> None:
    def render_error(status: int, message: str | None = None, fields: dict | None = None):
        if _wants_json():
            body = {"status": status, "message": message or ERROR_TITLES.get(status, "")}
            if fields:
                body["fields"] = fields
            return jsonify(error=body), status
        return render_template("errors/error.html", status=status, message=message), status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        data = getattr(error, "data", None) or {}
        if "messages" in data:  # webargs: the request did not match its schema
            return render_error(
                error.code, _("Some fields are missing or not valid."), _field_errors(data)
            )
        if error.code == 400 and _wants_json():
            return render_error(400, _("The request body is not valid JSON."))
        return render_error(error.code)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(
            400, _("The form had expired. Please go back, reload it and try again.")
        )

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        db.session.rollback()
        fields = getattr(error, "fields", None)
        if fields is None and error.field:
            fields = {error.field: [str(error.message)]}
        status = error.status_code
        if status == 400 and request.path.startswith("/api/"):
            status = 422  # well-formed, but against a business rule
        return render_error(status, str(error.message), fields)

    @app.errorhandler(Exception)
    def server_error(error: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return render_error(500)
