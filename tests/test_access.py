"""The authorization matrix: every registered route, every role, one expected answer.

A route that is not in ``RULES`` fails ``test_every_route_has_a_rule``: adding a page means deciding
who may see it, here.
"""

from __future__ import annotations

import pytest
from werkzeug.routing import IntegerConverter

from tests.conftest import csrf_token, sign_in

ROLES = ("anonymous", "staff", "manager", "admin")
PUBLIC = frozenset(ROLES)
SIGNED_IN = frozenset({"staff", "manager", "admin"})
STAFF_WORK = frozenset({"staff", "manager", "admin"})
ADMIN = frozenset({"admin"})
STAFF_ONLY = frozenset({"staff", "admin"})
MANAGEMENT = frozenset({"manager", "admin"})
MANAGERS = MANAGEMENT
#: API routes that need an API key: a browser's session cookie never counts there, so every role
#: gets 401 in the cookie matrix; the key matrix (``API_RULES``) decides per role
API_KEY = "api-key"

#: endpoint -> roles that may GET it. Other signed-in roles get 403; anonymous visitors are sent to
#: the sign-in page. POST-only endpoints map to None (GET is 405 for everyone).
RULES: dict[str, frozenset | None] = {
    "core.home": PUBLIC,
    "core.healthz": PUBLIC,
    "core.set_language": PUBLIC,
    "accounts.login": PUBLIC,
    "accounts.logout": None,
    "accounts.change_password": SIGNED_IN,
    "accounts.list_users": ADMIN,
    "accounts.create_user": ADMIN,
    "accounts.edit_user": ADMIN,
    "customers.list_customers": STAFF_WORK,
    "customers.show_customer": STAFF_WORK,
    "customers.value_overview": STAFF_WORK,
    "customers.edit_value_settings": ADMIN,
    "customers.import_upload": STAFF_ONLY,
    "customers.import_review": STAFF_ONLY,
    "customers.import_discard": None,
    "customers.import_problems": STAFF_ONLY,
    "churn.register": STAFF_WORK,
    "churn.show_loss": STAFF_WORK,
    "churn.record_reasons": None,
    "churn.log_attempt": None,
    "churn.send_exit_questionnaire": None,
    "churn.export_exit_links": STAFF_ONLY,
    "churn.export_register": STAFF_WORK,
    "churn.analysis": MANAGERS,
    "churn.at_risk": STAFF_WORK,
    "churn.edit_settings": ADMIN,
    "churn.recompute_now": None,
    "churn.job_status": MANAGEMENT,
    "taxonomy.list_reasons": ADMIN,
    "taxonomy.create_reason": ADMIN,
    "taxonomy.edit_reason": ADMIN,
    # complaints: public pages are keyed by an unguessable token (unknown token: 404)
    "complaints.new_public": PUBLIC,
    "complaints.track": PUBLIC,
    "complaints.track_action": None,
    "complaints.track_file": PUBLIC,
    "complaints.rate": PUBLIC,
    "complaints.list_complaints": STAFF_WORK,
    "complaints.my_work": STAFF_WORK,
    "complaints.export_complaints": STAFF_WORK,
    "complaints.new_staff": STAFF_WORK,
    "complaints.from_survey_response": None,
    "complaints.show": STAFF_WORK,
    "complaints.act": None,
    "complaints.note": None,
    "complaints.assign": None,
    "complaints.link_customer": None,
    "complaints.edit": STAFF_WORK,
    "complaints.file": STAFF_WORK,
    "complaints.analysis": MANAGEMENT,
    "complaints.analysis_csv": MANAGEMENT,
    "complaints.sla_settings": ADMIN,
    "complaints.calendar_settings": None,
    "complaints.root_causes": ADMIN,
    "complaints.edit_root_cause": ADMIN,
    "complaints.queues": ADMIN,
    "complaints.edit_queue": ADMIN,
    # surveys: customers answer through a token (unknown token: 404); admins design and
    # distribute; managers read results; staff work the detractor follow-up list
    "surveys.answer_public": PUBLIC,
    "surveys.answer_invitation": PUBLIC,
    "surveys.list_questionnaires": MANAGEMENT,
    "surveys.new_questionnaire": ADMIN,
    "surveys.show_questionnaire": ADMIN,
    "surveys.edit_questionnaire": ADMIN,
    "surveys.change_status": None,
    "surveys.preview": ADMIN,
    "surveys.edit_section": ADMIN,
    "surveys.delete_section": None,
    "surveys.edit_question": ADMIN,
    "surveys.delete_question": None,
    "surveys.move": None,
    "surveys.dimensions": ADMIN,
    "surveys.invitations": ADMIN,
    "surveys.export_invitations": ADMIN,
    "surveys.send_invitations": None,
    "surveys.results": MANAGEMENT,
    "surveys.export_responses": MANAGEMENT,
    "surveys.text_answers": MANAGEMENT,
    "surveys.followups": STAFF_WORK,
    "surveys.show_response": STAFF_WORK,
    "surveys.record_followup": None,
    "surveys.export_followups": STAFF_WORK,
    "index.report": MANAGEMENT,
    "index.export": MANAGEMENT,
    "index.job_status": MANAGEMENT,
    "index.update_weights": None,
    "index.recompute": None,
    "accounts.list_api_keys": ADMIN,
    "accounts.create_api_key": ADMIN,
    "accounts.revoke_api_key": None,
    # the integration API: public calls are keyed by a reference code or an invitation token
    "api-docs.openapi_json": PUBLIC,
    "api.create_complaint": None,
    "api.complaint_status": PUBLIC,
    "api.submit_survey_response": None,
    "api.list_complaints": API_KEY,
    "api.import_customers": None,
    "api.import_transactions": None,
    "api.list_customers": API_KEY,
    "api.show_customer": API_KEY,
    "api.list_index_values": API_KEY,
}

