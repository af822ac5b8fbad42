from __future__ import annotations

import click
from flask import Blueprint, current_app, url_for

from survey_app import mailer
from survey_app.extensions import db

from . import mail, services

cli = Blueprint("complaints_cli", __name__, cli_group="complaints")


@cli.cli.command("escalate-overdue")
def escalate_overdue_command() -> None:
    """Escalate every open complaint past its SLA deadline (run from cron, e.g. every 15 min)."""
    count = services.escalate_overdue()
    db.session.commit()
    click.echo(f"escalated {count} overdue complaint(s)")


@cli.cli.command("send-mail")
def send_mail_command() -> None:
    """E-mail customers the updates of their complaints waiting to be sent (run from cron every
    minute; needs SMTP_HOST, and PUBLIC_BASE_URL for the tracking links). Exits non-zero when a
    mail could not be sent; it is tried again on the next run, up to five times."""
    if not mailer.smtp_configured(current_app.config):
        raise click.ClickException("SMTP_HOST is not set: complaint updates are not e-mailed")
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base and current_app.config.get("SURVEY_APP_ENV") == "production":
        raise click.ClickException(
            "PUBLIC_BASE_URL is not set: the customers' tracking links would point nowhere"
        )
    if not base:
        click.echo("warning: PUBLIC_BASE_URL is not set; the links point to http://127.0.0.1:8000")
        base = "http://127.0.0.1:8000"
    with current_app.test_request_context():
        sent, failed = mail.send_pending(
            current_app.config, lambda token: base + url_for("complaints.track", token=token)
        )
    click.echo(f"{sent} complaint update(s) e-mailed" + (f", {failed} failed" if failed else ""))
    if failed:
        raise SystemExit(1)
