"""The signed one-click rating link sent when a complaint is resolved."""

from __future__ import annotations

import sqlalchemy as sa

from survey_app.complaints import services
from survey_app.complaints.models import RecoveryRating, State
from survey_app.db_types import utcnow
from survey_app.extensions import db
from tests.conftest import post_form


def _resolved(app, world, state=State.RESOLVED):
    with app.app_context():
        complaint = world.complaint_in(state)
        db.session.commit()
        return complaint.token, services.rating_token(complaint)


def test_the_customer_rates_the_handling_once(app, client, http_world):
    token, signed = _resolved(app, http_world)
    page = client.get(f"/complaint/t/{token}").get_data(as_text=True)
    assert f"/complaint/rate/{signed}" in page
    url = f"/complaint/rate/{signed}"
    response = post_form(client, url, {"rating": "4", "recommend": "9", "comment": "快"})
    assert response.status_code == 302
    with app.app_context():
        row = db.session.scalar(sa.select(RecoveryRating))
        assert (row.rating, row.recommend, row.comment) == (4, 9, "快")
    page = client.get(url).get_data(as_text=True)
    assert "you rated our handling 4 of 5" in page
    assert "/complaint/rate/" not in client.get(f"/complaint/t/{token}").get_data(as_text=True)


def test_a_tampered_or_expired_link_shows_nothing(app, client, http_world):
    _token, signed = _resolved(app, http_world)
    assert client.get(f"/complaint/rate/{signed[:-2]}xx").status_code == 404
    with app.test_request_context(headers={"Accept-Language": "en"}):
        from survey_app.errors import NotFound

        try:
            services.complaint_for_rating(signed, max_age=-1)
        except NotFound as error:
            assert "expired" in str(error.message)
        else:
            raise AssertionError("an expired link was accepted")


def test_out_of_range_answers_are_refused(app, client, http_world):
    _token, signed = _resolved(app, http_world, State.CLOSED)
    response = post_form(client, f"/complaint/rate/{signed}", {"rating": "9", "recommend": "11"})
    assert response.status_code == 200
    assert "field-error" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryRating)) == 0


def test_no_rating_before_resolution(app, http_world):
    with app.app_context():
        complaint = http_world.open(now=utcnow())
        import pytest

        from survey_app.errors import DomainError

        with pytest.raises(DomainError):
            services.rate_recovery(complaint, rating=5, recommend=10)