#: a GET that answers with a redirect even when allowed
REDIRECTS = {"core.set_language"}
#: public pages that a signed-in user is sent away from
SIGNED_IN_REDIRECTS = {"accounts.login"}


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        yield rule


def _url(rule) -> str:
    """The rule's URL with an id no object has, so allowed roles must get 404."""
    values = {}
    for name, converter in rule._converters.items():
        values[name] = 999999 if isinstance(converter, IntegerConverter) else "en"
    return rule.build(values, append_unknown=False)[1]


def test_every_route_has_a_rule(app):
    missing = sorted({rule.endpoint for rule in _routes(app)} - set(RULES))
    assert missing == [], f"add these endpoints to RULES in tests/test_access.py: {missing}"


@pytest.mark.parametrize("role", ROLES)
def test_access_matrix(app, make_user, role):
    client = app.test_client()
    if role != "anonymous":
        _id, email = make_user(role)
        assert sign_in(client, email).status_code == 302
    failures = []
    for rule in _routes(app):
        allowed = RULES[rule.endpoint]
        url = _url(rule)
        status = client.get(url).status_code
        if allowed is None:
            # an API URL may answer GET for another, keyed endpoint (GET /api/v1/complaints)
            expected = {405, 401} if rule.rule.startswith("/api/") else {405}
        elif allowed == API_KEY:
            expected = {401}
        elif role in allowed:
            if rule.endpoint in REDIRECTS or (
                role != "anonymous" and rule.endpoint in SIGNED_IN_REDIRECTS
            ):
                expected = {302}
            else:
                expected = {404} if rule.arguments else {200}
        elif role == "anonymous":
            expected = {302}
            location = client.get(url).headers.get("Location", "")
            if "/login" not in location:
                failures.append(
                    f"{url}: anonymous redirected to {location!r}, not the sign-in page"
                )
        else:
            expected = {403}
        if status not in expected:
            failures.append(
                f"{role} GET {url} ({rule.endpoint}): {status}, expected {sorted(expected)}"
            )
    assert failures == []


@pytest.mark.parametrize("role", ("staff", "manager"))
def test_admin_pages_are_forbidden_to_other_roles(login, role):
    client = login(role)
    for url in ("/admin/users", "/admin/users/new"):
        assert client.get(url).status_code == 403
    assert client.post("/admin/users/new", data={}).status_code in {400, 403}


@pytest.mark.parametrize("role", ("anonymous", "staff"))
def test_only_management_changes_index_weights_or_recomputes(app, make_user, role):
    from survey_app.extensions import db
    from survey_app.index.models import WeightChange
    from survey_app.jobs.models import Job

    client = app.test_client()
    if role != "anonymous":
        _id, email = make_user(role)
        assert sign_in(client, email).status_code == 302
    token = csrf_token(client, "/login" if role == "anonymous" else "/")
    weights = {"weight_s": "0.4", "weight_c": "0.3", "weight_r": "0.3", "csrf_token": token}
    expected = 302 if role == "anonymous" else 403
    assert client.post("/index/weights", data=weights).status_code == expected
    assert client.post("/index/recompute", data={"csrf_token": token}).status_code == expected
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(WeightChange.id))) == 0
        assert db.session.scalar(db.select(db.func.count(Job.id))) == 0


# --- the API, by key ------------------------------------------------------------------------

