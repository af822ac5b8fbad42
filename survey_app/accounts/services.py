"""Use cases for staff accounts. The caller commits."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

from survey_app.db_types import utcnow
from survey_app.errors import Conflict, DomainError, NotFound, PermissionDenied
from survey_app.extensions import db

from .models import Role, User

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10


def normalise_email(email: str) -> str:
    """Lower-cased, syntax-checked address (no DNS look-up: the service runs offline)."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise DomainError(_l("Enter a valid e-mail address."), field="email") from None


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(
            _l("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH), field="password"
        )
    if len(set(password)) < 4:
        raise DomainError(_l("This password is too easy to guess."), field="password")


def parse_role(value: str | Role) -> Role:
    if isinstance(value, Role):
        return value
    try:
        return Role(value.strip().lower())
    except ValueError:
        choices = ", ".join(role.value for role in Role)
        raise DomainError(_l("Role must be one of: %(c)s.", c=choices), field="role") from None


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_l("No such user."))
    return user


def find_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))


def create_user(email: str, password: str, role: Role | str, name: str = "") -> User:
    """Create a staff account. Raises ``Conflict`` when the address is taken."""
    address = normalise_email(email)
    check_password_strength(password)
    if find_by_email(address) is not None:
        raise Conflict(_l("A user with this e-mail address already exists."), field="email")
    user = User(email=address, name=name.strip(), role=parse_role(role))
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    log.info("user created: %s (%s)", address, user.role.value)
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None. Records the time of the sign-in."""
    user = find_by_email(email)
    if user is None or not user.active or not user.check_password(password):
        return None
    user.last_login_at = utcnow()
    return user


def _active_admin_count() -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(User).where(User.role == Role.ADMIN, User.active)
    )


def update_user(actor: User, user: User, *, name: str, role: Role | str, active: bool) -> User:
    """Change a user's name, role or active flag. The last active admin cannot lose that status,
    and nobody can lock themselves out."""
    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied(_l("Only an administrator can change users."))
    new_role = parse_role(role)
    losing_admin = (
        user.role is Role.ADMIN and user.active and (new_role is not Role.ADMIN or not active)
    )
    if losing_admin and _active_admin_count() <= 1:
        raise DomainError(_l("There must always be at least one active administrator."))
    if user.id == actor.id and (not active or new_role is not Role.ADMIN):
        raise DomainError(_l("You cannot remove your own administrator access."))
    user.name = name.strip()
    user.role = new_role
    if user.active and not active:
        user.sign_out_everywhere()
    user.active = active
    db.session.flush()
    log.info(
        "user %s updated by %s: role=%s active=%s", user.email, actor.email, new_role.value, active
    )
    return user


def change_password(user: User, current_password: str | None, new_password: str) -> None:
    """Set a new password (the current one is required when a user changes their own).
    Every other session of the user is signed out."""
    if current_password is not None and not user.check_password(current_password):
        raise DomainError(_l("The current password is not correct."), field="current_password")
    check_password_strength(new_password)
    user.set_password(new_password)
    db.session.flush()
    log.info("password changed for %s", user.email)


def list_users(page: int, per_page: int):
    return db.paginate(sa.select(User).order_by(User.email), page=page, per_page=per_page)
