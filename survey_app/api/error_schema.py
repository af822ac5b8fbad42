"""The one shape of every API error, kept apart from the other schemas so that the extension
module can hand it to flask-smorest without importing the domain models."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields


class ApiErrorBodySchema(ma.Schema):
    status = fields.Integer(required=True, metadata={"description": "the HTTP status code"})
    message = fields.String(required=True, metadata={"description": "what went wrong, for people"})
    fields = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "messages per request field, when fields were at fault"},
    )


class ApiErrorSchema(ma.Schema):
    """Every error answer of the API: ``{"error": {"status", "message", "fields"?}}``."""

    error = fields.Nested(ApiErrorBodySchema, required=True)
