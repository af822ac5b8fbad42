from __future__ import annotations

import click
from flask import Blueprint

from survey_app.extensions import db

from . import services

cli = Blueprint("complaints_cli", __name__, cli_group="complaints")


@cli.cli.command("escalate-overdue")
def escalate_overdue_command() -> None:
    """Escalate every open complaint past its SLA deadline (run from cron, e.g. every 15 min)."""
    count = services.escalate_overdue()
    db.session.commit()
    click.echo(f"escalated {count} overdue complaint(s)")
