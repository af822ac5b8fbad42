from __future__ import annotations

from flask import Blueprint, render_template, request

from survey_app.accounts.models import Role
from survey_app.forms_util import page_arg, page_size
from survey_app.security import roles_required

from . import queries, services
from .models import Customer

bp = Blueprint("customers", __name__, url_prefix="/customers")


@bp.get("/")
@roles_required(Role.STAFF, Role.MANAGER)
def list_customers():
    search = request.args.get("q", "").strip()[:100]
    segment = request.args.get("segment", "").strip()[:60]
    region = request.args.get("region", "").strip()[:60]
    page = page_arg()
    rows, total = queries.customer_page(page, page_size(), search, segment, region)
    return render_template(
        "customers/list.html",
        rows=rows,
        total=total,
        page=page,
        per_page=page_size(),
        search=search,
        segment=segment,
        region=region,
        segments=queries.distinct_values(Customer.segment),
        regions=queries.distinct_values(Customer.region),
    )


@bp.get("/<int:customer_id>")
@roles_required(Role.STAFF, Role.MANAGER)
def show_customer(customer_id: int):
    customer = services.get_customer(customer_id)
    return render_template(
        "customers/detail.html",
        customer=customer,
        summary=queries.customer_summary(customer.id),
        transactions=queries.transactions_page(customer.id, page_arg(), page_size()),
    )
