"""/api/v1: thin views over the domain services. Each parses with its schema, calls one service,
commits and answers JSON; errors take the one shape of ``schemas.ErrorSchema``."""

from __future__ import annotations

import time
from collections.abc import Callable

import marshmallow as ma
import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from sqlalchemy.exc import IntegrityError, OperationalError

from survey_app.accounts.models import Role
from survey_app.bulk import autocommit_one_write
from survey_app.complaints import queries as complaint_queries
from survey_app.complaints import services as complaint_services
from survey_app.complaints.models import Channel, Complaint
from survey_app.complaints.services import Actor
from survey_app.customers.models import Customer
from survey_app.db_types import utcnow
from survey_app.errors import DomainError, NotFound
from survey_app.extensions import csrf, db, rate_limit
from survey_app.index import queries as index_queries
from survey_app.taxonomy.models import Reason
from survey_app.taxonomy.services import by_code

from . import schemas
from . import services as api_services
from .auth import api_user, key_required, load_api_user

bp = Blueprint(
    "api",
    __name__,
    url_prefix="/api/v1",
    description="Integration API: complaints, survey responses, customers and transactions.",
)
csrf.exempt(bp)
bp.before_request(load_api_user)

STAFF_WORK = (Role.STAFF, Role.MANAGER)
IMPORTERS = (Role.STAFF,)  # and admins, who hold every right
#: documented on every operation: the shape all errors share
ERRORS = (400, 401, 403, 404, 409, 422, 429)


def _public_limit() -> str:
    return current_app.config["PUBLIC_POST_RATE_LIMIT"]


def _keyed() -> bool:
    """Calls with a valid key are the company's own systems: not limited per address."""
    return api_user() is not None


public_post_limit = rate_limit(_public_limit, methods=["POST"], exempt_when=_keyed)


def _errors(view):
    for status in ERRORS:
        view = bp.alt_response(status, schema=schemas.ErrorSchema, description="error")(view)
    return view


def _retrying(work: Callable, attempts: int = 4):
    """Run ``work`` and commit; when a concurrent writer wins a unique key (or SQLite's write
    lock), roll back and run it again, so the batch ends up applied exactly once."""
    for attempt in range(attempts):
        try:
            result = work()
            db.session.commit()
            return result
        except (IntegrityError, OperationalError):
            db.session.rollback()
            if attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


# --- complaints ---


def _complaint_item(complaint: Complaint, categories: dict, customers: dict) -> dict:
    return {
        "id": complaint.id,
        "code": complaint.code,
        "state": complaint.state,
        "severity": complaint.severity,
        "channel": complaint.channel,
        "category": categories.get(complaint.category_id, ""),
        "tier": complaint.tier,
        "contact_name": complaint.contact_name,
        "contact_email": complaint.contact_email,
        "contact_phone": complaint.contact_phone,
        "description": complaint.description,
        "order_ref": complaint.order_ref,
        "customer_code": customers.get(complaint.customer_id),
        "assignee_email": complaint.assignee.email if complaint.assignee else None,
        "received_at": complaint.created_at,
        "due_at": complaint.due_at,
        "updated_at": complaint.updated_at,
        "version": complaint.version,
    }


@bp.post("/complaints")
@public_post_limit
@bp.arguments(schemas.ComplaintCreate())
@bp.response(201, schemas.ComplaintCreated)
@_errors
def create_complaint(data):
    """File a complaint.

    Without a key the caller is the customer: the channel is `web` and severity, channel and
    customer are set by the service. A staff key may set them (a phone call, an e-mail)."""
    user = api_user()
    extra = {}
    if user is not None and user.has_role(*STAFF_WORK):
        actor = Actor.of(user)
        if data["channel"] is not None:
            extra["channel"] = data["channel"]
        if data["severity"] is not None:
            extra["severity"] = data["severity"]
        if data["customer_code"]:
            extra["customer_id"] = api_services.customer_id_by_code(data["customer_code"])
    else:
        actor = Actor.customer()
    autocommit_one_write()  # open_complaint writes one statement
    try:
        complaint = complaint_services.open_complaint(
            actor,
            channel=extra.pop("channel", Channel.WEB),
            category_code=data["category"],
            contact_name=data["contact_name"],
            contact_email=data["contact_email"],
            contact_phone=data["contact_phone"],
            description=data["description"],
            occurred_on=data["occurred_on"],
            order_ref=data["order_ref"],
            desired_outcome=data["desired_outcome"],
            **extra,
        )
    except DomainError as error:
        if error.field == "category_id":  # the API names the category by its code
            error.field = "category"
        raise
    created = {
        "code": complaint.code,
        "state": complaint.state,
        "tracking_url": url_for("complaints.track", token=complaint.token, _external=True),
    }
    db.session.commit()
    return created


@bp.get("/complaints/<string:code>/status")
@bp.response(200, schemas.ComplaintStatus)
@_errors
def complaint_status(code: str):
    """The stage of a complaint, by its reference code.

    Anyone with the code may call this, so it tells only the stage and its dates: no names,
    contact details, descriptions or messages (those stay behind the private tracking link)."""
    complaint = complaint_queries.complaints_by_code(code[:16]) if len(code) <= 16 else None
    if complaint is None:
        raise NotFound(_l("No complaint has this reference."))
    return {
        "code": complaint.code,
        "state": complaint.state,
        "received_at": complaint.created_at,
        "acknowledged_at": complaint.acknowledged_at,
        "resolved_at": complaint.resolved_at,
        "closed_at": complaint.closed_at,
        "updated_at": complaint.updated_at,
    }


