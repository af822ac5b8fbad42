from __future__ import annotations

from datetime import date

import click
from flask import Blueprint

from survey_app.extensions import db

from . import services

cli = Blueprint("churn_cli", __name__, cli_group="churn")


@cli.cli.command("recompute")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Evaluate as of this date (default: today).",
)
def recompute_command(as_of) -> None:
    """Recompute every customer's churn status, value, tier and risk score (safe to run from
    cron: the result depends only on the data and the date)."""
    summary = services.recompute(as_of.date() if as_of else date.today())
    db.session.commit()
    counts = ", ".join(f"{k} {v}" for k, v in sorted(summary.counts.items()))
    concordance = (
        f"{summary.holdout_concordance:.3f}" if summary.holdout_concordance is not None else "n/a"
    )
    click.echo(
        f"as of {summary.as_of}: {summary.customers} customers ({counts}); "
        f"{summary.new_losses} new register entries; at-risk model holdout concordance "
        f"{concordance}"
    )
