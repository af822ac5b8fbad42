"""API fixtures: a key per role (created through the service an admin's page uses)."""

from __future__ import annotations

import pytest

from survey_app.accounts import services as account_services
from survey_app.extensions import db


@pytest.fixture
def api_key(app, make_user):
    """``api_key("staff")`` -> the Authorization headers of a fresh key of a new user."""

    def factory(role: str = "staff") -> dict:
        user_id, _email = make_user(role)
        admin_id, _ = make_user("admin")
        with app.app_context():
            admin = account_services.get_user(admin_id)
            _row, key = account_services.create_api_key(
                admin, account_services.get_user(user_id), f"{role} system"
            )
            db.session.commit()
        return {"Authorization": f"Bearer {key}"}

    return factory


@pytest.fixture
def category_code(app):
    return "delivery"


from tests.surveys.conftest import (  # noqa: E402,F401  (the survey factories, shared)
    make_customer,
    make_invitation,
    make_questionnaire,
)
