"""The authorization matrix: every registered route, every role, one expected answer.

A route that is not in ``RULES`` fails ``test_every_route_has_a_rule``: adding a page means deciding
who may see it, here.
"""

from __future__ import annotations

import pytest
from werkzeug.routing import IntegerConverter

from tests.conftest import sign_in

ROLES = ("anonymous", "staff", "manager", "admin")
PUBLIC = frozenset(ROLES)
SIGNED_IN = frozenset({"staff", "manager", "admin"})
STAFF_WORK = frozenset({"staff", "manager", "admin"})
ADMIN = frozenset({"admin"})
STAFF_ONLY = frozenset({"staff", "admin"})
MANAGEMENT = frozenset({"manager", "admin"})
MANAGERS = MANAGEMENT

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
    "churn.analysis": MANAGERS,
    "churn.at_risk": STAFF_WORK,
    "churn.edit_settings": ADMIN,
    "churn.recompute_now": None,
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
            expected = {405}
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