KEY_ROLES = ("no key", "customer with link", "staff", "manager", "admin")
STAFF_KEYS = frozenset({"staff", "manager", "admin"})
IMPORT_KEYS = frozenset({"staff", "admin"})
EVERYONE = frozenset(KEY_ROLES)

#: endpoint -> (method, path, roles allowed). Allowed callers get the documented success (or
#: 404/409/422 on an object or body that is not there); others get 401 without a key, else 403.
#: "customer with link" holds a real invitation token and complaint code; "no key" does not.
API_RULES = {
    "api-docs.openapi_json": ("GET", "/api/v1/openapi.json", EVERYONE),
    "api.create_complaint": ("POST", "/api/v1/complaints", EVERYONE),
    "api.complaint_status": ("GET", "/api/v1/complaints/{code}/status", EVERYONE),
    "api.submit_survey_response": ("POST", "/api/v1/survey-responses", EVERYONE),
    "api.list_complaints": ("GET", "/api/v1/complaints", STAFF_KEYS),
    "api.import_customers": ("POST", "/api/v1/customers/import", IMPORT_KEYS),
    "api.import_transactions": ("POST", "/api/v1/transactions/import", IMPORT_KEYS),
    "api.list_customers": ("GET", "/api/v1/customers", STAFF_KEYS),
    "api.show_customer": ("GET", "/api/v1/customers/C1", STAFF_KEYS),
    "api.list_index_values": ("GET", "/api/v1/index-values", frozenset({"manager", "admin"})),
}


def test_every_api_route_has_a_key_rule(app):
    api_endpoints = {r.endpoint for r in _routes(app) if r.rule.startswith("/api/")}
    assert api_endpoints == set(API_RULES)


@pytest.mark.parametrize("role", KEY_ROLES)
def test_api_key_matrix(app, make_user, role):
    from survey_app.accounts import services as accounts
    from survey_app.complaints import services as complaints
    from survey_app.customers.models import Customer
    from survey_app.extensions import db
    from survey_app.surveys import services as surveys
    from survey_app.surveys.models import Invitation
    from survey_app.taxonomy.services import by_code

    with app.app_context():
        customer = Customer(code="C1", name="Acme")
        db.session.add(customer)
        questionnaire = surveys.create_from_template(None, "pulse")
        surveys.change_status(None, questionnaire, "publish")
        db.session.flush()
        from datetime import timedelta

        from survey_app.db_types import utcnow

        invitation = Invitation(
            questionnaire_id=questionnaire.id,
            customer_id=customer.id,
            expires_at=utcnow() + timedelta(days=3),
        )
        db.session.add(invitation)
        complaint = complaints.open_complaint(
            complaints.Actor.customer(),
            channel=complaints.Channel.WEB,
            category_id=by_code("delivery").id,
            contact_name="A",
            contact_phone="1",
            description="d",
        )
        db.session.commit()
        token, code = invitation.token, complaint.code
        headers = {}
        if role in ("staff", "manager", "admin"):
            user_id, _email = make_user(role)
            admin_id, _ = make_user("admin")
            _row, key = accounts.create_api_key(
                accounts.get_user(admin_id), accounts.get_user(user_id), "matrix"
            )
            db.session.commit()
            headers = {"Authorization": f"Bearer {key}"}
    linked = role == "customer with link"
    bodies = {
        "api.create_complaint": {
            "category": "delivery",
            "contact_name": "B",
            "contact_phone": "2",
            "description": "x",
        },
        "api.submit_survey_response": {
            "invitation_token": token if linked else "not-a-token",
            "answers": {"csat": 5, "nps": 10},
        },
        "api.import_customers": {"customers": [{"code": "C2", "name": "Beta"}]},
        "api.import_transactions": {
            "transactions": [
                {
                    "external_id": "T1",
                    "customer_code": "C1",
                    "occurred_on": "2026-01-02",
                    "amount": 10,
                    "margin": 1,
                }
            ]
        },
    }
    client = app.test_client()
    failures = []
    for endpoint, (method, path, allowed) in API_RULES.items():
        path = path.format(code=code if linked else "TSNOTACODE")
        answer = client.open(path, method=method, json=bodies.get(endpoint), headers=headers)
        if role in allowed:
            if endpoint == "api.complaint_status" or endpoint == "api.submit_survey_response":
                expected = {200, 201} if linked else {404}
            else:
                expected = {200, 201}
        else:
            expected = {401} if not headers else {403}
        if answer.status_code not in expected:
            failures.append(f"{role} {method} {path}: {answer.status_code}, expected {expected}")
    assert failures == []
