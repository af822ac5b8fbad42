"""``flask jobs work``: run the queued jobs of every domain (from cron, every minute)."""

from __future__ import annotations

import click
from flask import Blueprint

from . import services

cli = Blueprint("jobs_cli", __name__, cli_group="jobs")


@cli.cli.command("work")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    help="Only jobs of this kind (index, churn); repeatable. Default: every kind.",
)
def work_command(kinds) -> None:
    """Run the jobs queued from the pages and imports (run it every minute from cron or a
    systemd timer); each job's progress is written to the database for the page to show."""
    known = services.kinds()
    unknown = [k for k in kinds if k not in known]
    if unknown:
        raise click.BadParameter(
            f"unknown kind {unknown[0]!r} (known: {', '.join(known)})", param_hint="--kind"
        )
    ran, failed = services.work(tuple(kinds) or None)
    click.echo(f"{ran} job(s) run" + (f", {failed} failed" if failed else ""))
    if failed:
        raise SystemExit(1)
