"""Settings read from environment variables, with safe defaults.

One variable, ``SURVEY_APP_ENV`` (``development`` by default, ``production`` or ``testing``), picks
the class; everything secret or site-specific comes from the environment.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from survey_app.sqlite_writers import QueuedWritersConnection

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH", PROJECT_ROOT / "instance"))


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_url() -> str:
    """The SQLAlchemy URL: ``DATABASE_URL`` if set, else a SQLite file under ``instance/``.

    ``postgres://`` and ``postgresql://`` URLs are pointed at psycopg 3.
    """
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{INSTANCE_DIR / 'survey_app.sqlite'}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def engine_options(url: str) -> dict:
    """SQLAlchemy's engine options for the database at ``url``: ``create_app`` sets them from
    the database the app is finally given (``DATABASE_URL``, or a URL in its settings)."""
    if url.startswith("sqlite"):
        # concurrent writers (gunicorn workers) queue instead of polling: sqlite_writers;
        # no pre-ping (a query per request): nothing closes a file's connection but us
        return {"pool_pre_ping": False, "connect_args": {"factory": QueuedWritersConnection}}
    # a server may close a pooled connection (restart, idle timeout): test each one as it is
    # taken from the pool
    options: dict = {"pool_pre_ping": True}
    if url.startswith("postgresql"):
        options["connect_args"] = {"options": postgresql_options(url)}
    return options


def postgresql_options(url: str) -> str:
    """libpq's ``options`` for every PostgreSQL connection: the URL's own, then the session's
    time zone set to UTC. Every timestamp is stored and computed in UTC; with the server's
    default zone (``Etc/UTC``, ``Asia/Shanghai``, ...) psycopg would hand back each value with a
    ``ZoneInfo``, which pandas converts one object at a time (about 1.5 s for the 240,000 survey
    responses the churn recompute reads, against 0.1 s with psycopg's plain UTC), and SQL's own
    date functions would work in a zone SQLite never sees."""
    given = make_url(url).query.get("options", "")
    if isinstance(given, tuple):
        given = " ".join(given)
    return f"{given} -c TimeZone=UTC".strip()


def secret_key(instance_dir: Path = INSTANCE_DIR) -> str:
    """``SECRET_KEY`` from the environment, else one generated once into ``instance/secret_key``.

    Several gunicorn workers may start at once: the file is created exclusively, and a worker that
    loses the race reads the winner's key.
    """
    configured = os.environ.get("SECRET_KEY", "").strip()
    if configured:
        return configured
    instance_dir.mkdir(parents=True, exist_ok=True)
    path = instance_dir / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):
            key = path.read_text().strip()
            if key:
                return key
            time.sleep(0.02)
        raise RuntimeError(f"{path} exists but is empty; delete it or set SECRET_KEY") from None
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


class Config:
    SURVEY_APP_ENV = "development"
    SQLALCHEMY_TRACK_MODIFICATIONS = False

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = 8 * 3600

    LANGUAGES = ("zh_Hans", "en")
    BABEL_DEFAULT_LOCALE = "zh_Hans"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    BABEL_TRANSLATION_DIRECTORIES = str(PROJECT_ROOT / "translations")

    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = "10 per minute;50 per hour"
    PUBLIC_POST_RATE_LIMIT = "20 per minute;200 per hour"

    PAGE_SIZE = 25

    #: how long a worker may keep the SLA targets and the working calendar it read for new
    #: complaints (a change made in the worker itself applies at once)
    SETTINGS_CACHE_SECONDS = 10

    #: the integration API and its OpenAPI document (/api/v1/openapi.json)
    API_TITLE = "survey_app integration API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    API_SPEC_OPTIONS = {
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "an API key"}
            }
        },
        "security": [{"apiKey": []}, {}],
    }
    #: the largest request body accepted (an imported customer or transaction file is the biggest;
    #: complaint attachments take up to 5 x 5 MB); larger bodies are refused with 413 unread
    MAX_CONTENT_LENGTH = 50 * 1024 * 1024

    def __init__(self) -> None:
        # Read at instantiation, so tests and tools that change the environment see the change.
        self.SECRET_KEY = secret_key()
        self.SQLALCHEMY_DATABASE_URI = database_url()
        https = _bool("HTTPS", False)
        self.SESSION_COOKIE_SECURE = https
        self.REMEMBER_COOKIE_SECURE = https
        self.PREFERRED_URL_SCHEME = "https" if https else "http"
        redis_url = os.environ.get("REDIS_URL", "").strip()
        self.RATELIMIT_STORAGE_URI = redis_url or "memory://"
        self.PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "").rstrip("/")
        self.RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", self.RATELIMIT_ENABLED)
        # Optional SMTP for survey invitations and complaint updates; without SMTP_HOST nothing
        # is sent (nor queued) by e-mail.
        self.SMTP_HOST = os.environ.get("SMTP_HOST", "").strip()
        self.SMTP_PORT = int(os.environ.get("SMTP_PORT", "25") or 25)
        self.SMTP_USER = os.environ.get("SMTP_USER", "").strip()
        self.SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
        self.SMTP_FROM = os.environ.get("SMTP_FROM", "").strip()
        self.SMTP_STARTTLS = _bool("SMTP_STARTTLS", False)


class DevelopmentConfig(Config):
    pass


class ProductionConfig(Config):
    SURVEY_APP_ENV = "production"

    def __init__(self) -> None:
        super().__init__()
        if not os.environ.get("DATABASE_URL"):
            raise RuntimeError("production needs DATABASE_URL (PostgreSQL); see docs/operations.md")


class TestingConfig(Config):
    SURVEY_APP_ENV = "testing"
    TESTING = True
    PAGE_SIZE = 10


CONFIGS = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestingConfig,
}


def load_config() -> Config:
    name = os.environ.get("SURVEY_APP_ENV", "development").strip().lower()
    try:
        return CONFIGS[name]()
    except KeyError:
        raise RuntimeError(
            f"SURVEY_APP_ENV must be one of {sorted(CONFIGS)}, not {name!r}"
        ) from None
