from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale, pgettext
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from survey_app.accounts.models import Role
from survey_app.db_types import utcnow
from survey_app.errors import DomainError
from survey_app.exports import csv_response
from survey_app.extensions import db
from survey_app.forms_util import attach_error, date_range_args, page_arg, page_size, parse_id
from survey_app.security import roles_required, safe_next
from survey_app.taxonomy import services as taxonomy_services

from . import presenters, queries, services
from .forms import (
    CHANNEL_CHOICES,
    OUTCOME_CHOICES,
    AttemptForm,
    ChurnSettingsForm,
    ReasonsForm,
)

bp = Blueprint("churn", __name__, url_prefix="/churn")

TIERS = ("key", "general", "minor")


@bp.app_template_global()
def status_label(status: str | None) -> str:
    """The translated name of a churn status ("Active" also names an enabled account, hence the
    message context)."""
    labels = {
        "active": pgettext("churn status", "Active"),
        "at_risk": pgettext("churn status", "At risk"),
        "lost": pgettext("churn status", "Lost"),
        "won_back": pgettext("churn status", "Won back"),
    }
    return labels.get(status or "", "—")


def _register_filters() -> tuple[queries.RegisterFilters, dict[str, str]]:
    """The register's filters from the query string, and what was wrong with them by argument
    (``date_range_args``)."""
    lost_from, lost_to, errors = date_range_args("from", "to")
    reason = request.args.get("reason", "")
    return (
        queries.RegisterFilters(
            open_only=request.args.get("show") != "all",
            tier=request.args.get("tier", "") if request.args.get("tier") in TIERS else "",
            reason_id=parse_id(reason),
            unexplained=reason == "none",
            lost_from=lost_from,
            lost_to=lost_to,
        ),
        errors,
    )


@bp.get("/")
@roles_required(Role.STAFF, Role.MANAGER)
def register():
    filters, errors = _register_filters()
    by_value = request.args.get("sort") == "value"
    page = page_arg()
    rows = queries.register_page(filters, page, page_size(), by_value=by_value)
    total, clv_lost = queries.register_totals(filters)
    return render_template(
        "churn/register.html",
        exit_invitations=services.exit_invitations([record.id for record, _n in rows]),
        rows=rows,
        total=total,
        clv_lost=clv_lost,
        page=page,
        per_page=page_size(),
        filters=filters,
        errors=errors,
        by_value=by_value,
        tiers=TIERS,
        reasons=taxonomy_services.reasons(losses=True, include_inactive=True),
        counts=queries.status_counts(),
        as_of=queries.as_of(),
    )


@bp.get("/losses.csv")
@roles_required(Role.STAFF, Role.MANAGER)
def export_register():
    """The register as filtered and ordered, every entry, as CSV (formula-like text neutralised
    by ``csv_response``)."""
    filters, _errors = _register_filters()
    locale = str(get_locale())
    rows = (
        (
            record.customer.code,
            record.customer.name,
            record.lost_on.isoformat(),
            record.tier or "",
            f"{record.last_value:.2f}",
            f"{record.clv_lost:.2f}",
            "; ".join(reason.label(locale) for reason in record.reasons),
            attempts,
            record.won_back_on.isoformat() if record.won_back_on else "",
        )
        for record, attempts in queries.register_export(
            filters, by_value=request.args.get("sort") == "value"
        )
    )
    header = ["customer_code", "customer", "lost_on", "tier", "revenue_year_before", "clv_lost"]
    header += ["reasons", "contacts", "won_back_on"]
    return csv_response(header, rows, f"lost-customers-{utcnow():%Y%m%d}.csv")


def _loss_forms(record, reasons_form=None, attempt_form=None):
    reasons_form = reasons_form or ReasonsForm(
        formdata=None,
        reasons=[r.id for r in record.reasons],
        learnt_how=record.learnt_how.value if record.learnt_how else "",
        note=record.note,
    )
    choices = taxonomy_services.reasons(losses=True)
    shown = choices + [r for r in record.reasons if r not in choices]
    reasons_form.reasons.choices = [SelectChoice(r.id, r.label(presenters.locale())) for r in shown]
    attempt_form = attempt_form or AttemptForm(formdata=None, attempted_on=date.today())
    return reasons_form, attempt_form


def _render_loss(record, reasons_form=None, attempt_form=None, status=200):
    reasons_form, attempt_form = _loss_forms(record, reasons_form, attempt_form)
    return render_template(
        "churn/loss.html",
        record=record,
        reasons_form=reasons_form,
        attempt_form=attempt_form,
        status=queries.status_of(record.customer_id),
        exit_invitation=services.exit_invitations([record.id]).get(record.id),
        channel_labels=CHANNEL_CHOICES,
        outcome_labels=OUTCOME_CHOICES,
    ), status


@bp.get("/losses/<int:record_id>")
@roles_required(Role.STAFF, Role.MANAGER)
def show_loss(record_id: int):
    return _render_loss(services.get_loss_record(record_id))


