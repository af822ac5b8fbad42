"""Factories for survey tests: customers, questionnaires from the shipped templates, invitations."""

from __future__ import annotations

from datetime import timedelta

import pytest

from survey_app.customers.models import Customer
from survey_app.db_types import utcnow
from survey_app.extensions import db
from survey_app.surveys import services
from survey_app.surveys.models import Invitation


@pytest.fixture
def make_customer(app):
    counter = {"n": 0}

    def factory(name: str = "", segment: str = "零售", email: str | None = None):
        counter["n"] += 1
        with app.app_context():
            customer = Customer(
                code=f"S{counter['n']:04d}",
                name=name or f"客户{counter['n']}",
                email=email or f"s{counter['n']}@example.cn",
                phone=f"1380000{counter['n']:04d}",
                segment=segment,
                region="华东",
            )
            db.session.add(customer)
            db.session.commit()
            return customer.id

    return factory


@pytest.fixture
def make_questionnaire(app):
    """``make_questionnaire("pulse", publish=True, **settings)`` returns ``(id, public_token)``."""

    def factory(kind: str = "pulse", publish: bool = True, **settings):
        with app.app_context():
            questionnaire = services.create_from_template(None, kind)
            for name, value in settings.items():
                setattr(questionnaire, name, value)
            if publish:
                services.change_status(None, questionnaire, "publish")
            db.session.commit()
            return questionnaire.id, questionnaire.public_token

    return factory


@pytest.fixture
def make_invitation(app):
    def factory(questionnaire_id: int, customer_id: int, days: int = 30) -> str:
        with app.app_context():
            invitation = Invitation(
                questionnaire_id=questionnaire_id,
                customer_id=customer_id,
                expires_at=utcnow() + timedelta(days=days),
            )
            db.session.add(invitation)
            db.session.commit()
            return invitation.token

    return factory
