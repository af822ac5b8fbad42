"""Request and response schemas. They validate every request body and query and are the source
of ``/api/v1/openapi.json``: what is documented is what is enforced."""

from __future__ import annotations

import re

import marshmallow as ma
from marshmallow import fields, validate

from survey_app.complaints.models import Channel, Severity, State

from .error_schema import ApiErrorSchema as ErrorSchema  # noqa: F401  (the views document it)

#: C0 control characters other than tab, line feed and carriage return, DEL, and lone UTF-16
#: surrogates: no database stores them faithfully (PostgreSQL refuses NUL) and no person types them
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


class Text(fields.String):
    """A string without control characters, stripped, at most ``max_length`` characters."""

    def __init__(self, max_length: int, *, required: bool = False, single_line=True, **kwargs):
        kwargs.setdefault("validate", validate.Length(max=max_length))
        if not required:
            kwargs.setdefault("load_default", "")
        self.single_line = single_line
        super().__init__(required=required, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if _FORBIDDEN.search(text) or (self.single_line and ("\n" in text or "\r" in text)):
            raise ma.ValidationError("Contains characters that are not allowed.")
        return text.strip()


class StrictSchema(ma.Schema):
    """Unknown fields are refused, and so are unstorable characters in any string field."""

    class Meta:
        unknown = ma.RAISE

    @ma.pre_load
    def refuse_unstorable(self, data, **kwargs):
        if isinstance(data, dict):
            bad = {
                key: ["Contains characters that are not allowed."]
                for key, value in data.items()
                if isinstance(value, str) and _FORBIDDEN.search(value)
            }
            if bad:
                raise ma.ValidationError(bad)
        return data


# --- complaints ---


class ComplaintCreate(StrictSchema):
    category = fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "a complaint category code, e.g. `delivery`"},
    )
    contact_name = Text(120, required=True, validate=validate.Length(min=1, max=120))
    contact_email = fields.Email(load_default="", validate=validate.Length(max=254))
    contact_phone = Text(40)
    description = Text(
        5000, required=True, single_line=False, validate=validate.Length(min=1, max=5000)
    )
    occurred_on = fields.Date(load_default=None, allow_none=True)
    order_ref = Text(80)
    desired_outcome = Text(2000, single_line=False)
    channel = fields.Enum(
        Channel,
        by_value=True,
        load_default=None,
        metadata={"description": "staff keys only; a call without a key is always `web`"},
    )
    severity = fields.Enum(
        Severity, by_value=True, load_default=None, metadata={"description": "staff keys only"}
    )
    customer_code = Text(64, metadata={"description": "staff keys only: link to this customer"})


class ComplaintCreated(ma.Schema):
    code = fields.String(
        required=True, metadata={"description": "the reference the customer quotes"}
    )
    state = fields.Enum(State, by_value=True, required=True)
    tracking_url = fields.String(
        required=True,
        metadata={"description": "the customer's private tracking page; give it only to them"},
    )


class ComplaintStatus(ma.Schema):
    """What anyone holding a reference code may learn: the stage and its dates, nothing personal
    and nothing anybody wrote."""

    code = fields.String(required=True)
    state = fields.Enum(State, by_value=True, required=True)
    received_at = fields.DateTime(required=True)
    acknowledged_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime(required=True)


class ComplaintFilter(StrictSchema):
    state = fields.Enum(State, by_value=True)
    severity = fields.Enum(Severity, by_value=True)
    channel = fields.Enum(Channel, by_value=True)
    category = fields.String(validate=validate.Length(max=40))
    customer_code = fields.String(validate=validate.Length(max=64))
    open = fields.Boolean(metadata={"description": "only complaints still being worked on"})
    overdue = fields.Boolean()
    received_from = fields.Date()
    received_to = fields.Date()
    q = fields.String(validate=validate.Length(max=100))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    after = fields.Integer(
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "the `next_cursor` of the previous page"},
    )


class ComplaintItem(ma.Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    state = fields.Enum(State, by_value=True, required=True)
    severity = fields.Enum(Severity, by_value=True, required=True)
    channel = fields.Enum(Channel, by_value=True, required=True)
    category = fields.String(required=True)
    tier = fields.String(required=True)
    contact_name = fields.String(required=True)
    contact_email = fields.String(required=True)
    contact_phone = fields.String(required=True)
    description = fields.String(required=True)
    order_ref = fields.String(required=True)
    customer_code = fields.String(allow_none=True)
    assignee_email = fields.String(allow_none=True)
    received_at = fields.DateTime(required=True)
    due_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime(required=True)
    version = fields.Integer(required=True)


class ComplaintPage(ma.Schema):
    items = fields.List(fields.Nested(ComplaintItem), required=True)
    next_cursor = fields.Integer(
        allow_none=True, required=True, metadata={"description": "pass as `after`; null: last page"}
    )


# --- surveys ---


class SurveyResponseCreate(StrictSchema):
    invitation_token = fields.String(required=True, validate=validate.Length(min=1, max=64))
    language = fields.String(load_default="zh_Hans", validate=validate.OneOf(["zh_Hans", "en"]))
    answers = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=90)),
        values=fields.Raw(),
        required=True,
        metadata={
            "description": "question code -> answer: a scale point (integer), a choice value, "
            "a list of choice values, or text; a matrix row is `question.item`"
        },
    )


