"""Use cases for customers: lookups, imports, value settings and value figures. The caller
commits."""

from __future__ import annotations

import json
import re
import secrets
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from survey_app import bulk
from survey_app.accounts.models import Role, User
from survey_app.analytics import value as value_math
from survey_app.db_types import utcnow
from survey_app.errors import DomainError, NotFound, PermissionDenied
from survey_app.extensions import db

from . import importing, queries
from .models import Customer, CustomerValue, ValueSettings

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
UPLOAD_SUFFIXES = (".csv", ".xlsx")
#: uploads not imported or discarded are removed after this long
UPLOAD_LIFETIME_SECONDS = 24 * 3600


def get_customer(customer_id: int) -> Customer:
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(_l("No such customer."))
    return customer


def customer_tier(customer: Customer | int) -> str:
    """ "key", "general" or "minor": the customer's value tier as of the last recompute (a
    customer not valued yet, e.g. just created, is "minor")."""
    customer_id = customer if isinstance(customer, int) else customer.id
    tier = db.session.scalar(
        sa.select(CustomerValue.tier).where(CustomerValue.customer_id == customer_id)
    )
    return tier or "minor"


# --- imports -----------------------------------------------------------------------------------


def _require_importer(actor: User) -> None:
    if not actor.has_role(Role.ADMIN, Role.STAFF):
        raise PermissionDenied(_l("Only staff and administrators can import data."))


def _upload_dir() -> Path:
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _purge_old_uploads(now: float) -> None:
    for path in _upload_dir().iterdir():
        if now - path.stat().st_mtime > UPLOAD_LIFETIME_SECONDS:
            path.unlink(missing_ok=True)


def store_upload(actor: User, kind: str, filename: str, stream) -> str:
    """Keep an uploaded file for the next steps (preview, mapping, dry run, import) and check
    that it reads. Returns the token that names it."""
    _require_importer(actor)
    if kind not in importing.KINDS:
        raise DomainError(_l("Unknown kind of import."), field="kind")
    suffix = Path(filename or "").suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise DomainError(_l("Upload a .csv or .xlsx file."), field="file")
    _purge_old_uploads(time.time())
    token = secrets.token_urlsafe(18)
    path = _upload_dir() / f"{token}{suffix}"
    stream.save(str(path)) if hasattr(stream, "save") else path.write_bytes(stream.read())
    try:
        importing.read_table(path)
    except DomainError:
        path.unlink(missing_ok=True)
        raise
    meta = {"kind": kind, "filename": Path(filename).name[:200], "user_id": actor.id}
    (_upload_dir() / f"{token}.json").write_text(json.dumps(meta))
    return token


def load_upload(actor: User, token: str) -> tuple[dict, importing.Table, Path]:
    """The stored upload named by ``token``; only its uploader (or an admin) may use it."""
    _require_importer(actor)
    meta_path = _upload_dir() / f"{token}.json"
    if not TOKEN_RE.match(token or "") or not meta_path.exists():
        raise NotFound(_l("This upload has expired or does not exist. Upload the file again."))
    meta = json.loads(meta_path.read_text())
    if meta["user_id"] != actor.id and not actor.has_role(Role.ADMIN):
        raise NotFound(_l("This upload has expired or does not exist. Upload the file again."))
    path = next(
        (p for p in (_upload_dir() / f"{token}{s}" for s in UPLOAD_SUFFIXES) if p.exists()), None
    )
    if path is None:
        raise NotFound(_l("This upload has expired or does not exist. Upload the file again."))
    return meta, importing.read_table(path), path


def remember_mapping(token: str, mapping: dict[str, str]) -> None:
    """Keep the column mapping last used with an upload (for the list of problems to download)."""
    meta_path = _upload_dir() / f"{token}.json"
    meta = json.loads(meta_path.read_text())
    meta["mapping"] = mapping
    meta_path.write_text(json.dumps(meta))


def discard_upload(token: str) -> None:
    for path in _upload_dir().glob(f"{token}.*"):
        path.unlink(missing_ok=True)


def check_file(kind: str, table: importing.Table, mapping: dict, progress=None):
    """The dry run: validate every row, write nothing."""
    return importing.validate(kind, table, mapping, progress)


def import_file(
    actor: User | None, kind: str, table: importing.Table, mapping: dict, progress=None
) -> importing.ImportResult:
    """Import every row or none: any bad row raises ``DomainError`` and nothing is written.
    After new or changed transactions or contracts, a churn recompute (statuses, values, the
    analysis) is queued: it runs outside the request (``flask jobs work``)."""
    if actor is not None:
        _require_importer(actor)
    checked = importing.validate(kind, table, mapping, progress)
    if not checked.ok:
        raise DomainError(
            _l(
                "%(n)d rows are not valid: nothing was imported. Run the check to see them.",
                n=len(checked.errors),
            )
        )
    result = importing.apply(kind, checked.records)
    if kind in ("transactions", "contracts") and (result.created or result.updated):
        from survey_app.churn import services as churn_services

        job = churn_services.queue_recompute(actor.id if actor is not None else None)
        result.recompute_job_id = job.id
    return result


