"""Property-based tests of the API from its own OpenAPI document (schemathesis): for generated
requests, valid and invalid, no 5xx, and every answer matches what the document promises."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

#: "schema-valid data must be accepted" cannot hold for rules a schema cannot state (the category
#: must exist and be active; an e-mail address or a phone number; the invitation must be open):
#: those answer 422 with the field named, which ``test_api.py`` asserts case by case
EXCLUDED = [positive_data_acceptance]
#: examples per operation: enough to reach every schema branch, bounded so the suite stays fast
EXAMPLES = 25


def _check_all_operations(schema, headers):
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case):
            case.call_and_validate(headers=headers, excluded_checks=EXCLUDED)

        try:
            check()
        except Exception as error:  # collect every operation's failure, not just the first
            failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    assert failures == [], "\n\n".join(failures)


def test_document_is_openapi_3_and_lists_every_operation(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {
        "/api/v1/complaints",
        "/api/v1/complaints/{code}/status",
        "/api/v1/survey-responses",
        "/api/v1/customers/import",
        "/api/v1/transactions/import",
        "/api/v1/customers",
        "/api/v1/index-values",
        "/api/v1/customers/{code}",
    }


def test_generated_requests_with_an_admin_key(app, api_key):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    _check_all_operations(schema, api_key("admin"))


def test_generated_requests_without_a_key(app):
    app.config["RATELIMIT_ENABLED"] = False
    try:
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
        _check_all_operations(schema, {})
    finally:
        app.config["RATELIMIT_ENABLED"] = True