@bp.get("/complaints")
@key_required(*STAFF_WORK)
@bp.arguments(schemas.ComplaintFilter(), location="query", unknown=ma.RAISE)
@bp.response(200, schemas.ComplaintPage)
@_errors
def list_complaints(args):
    """Complaints newest first, filtered, one keyset page at a time (`after` = `next_cursor`)."""
    category_id = customer_id = None
    if args.get("category"):
        category = by_code(args["category"])
        category_id = category.id if category else -1
    if args.get("customer_code"):
        customer_id = (
            db.session.scalar(sa.select(Customer.id).where(Customer.code == args["customer_code"]))
            or -1
        )
    filters = complaint_queries.Filters(
        q=args.get("q", "").strip(),
        state=args.get("state"),
        category_id=category_id,
        severity=args.get("severity"),
        channel=args.get("channel"),
        customer_id=customer_id,
        date_from=args.get("received_from"),
        date_to=args.get("received_to"),
        overdue=args.get("overdue", False),
        open_only=args.get("open", False),
    )
    rows, cursor = complaint_queries.complaint_page(
        filters, utcnow(), before_id=args.get("after"), per_page=args["limit"]
    )
    categories = dict(
        db.session.execute(
            sa.select(Reason.id, Reason.code).where(
                Reason.id.in_({r.category_id for r in rows} or {0})
            )
        ).all()
    )
    customer_ids = sorted({r.customer_id for r in rows if r.customer_id})
    customers = dict(
        db.session.execute(
            sa.select(Customer.id, Customer.code).where(Customer.id.in_(customer_ids or [0]))
        ).all()
    )
    return {
        "items": [_complaint_item(r, categories, customers) for r in rows],
        "next_cursor": cursor,
    }


# --- surveys ---


@bp.post("/survey-responses")
@public_post_limit
@bp.arguments(schemas.SurveyResponseCreate())
@bp.response(201, schemas.SurveyResponseCreated)
@_errors
def submit_survey_response(data):
    """Submit a whole survey response for a personal invitation. An invitation answers once:
    a second submission (also a concurrent one) gets 409."""
    autocommit_one_write()  # a whole response is one statement (submit_whole)
    response = api_services.submit_survey_response(
        data["invitation_token"], data["answers"], data["language"]
    )
    created = {"response_id": response.id, "submitted_at": response.submitted_at}
    db.session.commit()
    return created


# --- customers and transactions ---


@bp.post("/customers/import")
@key_required(*IMPORTERS)
@bp.arguments(schemas.CustomerBatch())
@bp.response(200, schemas.ImportResult)
@_errors
def import_customers(data):
    """Create or update customers, matched on `code`. Sending a batch again changes nothing."""
    user = api_user()
    result = _retrying(lambda: api_services.import_records(user, "customers", data["customers"]))
    return vars(result)


@bp.post("/transactions/import")
@key_required(*IMPORTERS)
@bp.arguments(schemas.TransactionBatch())
@bp.response(200, schemas.ImportResult)
@_errors
def import_transactions(data):
    """Create or update transactions, matched on `external_id`; their customers must exist.
    When any changed, a recompute of churn statuses and customer values is queued (it runs in
    the background; `recompute_job_id` names it) and the batch answers at once."""
    user = api_user()
    result = _retrying(
        lambda: api_services.import_records(user, "transactions", data["transactions"])
    )
    return vars(result)


def _customer_item(customer: Customer, tier: str) -> dict:
    return {
        "code": customer.code,
        "name": customer.name,
        "email": customer.email,
        "phone": customer.phone,
        "segment": customer.segment,
        "region": customer.region,
        "first_seen_on": customer.first_seen_on,
        "tier": tier,
        "created_at": customer.created_at,
    }


@bp.get("/customers")
@key_required(*STAFF_WORK)
@bp.arguments(schemas.CustomerFilter(), location="query", unknown=ma.RAISE)
@bp.response(200, schemas.CustomerPage)
@_errors
def list_customers(args):
    """Customers ordered by code, one keyset page at a time (`after` = `next_cursor`)."""
    rows, cursor = api_services.customer_page(
        segment=args.get("segment"),
        region=args.get("region"),
        after=args.get("after"),
        limit=args["limit"],
    )
    return {"items": [_customer_item(c, tier) for c, tier in rows], "next_cursor": cursor}


@bp.get("/customers/<string:code>")
@key_required(*STAFF_WORK)
@bp.response(200, schemas.CustomerItem)
@_errors
def show_customer(code: str):
    """One customer by code."""
    return _customer_item(*api_services.customer_by_code(code))


@bp.get("/index-values")
@key_required(Role.MANAGER)
@bp.arguments(schemas.IndexFilter(), location="query", unknown=ma.RAISE)
@bp.response(200, schemas.IndexValuePage)
@_errors
def list_index_values(args):
    """Stored composite index values and their components (S, C, R) for one group of customers,
    by period, with the weights and inputs each was computed with (managers' keys)."""
    rows = index_queries.values(
        args["granularity"], args["group_kind"], args["group_value"], args.get("period")
    )
    return {
        "items": [
            {
                "period": v.period,
                "granularity": v.granularity,
                "period_start": v.period_start,
                "period_end": v.period_end,
                "group_kind": v.group_kind,
                "group_value": v.group_value,
                "composite": v.composite,
                "composite_low": v.composite_low,
                "composite_high": v.composite_high,
                "satisfaction": v.satisfaction,
                "satisfaction_low": v.s_low,
                "satisfaction_high": v.s_high,
                "satisfaction_method": v.s_method,
                "complaint_handling": v.complaint_handling,
                "retention": v.retention,
                "weights": {"S": v.weight_s, "C": v.weight_c, "R": v.weight_r},
                "responses": v.responses,
                "complaints": v.complaints,
                "customers": v.customers,
                "computed_at": v.computed_at,
            }
            for v in rows
        ]
    }
