"""Use cases for customers. The caller commits."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from survey_app.errors import NotFound
from survey_app.extensions import db

from .models import Customer


def get_customer(customer_id: int) -> Customer:
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(_l("No such customer."))
    return customer
