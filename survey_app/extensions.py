"""Every Flask extension, created unbound here and bound in ``create_app``."""

from __future__ import annotations

import functools
import sqlite3

from flask import current_app, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

from survey_app.api.error_schema import ApiErrorSchema

#: Stable constraint names, so Alembic migrations name the same thing on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


#: blueprints whose views never use the session (the API and its OpenAPI document)
SESSIONLESS_BLUEPRINTS = frozenset({"api", "api-docs"})


class _LoginManager(LoginManager):
    """Flask-Login's, except that static files and the API skip its after-request check for a
    pending "remember me" cookie: the check reads the session, and a response whose session was
    read carries ``Vary: Cookie`` (so a browser that has a session kept a separate copy of, or
    revalidated, every script and style sheet, and no cache could share an API answer). Nobody
    signs in or out there: the API authenticates by key, never by session."""

    def _update_remember_cookie(self, response):
        if request.endpoint == "static" or request.blueprint in SESSIONLESS_BLUEPRINTS:
            return response
        return super()._update_remember_cookie(response)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)
login_manager = _LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address)


def rate_limit(limit_value, **options):
    """``limiter.limit(limit_value, **options)`` for a view, costing nothing while rate limiting
    is off (``RATELIMIT_ENABLED``): flask-limiter's own decorator still sorts through the
    view's limits on every request then."""
    limited = limiter.limit(limit_value, **options)

    def decorator(view):
        checked = limited(view)

        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if current_app.config.get("RATELIMIT_ENABLED", True):
                return checked(*args, **kwargs)
            return view(*args, **kwargs)

        return wrapped

    return decorator


class JsonApi(Api):
    """flask-smorest, minus its app-wide error handler: the app's own handlers answer every
    error, with JSON of one shape under /api/ (see ``survey_app.api.schemas.ErrorSchema``)."""

    ERROR_SCHEMA = ApiErrorSchema

    def _register_error_handlers(self):
        pass


rest_api = JsonApi()


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """SQLite: write-ahead log (readers never block the writer), foreign keys enforced, and a busy
    timeout so that concurrent gunicorn workers wait for the write lock instead of failing."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
