from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm

from survey_app.errors import DomainError
from survey_app.extensions import db, rate_limit
from survey_app.forms_util import attach_error, page_arg, page_size
from survey_app.security import roles_required, safe_next

from . import services
from .forms import ApiKeyForm, LoginForm, PasswordChangeForm, UserCreateForm, UserEditForm
from .models import Role

bp = Blueprint("accounts", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@rate_limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is not None:
            db.session.commit()
            login_user(user, remember=form.remember.data)
            flash(_("Welcome, %(name)s.", name=user.display_name), "success")
            return redirect(safe_next(request.args.get("next"), url_for("core.home")))
        form.form_errors.append(_("E-mail or password is not correct."))
    return render_template("accounts/login.html", form=form)


@bp.post("/logout")
def logout():
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("core.home"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            services.change_password(
                current_user, form.current_password.data, form.new_password.data
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            db.session.commit()
            login_user(current_user, remember=False)  # the cookie follows the rotated token
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("core.home"))
    return render_template("accounts/password.html", form=form)


@bp.get("/admin/users")
@roles_required(Role.ADMIN)
def list_users():
    pagination = services.list_users(page_arg(), page_size())
    return render_template("accounts/users.html", pagination=pagination)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def create_user():
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user = services.create_user(
                form.email.data, form.password.data, form.role.data, form.name.data or ""
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            db.session.commit()
            flash(_("User %(email)s created.", email=user.email), "success")
            return redirect(url_for("accounts.list_users"))
    return render_template("accounts/user_form.html", form=form, user=None)


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_user(user_id: int):
    user = services.get_user(user_id)
    form = UserEditForm(obj=user, role=user.role.value)
    if form.validate_on_submit():
        try:
            services.update_user(
                current_user,
                user,
                name=form.name.data or "",
                role=form.role.data,
                active=form.active.data,
            )
            if form.new_password.data:
                services.change_password(user, None, form.new_password.data)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(_("User %(email)s saved.", email=user.email), "success")
            return redirect(url_for("accounts.list_users"))
    return render_template("accounts/user_form.html", form=form, user=user)


# --- API keys (admin) ---


def _key_form() -> ApiKeyForm:
    form = ApiKeyForm()
    form.user_id.choices = [
        (user.id, f"{user.display_name} ({user.email}, {user.role.value})")
        for user in services.active_users()
    ]
    return form


@bp.get("/admin/api-keys")
@roles_required(Role.ADMIN)
def list_api_keys():
    pagination = services.list_api_keys(page_arg(), page_size())
    return render_template("accounts/api_keys.html", pagination=pagination)


@bp.route("/admin/api-keys/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def create_api_key():
    form = _key_form()
    if form.validate_on_submit():
        try:
            api_key, key = services.create_api_key(
                current_user, services.get_user(form.user_id.data), form.name.data
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            db.session.commit()
            # The key is shown on this one page and never again: no redirect, no caching.
            response = make_response(
                render_template("accounts/api_key_created.html", api_key=api_key, key=key)
            )
            response.headers["Cache-Control"] = "no-store"
            return response
    return render_template("accounts/api_key_form.html", form=form)


@bp.post("/admin/api-keys/<int:key_id>/revoke")
@roles_required(Role.ADMIN)
def revoke_api_key(key_id: int):
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    api_key = services.revoke_api_key(current_user, services.get_api_key(key_id))
    db.session.commit()
    flash(_("API key “%(name)s” revoked.", name=api_key.name), "success")
    return redirect(url_for("accounts.list_api_keys"))
