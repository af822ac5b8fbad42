from __future__ import annotations

import enum
import secrets
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from survey_app.db_types import UTCDateTime, utcnow
from survey_app.extensions import db


class Role(enum.Enum):
    #: users, settings, questionnaires; holds every other right too
    ADMIN = "admin"
    #: reports, everything read-only, index settings
    MANAGER = "manager"
    #: complaint work, lost-customer follow-up
    STAFF = "staff"


def _new_session_token() -> str:
    return secrets.token_urlsafe(24)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stored lower-case; the unique index is the source of truth for "already taken"
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(
        sa.Enum(Role, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    active: Mapped[bool] = mapped_column(default=True)
    #: what the login cookie carries instead of the id: rotating it signs the user out everywhere
    session_token: Mapped[str] = mapped_column(
        sa.String(64), unique=True, default=_new_session_token
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def set_password(self, password: str) -> None:
        # Werkzeug's default is scrypt, a memory-hard KDF with a per-password salt.
        self.password_hash = generate_password_hash(password)
        self.sign_out_everywhere()

    def sign_out_everywhere(self) -> None:
        """Invalidate every login cookie issued for this user."""
        self.session_token = _new_session_token()

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        return self.session_token

    def has_role(self, *roles: Role | str) -> bool:
        wanted = {getattr(role, "value", role) for role in roles}
        return self.role is Role.ADMIN or self.role.value in wanted

    @property
    def display_name(self) -> str:
        return self.name or self.email

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role.value}>"


class ApiKey(db.Model):
    """A key another system sends as ``Authorization: Bearer <key>``; it acts as its user, with
    that user's current role. Only a SHA-256 digest is stored: keys are 256 random bits, so a
    fast digest is as safe as a slow KDF and keeps every API request cheap."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: what the admin calls it ("ERP nightly import")
    name: Mapped[str] = mapped_column(sa.String(120))
    #: the first characters of the key, shown in lists so a key can be recognised
    prefix: Mapped[str] = mapped_column(sa.String(12))
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: updated at most once a minute, so that busy integrations do not write on every call
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user = relationship(User, foreign_keys=[user_id], lazy="joined")

    @property
    def active(self) -> bool:
        return self.revoked_at is None
