from __future__ import annotations

import numpy as np
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from survey_app.accounts.models import Role
from survey_app.analytics.value import pareto_curve
from survey_app.charts import figure_json
from survey_app.charts.value import pareto_figure
from survey_app.errors import DomainError
from survey_app.exports import csv_response
from survey_app.extensions import db
from survey_app.forms_util import attach_error, page_arg, page_size
from survey_app.security import roles_required

from . import importing, queries, services
from .forms import UploadForm, ValueSettingsForm, mapping_form, mapping_from
from .models import Customer

bp = Blueprint("customers", __name__, url_prefix="/customers")

TIERS = ("key", "general", "minor")
STATUSES = ("active", "at_risk", "lost", "won_back")
#: bad rows listed on the page; all of them are in the CSV download
SHOWN_ERRORS = 200
TIER_LABELS = {"key": _l("Key"), "general": _l("General"), "minor": _l("Minor")}


@bp.app_template_global()
def tier_label(tier: str | None) -> str:
    """The translated name of a value tier."""
    return str(TIER_LABELS.get(tier or "", "—"))


@bp.get("/")
@roles_required(Role.STAFF, Role.MANAGER)
def list_customers():
    filters = {
        name: request.args.get(name, "").strip()[:60] for name in ("segment", "region", "tier")
    }
    filters["status"] = request.args.get("status", "").strip()[:20]
    if filters["tier"] not in TIERS:
        filters["tier"] = ""
    if filters["status"] not in STATUSES:
        filters["status"] = ""
    search = request.args.get("q", "").strip()[:100]
    page = page_arg()
    rows, total = queries.customer_page(page, page_size(), search, **filters)
    return render_template(
        "customers/list.html",
        rows=rows,
        total=total,
        page=page,
        per_page=page_size(),
        search=search,
        **filters,
        tiers=TIERS,
        statuses=STATUSES,
        segments=queries.distinct_values(Customer.segment),
        regions=queries.distinct_values(Customer.region),
    )


@bp.get("/<int:customer_id>")
@roles_required(Role.STAFF, Role.MANAGER)
def show_customer(customer_id: int):
    from survey_app.churn import queries as churn_queries
    from survey_app.complaints import queries as complaint_queries
    from survey_app.surveys import queries as survey_queries

    customer = services.get_customer(customer_id)
    return render_template(
        "customers/detail.html",
        customer=customer,
        summary=queries.customer_summary(customer.id),
        value=queries.customer_value(customer.id),
        status=churn_queries.status_of(customer.id),
        losses=churn_queries.losses_of(customer.id),
        contracts=queries.contracts_of(customer.id),
        responses=survey_queries.responses_of(customer.id),
        complaints=complaint_queries.complaints_of(customer.id),
        transactions=queries.transactions_page(customer.id, page_arg(), page_size()),
    )


@bp.get("/value")
@roles_required(Role.STAFF, Role.MANAGER)
def value_overview():
    settings = services.value_settings()
    tiers = queries.tier_summary()
    if request.args.get("export") == "csv":
        return csv_response(
            [_("Tier"), _("Customers"), _("Share of customers"), _("CLV"), _("Share of CLV")],
            [
                [
                    t["tier"],
                    t["customers"],
                    round(t["customer_share"], 4),
                    t["clv"],
                    round(t["clv_share"], 4),
                ]
                for t in tiers
            ],
            "customer-tiers.csv",
        )
    curve = pareto_curve(queries.clv_values())
    if len(curve) > 1001:  # a thousand points draw the same curve as a hundred thousand
        curve = curve.iloc[np.unique(np.linspace(0, len(curve) - 1, 1001).round().astype(int))]
    fig = pareto_figure(
        curve,
        settings.key_share,
        settings.general_share,
        {
            "curve": _("Cumulative share of value"),
            "key": _("key cut-off"),
            "general": _("general cut-off"),
            "x": _("Customers, most valuable first"),
            "y": _("Share of total CLV"),
        },
    )
    return render_template(
        "customers/value.html",
        settings=settings,
        tiers=tiers,
        as_of=queries.values_as_of(),
        fig_json=figure_json(fig) if len(curve) > 1 else None,
    )


@bp.route("/value/settings", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_value_settings():
    settings = services.value_settings()
    form = ValueSettingsForm(obj=settings)
    if form.validate_on_submit():
        try:
            services.update_value_settings(
                current_user,
                **{name: getattr(form, name).data for name in form.data if name != "csrf_token"},
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(_("Settings saved. They apply from the next recompute."), "success")
            return redirect(url_for("customers.value_overview"))
    return render_template("customers/value_settings.html", form=form)


@bp.route("/import", methods=["GET", "POST"])
@roles_required(Role.STAFF)
def import_upload():
    form = UploadForm()
    if form.validate_on_submit():
        try:
            token = services.store_upload(
                current_user, form.kind.data, form.file.data.filename, form.file.data
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            return redirect(url_for("customers.import_review", token=token))
    return render_template("customers/import_upload.html", form=form, columns=importing.COLUMNS)


@bp.route("/import/<token>", methods=["GET", "POST"])
@roles_required(Role.STAFF)
def import_review(token: str):
    meta, table, _path = services.load_upload(current_user, token)
    kind = meta["kind"]
    guessed = importing.guess_mapping(kind, table.headers)
    form = mapping_form(
        kind, table.headers, None if request.method == "GET" else request.form, guessed
    )
    checked, error_message = None, None
    if form.validate_on_submit():
        mapping = mapping_from(form, kind)
        services.remember_mapping(token, mapping)
        try:
            if request.form.get("action") == "import":
                result = services.import_file(current_user, kind, table, mapping)
                db.session.commit()
                services.discard_upload(token)
                flash(
                    _(
                        "Imported: %(created)d new, %(updated)d updated, %(unchanged)d unchanged.",
                        created=result.created,
                        updated=result.updated,
                        unchanged=result.unchanged,
                    ),
                    "success",
                )
                if result.recompute_job_id is not None:
                    flash(
                        _(
                            "Churn statuses, values and the analysis will be recomputed in the "
                            "background (recomputation #%(id)s).",
                            id=result.recompute_job_id,
                        ),
                        "info",
                    )
                return redirect(url_for("customers.list_customers"))
            checked = services.check_file(kind, table, mapping)
        except DomainError as error:
            db.session.rollback()
            error_message = error.message
            if error.field != "mapping":
                checked = services.check_file(kind, table, mapping)
    return render_template(
        "customers/import_review.html",
        form=form,
        meta=meta,
        token=token,
        headers=table.headers,
        preview=table.rows[:10],
        row_count=len(table.rows),
        checked=checked,
        error_message=error_message,
        shown_errors=SHOWN_ERRORS,
    )


@bp.get("/import/<token>/problems.csv")
@roles_required(Role.STAFF)
def import_problems(token: str):
    meta, table, _path = services.load_upload(current_user, token)
    mapping = meta.get("mapping") or importing.guess_mapping(meta["kind"], table.headers)
    checked = services.check_file(meta["kind"], table, mapping)
    return csv_response(
        [_("Line"), _("Problem")],
        [[error.line, error.message] for error in checked.errors],
        "import-problems.csv",
    )


@bp.post("/import/<token>/discard")
@roles_required(Role.STAFF)
def import_discard(token: str):
    services.load_upload(current_user, token)
    services.discard_upload(token)
    flash(_("The upload was discarded."), "success")
    return redirect(url_for("customers.import_upload"))
