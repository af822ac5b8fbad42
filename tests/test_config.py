from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from survey_app import config as cfg
from survey_app import create_app
from survey_app.extensions import db
from survey_app.sqlite_writers import QueuedWritersConnection


def test_secret_key_is_generated_once_into_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = cfg.secret_key(tmp_path)
    assert len(first) == 64 and (tmp_path / "secret_key").read_text() == first
    assert cfg.secret_key(tmp_path) == first  # the next start (or worker) reads the same key
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"


def test_configured_secret_key_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert cfg.secret_key(tmp_path) == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


def test_database_url_defaults_to_sqlite_and_maps_postgres_to_psycopg(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert cfg.database_url().startswith("sqlite:///") and cfg.database_url().endswith(".sqlite")
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db/x")
    assert cfg.database_url() == "postgresql+psycopg://u:p@db/x"
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db/x")
    assert cfg.database_url() == "postgresql+psycopg://u:p@db/x"


def test_postgresql_sessions_run_in_utc_after_the_urls_own_options():
    assert cfg.postgresql_options("postgresql+psycopg://u@db/x") == "-c TimeZone=UTC"
    with_options = "postgresql+psycopg://u@db/x?options=-c%20statement_timeout%3D5s"
    assert cfg.postgresql_options(with_options) == "-c statement_timeout=5s -c TimeZone=UTC"
    options = cfg.engine_options("postgresql+psycopg://u@db/x")
    assert options == {"pool_pre_ping": True, "connect_args": {"options": "-c TimeZone=UTC"}}


def test_an_app_given_another_database_gets_that_databases_engine_options(tmp_path, monkeypatch):
    # e.g. the migration test's SQLite file while DATABASE_URL names PostgreSQL (make test-pg)
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db/x")
    application = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'other.sqlite'}"})
    options = application.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["connect_args"] == {"factory": QueuedWritersConnection}
    with application.app_context():
        with db.engine.connect() as connection:  # a PostgreSQL option would fail here
            assert connection.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        db.engine.dispose()


def test_https_marks_cookies_secure_and_redis_shares_rate_limits(monkeypatch):
    monkeypatch.setenv("HTTPS", "1")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")
    settings = cfg.TestingConfig()
    assert settings.SESSION_COOKIE_SECURE and settings.REMEMBER_COOKIE_SECURE
    assert settings.RATELIMIT_STORAGE_URI == "redis://cache:6379/0"
    monkeypatch.delenv("HTTPS")
    monkeypatch.delenv("REDIS_URL")
    settings = cfg.TestingConfig()
    assert not settings.SESSION_COOKIE_SECURE
    assert settings.RATELIMIT_STORAGE_URI == "memory://"


def test_production_refuses_to_start_without_a_database_url(monkeypatch):
    monkeypatch.setenv("SURVEY_APP_ENV", "production")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    try:
        cfg.load_config()
    except RuntimeError as error:
        assert "DATABASE_URL" in str(error)
    else:
        raise AssertionError("production started without DATABASE_URL")


def test_database_connection_settings(app):
    """SQLite runs in WAL mode with foreign keys enforced; otherwise the engine is PostgreSQL."""
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            with db.engine.connect() as connection:
                assert connection.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
                assert connection.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
        else:
            assert db.engine.dialect.name == "postgresql"
            assert db.engine.dialect.driver == "psycopg"
            with db.engine.connect() as connection:
                # SQL's dates are UTC days, as on SQLite (which stores UTC text), and the driver
                # hands back timestamps in plain UTC (pandas converts those in bulk)
                assert connection.exec_driver_sql("SHOW TimeZone").scalar() == "UTC"
                late = "TIMESTAMPTZ '2026-01-01 00:30:00+08'"
                assert connection.exec_driver_sql(f"SELECT {late}::date").scalar() == date(
                    2025, 12, 31
                )
                read = connection.exec_driver_sql(f"SELECT {late}").scalar()
                assert read == datetime(2025, 12, 31, 16, 30, tzinfo=UTC) and read.tzinfo is UTC
