"""Use cases for staff accounts. The caller commits."""

from __future__ import annotations

import hashlib
import logging
import secrets

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

from survey_app.db_types import utcnow
from survey_app.errors import Conflict, DomainError, NotFound, PermissionDenied
from survey_app.extensions import db

from .models import ApiKey, Role, User

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


def active_users() -> list[User]:
    return list(db.session.scalars(sa.select(User).where(User.active).order_by(User.email)))


def list_users(page: int, per_page: int):
    return db.paginate(sa.select(User).order_by(User.email), page=page, per_page=per_page)


# --- API keys ----------------------------------------------------------------------------------

#: how stale ``last_used_at`` may get before a request writes it again
API_KEY_TOUCH_SECONDS = 60


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def create_api_key(actor: User, user: User, name: str) -> tuple[ApiKey, str]:
    """Issue a key for ``user``. Returns the stored row and the key itself, which is shown once
    and never again: only its digest is kept."""
    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied(_l("Only an administrator can manage API keys."))
    name = name.strip()
    if not name:
        raise DomainError(
            _l("Give the key a name, e.g. the system that will use it."), field="name"
        )
    if not user.active:
        raise DomainError(_l("This user is deactivated; activate the account first."))
    key = "sk_" + secrets.token_urlsafe(32)
    api_key = ApiKey(
        user_id=user.id,
        name=name[:120],
        prefix=key[:10],
        key_hash=_digest(key),
        created_by_id=actor.id,
    )
    db.session.add(api_key)
    db.session.flush()
    log.info("API key %s (%s) issued for %s by %s", api_key.id, name, user.email, actor.email)
    return api_key, key


def get_api_key(key_id: int) -> ApiKey:
    api_key = db.session.get(ApiKey, key_id)
    if api_key is None:
        raise NotFound(_l("No such API key."))
    return api_key


def revoke_api_key(actor: User, api_key: ApiKey) -> ApiKey:
    """Stop a key from working, at once and for good (revoking twice changes nothing)."""
    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied(_l("Only an administrator can manage API keys."))
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
        db.session.flush()
        log.info("API key %s revoked by %s", api_key.id, actor.email)
    return api_key


def list_api_keys(page: int, per_page: int):
    query = sa.select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.id.desc())
    return db.paginate(query, page=page, per_page=per_page)


def authenticate_api_key(key: str) -> User | None:
    """The active user a valid, unrevoked key belongs to, or None. Records the time of use
    (at most once a minute per key; the caller commits)."""
    if not key or len(key) > 200:
        return None
    api_key = db.session.scalar(sa.select(ApiKey).where(ApiKey.key_hash == _digest(key)))
    if api_key is None or api_key.revoked_at is not None or not api_key.user.active:
        return None
    now = utcnow()
    if (
        api_key.last_used_at is None
        or (now - api_key.last_used_at).total_seconds() > API_KEY_TOUCH_SECONDS
    ):
        db.session.execute(
            sa.update(ApiKey).where(ApiKey.id == api_key.id).values(last_used_at=now)
        )
    return api_key.user
