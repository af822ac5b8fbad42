"""The staff list downloads as CSV: the same filters, every page, text neutralised."""

from __future__ import annotations

import csv
import io

from survey_app.complaints import views
from survey_app.complaints.models import State
from survey_app.extensions import db
from tests.complaints.conftest import World
from tests.conftest import sign_in


def _rows(response) -> list[dict]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_the_filtered_list_downloads_whole_and_neutralised(app, client, monkeypatch):
    monkeypatch.setattr(views, "EXPORT_PAGE", 2)  # five rows: three queries
    with app.app_context():
        w = World()
        codes = [w.complaint_in(State.RECEIVED).code for _ in range(3)]
        hostile = w.complaint_in(State.INVESTIGATING, contact_name='=HYPERLINK("x")')
        hostile.assignee_id = w.user_ids["staff"]
        codes.append(hostile.code)
        codes.append(w.complaint_in(State.CLOSED).code)
        db.session.commit()
    assert sign_in(client, "staff-w@example.com", "correct-horse-battery").status_code == 302

    everything = _rows(client.get("/complaints/export.csv"))
    assert [r["code"] for r in everything] == codes[::-1]  # newest first, like the list
    hostile = everything[1]
    assert hostile["contact_name"] == '\'=HYPERLINK("x")'
    assert hostile["state"] == "investigating" and hostile["assignee"] == "Staff W"
    assert hostile["category"] == "Delivery"  # the page's language (these tests' cookie: en)

    page = client.get("/complaints/?open=1", headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert "Download these 4 complaints (CSV)" in html
    assert "/complaints/export.csv?open=1" in html
    open_only = _rows(client.get("/complaints/export.csv?open=1"))
    assert [r["code"] for r in open_only] == codes[3::-1]
    client.set_cookie("lang", "zh_Hans")
    chinese = _rows(client.get("/complaints/export.csv?state=closed"))
    assert [(r["code"], r["category"]) for r in chinese] == [(codes[4], "配送")]
