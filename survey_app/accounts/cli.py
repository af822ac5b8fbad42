from __future__ import annotations

import click
from flask import Blueprint

from survey_app.errors import DomainError
from survey_app.extensions import db

from . import services
from .models import Role

cli = Blueprint("accounts_cli", __name__, cli_group=None)


@cli.cli.command("create-user")
@click.option("--email", required=True, help="Sign-in address (unique).")
@click.option(
    "--password", required=True, help=f"At least {services.MIN_PASSWORD_LENGTH} characters."
)
@click.option(
    "--role", required=True, type=click.Choice([r.value for r in Role]), help="Access role."
)
@click.option("--name", default="", help="Display name.")
def create_user_command(email: str, password: str, role: str, name: str) -> None:
    """Create a staff user non-interactively."""
    try:
        user = services.create_user(email, password, role, name)
    except DomainError as error:
        raise click.ClickException(str(error.message)) from None
    db.session.commit()
    click.echo(f"created {user.role.value} {user.email}")
