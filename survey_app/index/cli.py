"""``flask index ...``: estimate a PLS path model from a CSV of item scores."""

from __future__ import annotations

import json
import math

import click
import pandas as pd
from flask import Blueprint

from survey_app.analytics import pls
from survey_app.extensions import db
from survey_app.index import services
from survey_app.jobs import services as jobs

cli = Blueprint("index_cli", __name__, cli_group="index")


def _pair(key: tuple[str, str]) -> str:
    return f"{key[0]}->{key[1]}"


def _number(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def _read_model(path: str) -> pls.PathModel:
    try:
        with open(path, encoding="utf-8") as handle:
            spec = json.load(handle)
    except OSError as error:
        raise click.BadParameter(
            f"cannot read {path}: {error.strerror or error}", param_hint="--model"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise click.BadParameter(
            f"{path} is not valid JSON: {error}", param_hint="--model"
        ) from None
    try:
        return pls.PathModel.from_dict(spec)
    except pls.ModelError as error:
        raise click.BadParameter(f"{path}: {error}", param_hint="--model") from None


def _read_data(path: str, model: pls.PathModel) -> pd.DataFrame:
    """Read the model's item columns; empty cells are missing answers, anything else must be a
    number (the error names the column and the CSV line)."""
    try:
        header = pd.read_csv(path, nrows=0).columns
        absent = [item for item in model.items if item not in header]
        if absent:
            raise click.BadParameter(
                f"column {absent[0]} of the model is not in {path}", param_hint="--data"
            )
        data = pd.read_csv(path, usecols=list(model.items), na_values=[""], keep_default_na=False)
    except OSError as error:
        raise click.BadParameter(
            f"cannot read {path}: {error.strerror or error}", param_hint="--data"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as error:
        raise click.BadParameter(
            f"{path} is not a readable CSV file: {error}", param_hint="--data"
        ) from None
    numeric = {}
    for item in model.items:
        column = data[item]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            numeric[item] = column.astype("float64")
            continue
        text = column.astype(str).str.strip().where(column.notna(), "")
        values = pd.to_numeric(text.where(text != ""), errors="coerce")
        bad = values.isna() & (text != "")
        if bad.any():
            row = int(bad.to_numpy().argmax())
            raise click.BadParameter(
                f"column {item}, line {row + 2} of {path}: {column.iloc[row]!r} is not a number",
                param_hint="--data",
            )
        numeric[item] = values.astype("float64")
    return pd.DataFrame(numeric)


def _interval(interval: pls.Interval) -> dict:
    return {
        "se": _number(interval.se),
        "ci95": [_number(interval.low), _number(interval.high)],
    }


def result_json(result: pls.PLSResult, boot: pls.BootstrapResult | None) -> dict:
    """The CLI's output document (docs/methodology.md, "Output")."""
    out = {
        "path_coefficients": {_pair(k): v for k, v in result.path_coefficients.items()},
        "outer_weights": result.outer_weights,
        "loadings": result.loadings,
        "r_squared": result.r_squared,
        "total_effects": {_pair(k): v for k, v in result.total_effects.items()},
        "reliability": {
            c: {"alpha": r.alpha, "rho": r.rho, "ave": r.ave} for c, r in result.reliability.items()
        },
        "index": {c: _number(ix.value) for c, ix in result.index.items()},
        "diagnostics": {
            "respondents": result.n,
            "rows_in": result.missing.rows_in,
            "rows_dropped": result.missing.rows_dropped,
            "missing": result.missing.strategy,
            "imputed": result.missing.imputed,
            "iterations": result.iterations,
            "negative_weights": {c: list(v) for c, v in result.negative_weight_flags.items()},
        },
    }
    if boot is not None:
        out["bootstrap"] = {
            "resamples": boot.resamples,
            "failed": boot.failed,
            "seed": boot.seed,
            "path_coefficients": {
                _pair(k): _interval(v) for k, v in boot.path_coefficients.items()
            },
            "outer_weights": {
                c: {i: _interval(v) for i, v in items.items()}
                for c, items in boot.outer_weights.items()
            },
            "loadings": {
                c: {i: _interval(v) for i, v in items.items()} for c, items in boot.loadings.items()
            },
            "total_effects": {_pair(k): _interval(v) for k, v in boot.total_effects.items()},
            "r_squared": {c: _interval(v) for c, v in boot.r_squared.items()},
            "index": {c: _interval(v) for c, v in boot.index.items()},
        }
    return out


@cli.cli.command("estimate")
@click.option(
    "--data", "data_path", required=True, help="CSV of item scores, one row per respondent."
)
@click.option(
    "--model", "model_path", required=True, help="Model file (JSON), see docs/methodology.md."
)
@click.option("--bootstrap", "resamples", type=click.IntRange(min=2), help="Bootstrap resamples.")
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap random seed.")
@click.option(
    "--missing",
    type=click.Choice(pls.MISSING_STRATEGIES),
    default="listwise",
    show_default=True,
    help="Drop respondents with a missing answer, or fill it with the item mean.",
)
@click.option(
    "--tol",
    type=click.FloatRange(min=0, min_open=True),
    default=1e-6,
    show_default=True,
    help="Convergence tolerance (sum of squared weight changes).",
)
@click.option(
    "--max-iter",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Iteration limit; the command fails if the model has not converged by then.",
)
def estimate_command(data_path, model_path, resamples, seed, missing, tol, max_iter) -> None:
    """Estimate a PLS path model from a CSV of item scores and print the results as JSON."""
    model = _read_model(model_path)
    data = _read_data(data_path, model)
    try:
        result = pls.estimate(data, model, tol=tol, max_iter=max_iter, missing=missing)
        boot = None
        if resamples:
            boot = pls.bootstrap(
                data,
                model,
                resamples=resamples,
                seed=seed,
                tol=tol,
                max_iter=max_iter,
                missing=missing,
                result=result,
            )
    except pls.PLSError as error:
        raise click.ClickException(str(error)) from None
    for construct, items in result.negative_weight_flags.items():
        click.echo(
            f"warning: {construct} has negative outer weights ({', '.join(items)}); "
            "its 0-100 index is not meaningful",
            err=True,
        )
    click.echo(json.dumps(result_json(result, boot), indent=2, allow_nan=False))


@cli.cli.command("compute")
@click.option(
    "--period",
    help="One month (2026-03) or quarter (2026-Q1); default: the last 24 complete months and "
    "their quarters.",
)
def compute_command(period) -> None:
    """Compute and store the composite index of the period(s) for every group, with the
    weights in force now."""
    try:
        periods = (
            [services.parse_period(period)]
            if period
            else services.recent_periods(services.default_as_of())
        )
    except services.IndexRuleError as error:
        raise click.BadParameter(str(error), param_hint="--period") from None
    with click.progressbar(length=len(periods), label="index") as bar:
        summary = services.compute(periods, progress=lambda done, total: bar.update(1))
    db.session.commit()
    click.echo(f"stored {summary.values} index values for {summary.periods} periods")


@cli.cli.command("work")
def work_command() -> None:
    """Run the index recomputations queued from the report (``flask jobs work`` runs these and
    every other kind of queued job)."""
    ran, failed = jobs.work((services.JOB_KIND,))
    click.echo(f"{ran} job(s) run" + (f", {failed} failed" if failed else ""))
    if failed:
        raise SystemExit(1)
