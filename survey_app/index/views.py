"""The management report: the composite index, its evidence, its weights and recomputation."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from survey_app.accounts.models import Role
from survey_app.errors import DomainError
from survey_app.exports import csv_response
from survey_app.extensions import db
from survey_app.forms_util import attach_error
from survey_app.security import roles_required

from . import presenters, services
from .forms import WeightsForm

bp = Blueprint("index", __name__, url_prefix="/index")


def _selection() -> dict:
    return {
        "granularity": request.args.get("granularity", "quarter"),
        "period": request.args.get("period") or None,
        "group": request.args.get("group", "all"),
    }


def _render(form: WeightsForm | None = None, status: int = 200):
    report = presenters.build(**_selection())
    settings = services.index_settings()
    if form is None:
        form = WeightsForm(
            data={
                "weight_s": settings.weight_s,
                "weight_c": settings.weight_c,
                "weight_r": settings.weight_r,
            }
        )
    return render_template(
        "index/report.html",
        report=report,
        form=form,
        settings=settings,
        changes=services.weight_changes(),
        job=services.latest_job(),
        printable=request.args.get("print") == "1",
        method_label=presenters.method_label,
    ), status


@bp.get("/")
@roles_required(Role.MANAGER)
def report():
    return _render()


@bp.get("/export/<name>.csv")
@roles_required(Role.MANAGER)
def export(name: str):
    report = presenters.build(**_selection())
    table = report.tables.get(name)
    if table is None:
        abort(404)
    suffix = f"{report.period or 'none'}-{report.group.replace(':', '-')}"
    return csv_response(table.header, table.rows, f"index-{name}-{suffix}.csv")


@bp.post("/weights")
@roles_required(Role.MANAGER)
def update_weights():
    form = WeightsForm()
    if not form.validate():
        return _render(form, 400)
    try:
        change = services.update_weights(
            current_user,
            float(form.weight_s.data),
            float(form.weight_c.data),
            float(form.weight_r.data),
        )
    except DomainError as error:
        attach_error(form, error)
        return _render(form, 400)
    db.session.commit()
    if change is None:
        flash(_("The weights are unchanged."), "info")
    else:
        flash(
            _(
                "Weights changed. Stored values keep the weights they were computed with; "
                "recompute to apply the new weights."
            ),
            "success",
        )
    return redirect(url_for("index.report", **_selection()) + "#weights")


@bp.post("/recompute")
@roles_required(Role.MANAGER)
def recompute():
    job = services.request_recompute(current_user)
    db.session.commit()
    flash(_("Recomputation #%(id)s queued.", id=job.id), "success")
    return redirect(url_for("index.report", **_selection()) + "#recompute")


@bp.get("/jobs/<int:job_id>")
@roles_required(Role.MANAGER)
def job_status(job_id: int):
    job = services.get_job(job_id)
    if job is None:
        return jsonify(error={"status": 404, "message": _("No such job.")}), 404
    return jsonify(
        id=job.id, status=job.status.value, done=job.done, total=job.total, message=job.message
    )