class SurveyResponseCreated(ma.Schema):
    response_id = fields.Integer(required=True)
    submitted_at = fields.DateTime(required=True)


# --- customers and transactions ---


class CustomerRecord(StrictSchema):
    code = Text(64, required=True, validate=validate.Length(min=1, max=64))
    name = Text(200, required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(load_default="", validate=validate.Length(max=254))
    phone = Text(40)
    segment = Text(60)
    region = Text(60)
    first_seen_on = fields.Date(load_default=None, allow_none=True)
    assigned_staff = fields.Email(
        load_default="", metadata={"description": "the account manager's e-mail address"}
    )


class TransactionRecord(StrictSchema):
    external_id = Text(64, required=True, validate=validate.Length(min=1, max=64))
    customer_code = Text(64, required=True, validate=validate.Length(min=1, max=64))
    occurred_on = fields.Date(required=True)
    amount = fields.Decimal(required=True, places=2, as_string=True, allow_nan=False)
    margin = fields.Decimal(required=True, places=2, as_string=True, allow_nan=False)


MAX_BATCH = 5000


class CustomerBatch(StrictSchema):
    customers = fields.List(
        fields.Nested(CustomerRecord),
        required=True,
        validate=validate.Length(min=1, max=MAX_BATCH),
    )


class TransactionBatch(StrictSchema):
    transactions = fields.List(
        fields.Nested(TransactionRecord),
        required=True,
        validate=validate.Length(min=1, max=MAX_BATCH),
    )


class ImportResult(ma.Schema):
    created = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)
    recompute_job_id = fields.Integer(
        allow_none=True,
        metadata={
            "description": "The churn recomputation queued because transactions changed (it "
            "runs in the background); null when nothing changed or for customers."
        },
    )


class CustomerItem(ma.Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    segment = fields.String(required=True)
    region = fields.String(required=True)
    first_seen_on = fields.Date(allow_none=True)
    tier = fields.String(required=True, metadata={"description": "key, general or minor"})
    created_at = fields.DateTime(required=True)


class CustomerFilter(StrictSchema):
    segment = fields.String(validate=validate.Length(max=60))
    region = fields.String(validate=validate.Length(max=60))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    after = fields.String(
        validate=validate.Length(max=64),
        metadata={"description": "the `next_cursor` of the previous page (a customer code)"},
    )


class CustomerPage(ma.Schema):
    items = fields.List(fields.Nested(CustomerItem), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class IndexFilter(StrictSchema):
    granularity = fields.String(
        load_default="quarter", validate=validate.OneOf(["month", "quarter"])
    )
    period = fields.String(
        validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$"),
        metadata={
            "description": "one period, e.g. 2026-03 or 2026-Q1; all stored periods if absent"
        },
    )
    group_kind = fields.String(
        load_default="all", validate=validate.OneOf(["all", "segment", "tier"])
    )
    group_value = fields.String(
        load_default="",
        validate=validate.Length(max=60),
        metadata={"description": "the segment or tier (key, general, minor); empty for all"},
    )


class IndexValueItem(ma.Schema):
    period = fields.String(required=True)
    granularity = fields.String(required=True)
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    group_kind = fields.String(required=True)
    group_value = fields.String(required=True)
    composite = fields.Float(allow_none=True, required=True)
    composite_low = fields.Float(allow_none=True, required=True)
    composite_high = fields.Float(allow_none=True, required=True)
    satisfaction = fields.Float(
        allow_none=True, required=True, metadata={"description": "S, 0-100"}
    )
    satisfaction_low = fields.Float(allow_none=True, required=True)
    satisfaction_high = fields.Float(allow_none=True, required=True)
    satisfaction_method = fields.String(
        required=True, metadata={"description": "model (PLS), fallback (item mean) or empty"}
    )
    complaint_handling = fields.Float(allow_none=True, required=True, metadata={"description": "C"})
    retention = fields.Float(allow_none=True, required=True, metadata={"description": "R"})
    weights = fields.Dict(
        keys=fields.String(),
        values=fields.Float(),
        required=True,
        metadata={"description": "the weights the composite was computed with"},
    )
    responses = fields.Integer(required=True)
    complaints = fields.Integer(required=True)
    customers = fields.Integer(required=True)
    computed_at = fields.DateTime(required=True)


class IndexValuePage(ma.Schema):
    items = fields.List(fields.Nested(IndexValueItem), required=True)