@bp.post("/losses/<int:record_id>/reasons")
@roles_required(Role.STAFF)
def record_reasons(record_id: int):
    record = services.get_loss_record(record_id)
    form = ReasonsForm()
    _loss_forms(record, form)
    if form.validate_on_submit():
        try:
            services.record_reasons(
                current_user,
                record,
                reason_ids=form.reasons.data or [],
                learnt_how=form.learnt_how.data or None,
                note=form.note.data or "",
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(_("Reasons saved."), "success")
            return redirect(url_for("churn.show_loss", record_id=record.id))
    return _render_loss(record, reasons_form=form, status=400)


@bp.post("/losses/<int:record_id>/exit-questionnaire")
@roles_required(Role.STAFF)
def send_exit_questionnaire(record_id: int):
    record = services.get_loss_record(record_id)
    try:
        services.send_exit_questionnaire(current_user, record)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("Exit questionnaire ready: copy the link below for the customer."), "success")
    return redirect(url_for("churn.show_loss", record_id=record.id, _anchor="exit"))


@bp.get("/exit-links.csv")
@roles_required(Role.STAFF)
def export_exit_links():
    rows = [
        (
            record.customer.code,
            record.customer.name,
            record.customer.email or "",
            record.customer.phone or "",
            record.lost_on.isoformat(),
            url_for("surveys.answer_invitation", token=invitation.token, _external=True),
            invitation.expires_at.date().isoformat(),
        )
        for record, invitation in services.open_exit_invitations()
    ]
    return csv_response(
        [_("Code"), _("Name"), _("E-mail"), _("Phone"), _("Lost on"), _("Link"), _("Expires")],
        rows,
        "exit-questionnaire-links.csv",
    )


@bp.post("/losses/<int:record_id>/attempts")
@roles_required(Role.STAFF)
def log_attempt(record_id: int):
    record = services.get_loss_record(record_id)
    form = AttemptForm()
    if form.validate_on_submit():
        try:
            services.log_attempt(
                current_user,
                record,
                attempted_on=form.attempted_on.data,
                channel=form.channel.data,
                outcome=form.outcome.data,
                note=form.note.data or "",
                today=date.today(),
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(_("Contact logged."), "success")
            return redirect(url_for("churn.show_loss", record_id=record.id))
    return _render_loss(record, attempt_form=form, status=400)


@bp.get("/analysis")
@roles_required(Role.MANAGER)
def analysis():
    group_by = "segment" if request.args.get("group") == "segment" else "tier"
    result = services.analysis(group_by)
    export = request.args.get("export", "")
    if result is not None and export:
        return presenters.export(result, export)
    return render_template(
        "churn/analysis.html",
        result=result,
        group_by=group_by,
        view=presenters.analysis_view(result) if result else None,
        job=services.latest_job(),
    )


@bp.get("/at-risk")
@roles_required(Role.STAFF, Role.MANAGER)
def at_risk():
    tier = request.args.get("tier", "") if request.args.get("tier") in TIERS else ""
    page = page_arg()
    if request.args.get("export") == "csv":
        rows, _total = queries.risk_page(1, 100_000, tier)
        return presenters.risk_csv(rows)
    rows, total = queries.risk_page(page, page_size(), tier)
    return render_template(
        "churn/at_risk.html",
        rows=rows,
        total=total,
        page=page,
        per_page=page_size(),
        tier=tier,
        tiers=TIERS,
        totals=queries.risk_totals(),
        at_risk_status=queries.status_counts()["at_risk"],
        run=services.latest_model_run(),
        driver_labels=presenters.DRIVER_LABELS,
    )


@bp.route("/settings", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_settings():
    settings = services.churn_settings()
    form = ChurnSettingsForm(obj=settings)
    if form.validate_on_submit():
        try:
            services.update_churn_settings(
                current_user,
                **{name: getattr(form, name).data for name in form.data if name != "csrf_token"},
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(_("Definition saved. Recompute to apply it."), "success")
            return redirect(url_for("churn.edit_settings"))
    return render_template(
        "churn/settings.html", form=form, as_of=queries.as_of(), job=services.latest_job()
    )


@bp.post("/recompute")
@roles_required(Role.MANAGER)
def recompute_now():
    job = services.request_recompute(current_user)
    db.session.commit()
    flash(_("Recomputation #%(id)s queued.", id=job.id), "success")
    return redirect(safe_next(request.form.get("next"), url_for("churn.edit_settings")))


@bp.get("/jobs/<int:job_id>")
@roles_required(Role.MANAGER)
def job_status(job_id: int):
    job = services.get_job(job_id)
    if job is None:
        return jsonify(error={"status": 404, "message": _("No such job.")}), 404
    return jsonify(
        id=job.id, status=job.status.value, done=job.done, total=job.total, message=job.message
    )