# --- value -------------------------------------------------------------------------------------


def value_settings() -> ValueSettings:
    """The settings row, created with the documented defaults on first use."""
    settings = db.session.get(ValueSettings, 1)
    if settings is None:
        settings = ValueSettings(
            id=1,
            discount_rate=0.10,
            horizon_years=5,
            acquisition_cost=Decimal("0"),
            default_retention=0.75,
            key_share=0.80,
            general_share=0.95,
        )
        db.session.add(settings)
        db.session.flush()
    return settings


def update_value_settings(actor: User, **values) -> ValueSettings:
    """Change the CLV and tier settings (admins only); takes effect at the next recompute."""
    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied(_l("Only an administrator can change these settings."))
    if not values["key_share"] < values["general_share"]:
        raise DomainError(
            _l("The general cut-off must be above the key cut-off."), field="general_share"
        )
    settings = value_settings()
    for name, value in values.items():
        setattr(settings, name, value)
    settings.updated_at = utcnow()
    db.session.flush()
    return settings


def recompute_values(
    as_of: date,
    retention_by_segment: dict[str, float],
    purchases: pd.DataFrame | None = None,
    segments: pd.Series | None = None,
) -> int:
    """RFM, CLV and tier of every customer as of ``as_of``; replaces the stored figures.

    The yearly margin m of the last 365 days, the segment's yearly retention r (measured, else
    the default setting) and the settings give CLV; tiers split customers by cumulative share of
    CLV. ``purchases`` and ``segments`` are those of ``queries.purchase_frame`` and
    ``queries.segments`` when the caller has them."""
    settings = value_settings()
    if purchases is None:
        purchases = queries.purchase_frame(as_of)
    if segments is None:
        segments = queries.segments()
    frame = segments.rename("segment").to_frame().join(value_math.rfm(purchases, as_of))
    frame.index.name = "customer_id"
    frame[["frequency", "monetary", "annual_margin"]] = frame[
        ["frequency", "monetary", "annual_margin"]
    ].fillna(0)
    frame["frequency"] = frame["frequency"].astype(int)
    db.session.execute(sa.delete(CustomerValue))
    if frame.empty:
        return 0
    retention = (
        frame["segment"].map(retention_by_segment).fillna(settings.default_retention).clip(0, 1)
    )
    clv = value_math.clv(
        frame["annual_margin"].to_numpy(),
        retention.to_numpy(),
        discount_rate=settings.discount_rate,
        horizon_years=settings.horizon_years,
        acquisition_cost=float(settings.acquisition_cost),
    )
    frame["clv"] = np.round(clv, 2)
    frame["retention"] = retention
    frame["tier"] = value_math.assign_tiers(
        frame["clv"], settings.key_share, settings.general_share
    )
    has_orders = frame["recency_days"].notna()
    scores = pd.DataFrame(index=frame.index[has_orders])
    scores["r"] = value_math.quintile_scores(-frame.loc[has_orders, "recency_days"].to_numpy())
    scores["f"] = value_math.quintile_scores(frame.loc[has_orders, "frequency"].to_numpy())
    scores["m"] = value_math.quintile_scores(frame.loc[has_orders, "monetary"].to_numpy())
    rfm = (scores["r"].astype(str) + scores["f"].astype(str) + scores["m"].astype(str)).reindex(
        frame.index, fill_value=""
    )
    recency = frame["recency_days"]
    stored = bulk.insert_columns(
        CustomerValue.__table__,
        {
            "customer_id": frame.index.astype(int).tolist(),
            "as_of": [as_of] * len(frame),
            "recency_days": [
                None if pd.isna(r) else int(r) for r in recency.astype(object).tolist()
            ],
            "frequency": frame["frequency"].astype(int).tolist(),
            # cents, as the Numeric(14, 2) columns keep them
            "monetary": _cents(frame["monetary"]),
            "annual_margin": _cents(frame["annual_margin"]),
            "retention": frame["retention"].astype(float).tolist(),
            "clv": _cents(frame["clv"]),
            "tier": frame["tier"].tolist(),
            "rfm": rfm.tolist(),
        },
    )
    db.session.flush()
    return stored


def _cents(values: pd.Series) -> list[Decimal]:
    """Money amounts rounded to the cent, as the Numeric(14, 2) columns store them."""
    return [Decimal(f"{v:.2f}") for v in values.astype(float).tolist()]
