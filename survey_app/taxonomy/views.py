from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from survey_app.accounts.models import Role
from survey_app.errors import DomainError
from survey_app.extensions import db
from survey_app.forms_util import attach_error
from survey_app.security import roles_required

from . import services
from .forms import ReasonForm

bp = Blueprint("taxonomy", __name__, url_prefix="/admin/reasons")


@bp.get("/")
@roles_required(Role.ADMIN)
def list_reasons():
    return render_template("taxonomy/list.html", reasons=services.reasons(include_inactive=True))


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def create_reason():
    form = ReasonForm()
    del form.active, form.position
    if form.validate_on_submit():
        try:
            reason = services.create_reason(
                current_user,
                code=form.code.data,
                name_zh=form.name_zh.data or "",
                name_en=form.name_en.data or "",
                for_complaints=form.for_complaints.data,
                for_losses=form.for_losses.data,
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            db.session.commit()
            flash(_("Reason %(code)s added.", code=reason.code), "success")
            return redirect(url_for("taxonomy.list_reasons"))
    return render_template("taxonomy/form.html", form=form, reason=None)


@bp.route("/<int:reason_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_reason(reason_id: int):
    reason = services.get_reason(reason_id)
    form = ReasonForm(obj=reason)
    del form.code
    if form.validate_on_submit():
        try:
            services.update_reason(
                current_user,
                reason,
                name_zh=form.name_zh.data or "",
                name_en=form.name_en.data or "",
                for_complaints=form.for_complaints.data,
                for_losses=form.for_losses.data,
                active=form.active.data,
                position=form.position.data if form.position.data is not None else reason.position,
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(_("Reason %(code)s saved.", code=reason.code), "success")
            return redirect(url_for("taxonomy.list_reasons"))
    return render_template("taxonomy/form.html", form=form, reason=reason)
