from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from .models import Role
from .services import MIN_PASSWORD_LENGTH


def role_choices():
    labels = {Role.ADMIN: _l("Administrator"), Role.MANAGER: _l("Manager"), Role.STAFF: _l("Staff")}
    return [(role.value, labels[role]) for role in Role]


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me signed in on this device"))


class UserCreateForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[Length(max=120)])
    role = SelectField(_l("Role"), choices=role_choices, default=Role.STAFF.value)
    password = PasswordField(
        _l("Initial password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
    )


class UserEditForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=120)])
    role = SelectField(_l("Role"), choices=role_choices)
    active = BooleanField(_l("Active (may sign in)"))
    new_password = PasswordField(
        _l("New password (leave empty to keep the current one)"), validators=[Length(max=200)]
    )


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)]
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The passwords differ."))],
    )


class ApiKeyForm(FlaskForm):
    user_id = SelectField(_l("Acts as user"), coerce=int, validate_choice=True)
    name = StringField(
        _l("Name"),
        validators=[DataRequired(), Length(max=120)],
        description=_l("Which system uses it, e.g. “ERP nightly import”."),
    )
