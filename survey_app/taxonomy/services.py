"""Use cases for the shared reason list. The caller commits."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from survey_app.accounts.models import Role, User
from survey_app.errors import Conflict, DomainError, NotFound, PermissionDenied
from survey_app.extensions import db

from .models import Reason

CODE_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


def reasons(*, complaints: bool = False, losses: bool = False, include_inactive: bool = False):
    """Reasons in display order, optionally only those offered for complaints or for losses."""
    query = sa.select(Reason).order_by(Reason.position, Reason.id)
    if complaints:
        query = query.where(Reason.for_complaints)
    if losses:
        query = query.where(Reason.for_losses)
    if not include_inactive:
        query = query.where(Reason.active)
    return list(db.session.scalars(query))


def get_reason(reason_id: int) -> Reason:
    reason = db.session.get(Reason, reason_id)
    if reason is None:
        raise NotFound(_l("No such reason."))
    return reason


def by_code(code: str) -> Reason | None:
    return db.session.scalar(sa.select(Reason).where(Reason.code == code))


def _require_admin(actor: User) -> None:
    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied(_l("Only an administrator can change the reason list."))


def _validate(name_zh: str, name_en: str, for_complaints: bool, for_losses: bool) -> None:
    if not (name_zh.strip() or name_en.strip()):
        raise DomainError(_l("Give the reason a name in at least one language."), field="name_zh")
    if not (for_complaints or for_losses):
        raise DomainError(
            _l("Offer the reason for complaints, for lost customers, or both."),
            field="for_complaints",
        )


def create_reason(
    actor: User, *, code: str, name_zh: str, name_en: str, for_complaints: bool, for_losses: bool
) -> Reason:
    _require_admin(actor)
    code = code.strip().lower()
    if not CODE_RE.match(code):
        raise DomainError(
            _l("Use 2-40 lower-case letters, digits or underscores, starting with a letter."),
            field="code",
        )
    _validate(name_zh, name_en, for_complaints, for_losses)
    if by_code(code) is not None:
        raise Conflict(_l("A reason with this code already exists."), field="code")
    position = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(Reason.position), 0))) + 1
    reason = Reason(
        code=code,
        name_zh=name_zh.strip(),
        name_en=name_en.strip(),
        for_complaints=for_complaints,
        for_losses=for_losses,
        position=position,
    )
    db.session.add(reason)
    db.session.flush()
    return reason


def update_reason(
    actor: User,
    reason: Reason,
    *,
    name_zh: str,
    name_en: str,
    for_complaints: bool,
    for_losses: bool,
    active: bool,
    position: int,
) -> Reason:
    """Rename, re-scope, reorder or (de)activate a reason; its code never changes."""
    _require_admin(actor)
    _validate(name_zh, name_en, for_complaints, for_losses)
    reason.name_zh = name_zh.strip()
    reason.name_en = name_en.strip()
    reason.for_complaints = for_complaints
    reason.for_losses = for_losses
    reason.active = active
    reason.position = position
    db.session.flush()
    return reason


def ensure_default_reasons() -> int:
    """Add any default reason whose code is missing (the migration adds them to a new database;
    this restores them after a wipe). Returns how many were added."""
    from .models import DEFAULT_REASONS

    existing = set(db.session.scalars(sa.select(Reason.code)))
    added = 0
    for position, (code, zh, en, complaints, losses) in enumerate(DEFAULT_REASONS, start=1):
        if code not in existing:
            db.session.add(
                Reason(
                    code=code,
                    name_zh=zh,
                    name_en=en,
                    for_complaints=complaints,
                    for_losses=losses,
                    position=position,
                )
            )
            added += 1
    db.session.flush()
    return added
