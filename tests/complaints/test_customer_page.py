"""The customer page shows the surveys a customer answered (scores, link to the response) and
their complaints (state, recovery rating, link)."""

from __future__ import annotations

import sqlalchemy as sa

from survey_app.complaints.models import Complaint, State
from survey_app.customers.models import Customer
from survey_app.extensions import db
from survey_app.surveys.models import Response
from tests.complaints.test_rating import _answer_recovery, _customer_id, _resolved

EN = {"Accept-Language": "en"}


def test_surveys_and_complaints_on_the_customer_page(app, client, http_world, login):
    _token, signed = _resolved(app, http_world)
    survey_url = client.get(f"/complaint/rate/{signed}").location
    _answer_recovery(client, survey_url, satisfaction="4", nps="9")
    with app.app_context():
        other = Customer(code="C2", name="王伟")
        db.session.add(other)
        open_one = http_world.complaint_in(State.INVESTIGATING)
        open_one.customer_id = _customer_id(app)
        db.session.commit()
        other_id = other.id
        response_id = db.session.scalar(sa.select(Response.id))
        complaints = {
            c.code: c.id
            for c in db.session.scalars(
                sa.select(Complaint).where(Complaint.customer_id == _customer_id(app))
            )
        }
    staff = login("staff")
    page = staff.get(f"/customers/{_customer_id(app)}", headers=EN).get_data(as_text=True)
    surveys = page[page.index('id="surveys"') : page.index('id="complaints"')]
    assert f"/surveys/responses/{response_id}" in surveys
    assert "How did we handle your complaint?" in surveys
    assert "4.0" in surveys and ">9<" in surveys
    listed = page[page.index('id="complaints"') :]
    for code, cid in complaints.items():
        assert code in listed and f"/complaints/{cid}" in listed
    assert "Resolved" in listed and "Investigating" in listed and "4/5" in listed
    assert staff.get(f"/surveys/responses/{response_id}").status_code == 200

    empty = staff.get(f"/customers/{other_id}", headers=EN).get_data(as_text=True)
    assert "No survey answered yet." in empty and "No complaint from this customer." in empty
