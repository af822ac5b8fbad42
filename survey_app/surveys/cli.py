"""``flask surveys ...``: questionnaire chores for operators and schedulers (cron)."""

from __future__ import annotations

import click
from flask import Blueprint, current_app, url_for

from survey_app.errors import DomainError
from survey_app.extensions import db

from . import services

cli = Blueprint("surveys_cli", __name__, cli_group="surveys")


def _public_url(path: str) -> str:
    return (current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:8000") + path


@cli.cli.command("create")
@click.option(
    "--template",
    "kind",
    required=True,
    type=click.Choice(["pulse", "ecsi", "recovery", "exit"]),
    help="Which shipped template to start from.",
)
@click.option("--publish", is_flag=True, help="Publish it at once.")
def create_command(kind: str, publish: bool) -> None:
    """Create a questionnaire from a shipped template."""
    questionnaire = services.create_from_template(None, kind)
    if publish:
        services.change_status(None, questionnaire, "publish")
    db.session.commit()
    with current_app.test_request_context():
        link = _public_url(url_for("surveys.answer_public", token=questionnaire.public_token))
    click.echo(f"questionnaire {questionnaire.id} ({questionnaire.status.value}): {link}")


@cli.cli.command("remind")
@click.argument("questionnaire_id", type=int)
def remind_command(questionnaire_id: int) -> None:
    """E-mail a reminder to every invitation sent but not completed (needs SMTP_HOST, and in
    production PUBLIC_BASE_URL for the links)."""
    if (
        not current_app.config.get("PUBLIC_BASE_URL")
        and current_app.config.get("SURVEY_APP_ENV") == "production"
    ):
        raise click.ClickException(
            "PUBLIC_BASE_URL is not set: the invitation links would point nowhere"
        )
    try:
        questionnaire = services.get_questionnaire(questionnaire_id)
        with current_app.test_request_context():
            sent = services.send_invitations(
                None,
                questionnaire,
                reminder=True,
                config=current_app.config,
                url_for_token=lambda token: _public_url(
                    url_for("surveys.answer_invitation", token=token)
                ),
            )
    except DomainError as error:
        raise click.ClickException(str(error.message)) from None
    db.session.commit()
    click.echo(f"{sent} reminders sent")


@cli.cli.command("rebuild-counts")
@click.argument("questionnaire_id", type=int)
def rebuild_counts_command(questionnaire_id: int) -> None:
    """Recompute the results summary of a questionnaire from its answers."""
    try:
        questionnaire = services.get_questionnaire(questionnaire_id)
    except DomainError as error:
        raise click.ClickException(str(error.message)) from None
    counted = services.rebuild_result_counts(questionnaire)
    db.session.commit()
    click.echo(f"{counted} responses counted")
