from __future__ import annotations

from pathlib import Path

import click
from flask import Blueprint

from survey_app.errors import DomainError
from survey_app.extensions import db

from . import importing, services

cli = Blueprint("customers_cli", __name__, cli_group=None)


def _run(kind: str, file: str, dry_run: bool) -> None:
    try:
        table = importing.read_table(Path(file))
        mapping = importing.guess_mapping(kind, table.headers)
        with click.progressbar(length=len(table.rows), label="checking rows") as bar:

            def progress(rows):
                for item in rows:
                    bar.update(1)
                    yield item

            checked = services.check_file(kind, table, mapping, progress)
    except DomainError as error:
        raise click.ClickException(str(error.message)) from None
    if not checked.ok:
        for error in checked.errors:
            click.echo(f"line {error.line}: {error.message}", err=True)
        raise click.ClickException(f"{len(checked.errors)} bad rows: nothing was imported")
    if dry_run:
        click.echo(f"dry run: all {len(checked.records)} rows are valid; nothing was written")
        return
    with click.progressbar(length=len(checked.records), label="importing") as bar:
        chunk = 2000

        def batches(chunks):
            for start in chunks:
                yield start
                bar.update(min(chunk, len(checked.records) - start))

        result = importing.apply(kind, checked.records, chunk, batches)
    if kind != "customers" and (result.created or result.updated):
        from datetime import date

        from survey_app.churn import services as churn_services

        churn_services.recompute(date.today())
    db.session.commit()
    click.echo(
        f"{kind}: {result.created} created, {result.updated} updated, {result.unchanged} unchanged"
    )


def _command(kind: str):
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--dry-run", is_flag=True, help="Check every row and write nothing.")
    def command(file: str, dry_run: bool) -> None:
        _run(kind, file, dry_run)

    command.__doc__ = (
        f"Import {kind} from a CSV or XLSX FILE, all rows or none; rows match on their "
        "external id, so re-importing a file changes nothing. Columns: "
        + ", ".join(c.name for c in importing.COLUMNS[kind])
    )
    return cli.cli.command(f"import-{kind}")(command)


for _kind in importing.KINDS:
    _command(_kind)
