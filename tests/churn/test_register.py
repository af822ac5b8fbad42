"""The lost-customer register: reasons from the shared list, how they were learnt, win-back."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from survey_app.churn.models import LossRecord, WinBackAttempt
from survey_app.extensions import db
from survey_app.taxonomy.services import by_code
from tests.churn.scenario import AS_OF, build
from tests.conftest import post_form

EN = {"Accept-Language": "en"}


@pytest.fixture
def record_id(app, runner):
    with app.app_context():
        ids = build()
    assert runner.invoke(args=["churn", "recompute", "--as-of", AS_OF.isoformat()]).exit_code == 0
    with app.app_context():
        return db.session.scalar(
            sa.select(LossRecord.id).where(LossRecord.customer_id == ids["S1"])
        )


def _reason_ids(app, *codes):
    with app.app_context():
        return [str(by_code(code).id) for code in codes]


def test_register_lists_losses_with_tier_and_value(record_id, login):
    client = login("staff")
    body = client.get("/churn/", headers=EN).get_data(as_text=True)
    assert "客户S1" in body and "客户K1" in body
    assert "客户W1" not in body  # won back: only with show=all
    assert "客户W1" in client.get("/churn/?show=all").get_data(as_text=True)
    assert "not recorded" in body


def test_staff_record_reasons_and_how_they_were_learnt(app, record_id, login):
    client = login("staff")
    url = f"/churn/losses/{record_id}"
    price, competitor = _reason_ids(app, "price", "competitor")
    missing = post_form(
        client, f"{url}/reasons", {"reasons": [price], "learnt_how": ""}, form_url=url, headers=EN
    )
    assert missing.status_code == 400
    assert "Say how the reason was learnt" in missing.get_data(as_text=True)
    billing = _reason_ids(app, "billing")[0]  # a complaint category, not a reason for leaving
    wrong = post_form(
        client, f"{url}/reasons", {"reasons": [billing], "learnt_how": "interview"}, form_url=url
    )
    assert wrong.status_code == 400
    ok = post_form(
        client,
        f"{url}/reasons",
        {"reasons": [price, competitor], "learnt_how": "exit_survey", "note": "转向对手"},
        form_url=url,
    )
    assert ok.status_code == 302
    with app.app_context():
        record = db.session.get(LossRecord, record_id)
        assert sorted(r.code for r in record.reasons) == ["competitor", "price"]
        assert record.learnt_how.value == "exit_survey" and record.note == "转向对手"
    filtered = client.get(f"/churn/?reason={price}").get_data(as_text=True)
    assert "客户S1" in filtered and "客户K1" not in filtered


def test_staff_log_win_back_attempts(app, record_id, login):
    client = login("staff")
    url = f"/churn/losses/{record_id}"
    future = (date.today() + timedelta(days=3)).isoformat()
    response = post_form(
        client,
        f"{url}/attempts",
        {"attempted_on": future, "channel": "phone", "outcome": "declined"},
        form_url=url,
        headers=EN,
    )
    assert response.status_code == 400
    assert "cannot be in the future" in response.get_data(as_text=True)
    response = post_form(
        client,
        f"{url}/attempts",
        {
            "attempted_on": AS_OF.isoformat(),
            "channel": "visit",
            "outcome": "agreed",
            "note": "优惠",
        },
        form_url=url,
    )
    assert response.status_code == 302
    body = client.get(url, headers=EN).get_data(as_text=True)
    assert "Agreed to come back" in body and "优惠" in body
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WinBackAttempt)) == 1


def test_managers_read_but_do_not_write(app, record_id, login):
    client = login("manager")
    url = f"/churn/losses/{record_id}"
    page = client.get(url, headers=EN).get_data(as_text=True)
    assert "Not recorded yet" in page and "Log contact" not in page
    response = post_form(
        client,
        f"{url}/reasons",
        {"reasons": _reason_ids(app, "price"), "learnt_how": "interview"},
        form_url=url,
    )
    assert response.status_code == 403


def test_unknown_entry_is_404(login):
    assert login("staff").get("/churn/losses/424242").status_code == 404


def test_an_exit_questionnaire_fills_the_reasons(app, record_id):
    with app.app_context():
        from survey_app.churn import services

        record = db.session.get(LossRecord, record_id)
        customer_id = record.customer_id
        filled = services.record_exit_survey_reasons(
            customer_id, ["price", "billing", "nonsense"], note="价格太高"
        )
        db.session.commit()
        assert filled.id == record_id
        assert [r.code for r in filled.reasons] == ["price"]  # billing is not a loss reason
        assert filled.learnt_how.value == "exit_survey" and filled.note == "价格太高"
        again = services.record_exit_survey_reasons(customer_id, ["competitor"])
        assert sorted(r.code for r in again.reasons) == ["competitor", "price"]
        active_id = db.session.scalar(
            sa.select(LossRecord.customer_id).where(LossRecord.won_back_on.is_not(None))
        )
        assert services.record_exit_survey_reasons(active_id, ["price"]) is None


def test_register_filters_unexplained_and_sorts_by_value(app, record_id, login):
    client = login("staff")
    unexplained = client.get("/churn/?reason=none").get_data(as_text=True)
    assert "客户S1" in unexplained and "客户K1" in unexplained
    with app.app_context():
        from survey_app.accounts.models import Role, User
        from survey_app.churn import services

        staff = db.session.scalar(sa.select(User).where(User.role == Role.STAFF))
        record = db.session.get(LossRecord, record_id)
        services.record_reasons(
            staff, record, reason_ids=[by_code("moved").id], learnt_how="interview", note=""
        )
        db.session.commit()
        values = {
            r.customer.code: float(r.clv_lost)
            for r in db.session.scalars(
                sa.select(LossRecord).where(LossRecord.won_back_on.is_(None))
            )
        }
    unexplained = client.get("/churn/?reason=none").get_data(as_text=True)
    assert "客户S1" not in unexplained and "客户K1" in unexplained
    body = client.get("/churn/?sort=value").get_data(as_text=True)
    ranked = sorted(values, key=values.get, reverse=True)
    positions = [body.index(f"客户{code}") for code in ranked]
    assert positions == sorted(positions)


def test_register_filters_by_day_of_loss_and_totals_what_it_shows(app, record_id, login):
    client = login("staff")
    october = client.get("/churn/?show=all&from=2025-10-01&to=2025-10-31", headers=EN)
    body = october.get_data(as_text=True)
    assert "客户K1" in body  # cancelled on 15 Oct 2025
    assert "客户S1" not in body and "客户W1" not in body
    with app.app_context():
        records = {r.customer.code: r for r in db.session.scalars(sa.select(LossRecord))}
    k1 = records["K1"]
    assert k1.lost_on == date(2025, 10, 15)
    assert f"<strong>1 loss</strong> · CLV lost <strong>{k1.clv_lost:,.0f}</strong>" in body
    everything = client.get("/churn/?show=all", headers=EN).get_data(as_text=True)
    total = sum(r.clv_lost for r in records.values())
    assert f"<strong>{len(records)} losses</strong>" in everything
    assert f"CLV lost <strong>{total:,.0f}</strong>" in everything
    # one bound only: from the day K1 was lost on, the later losses
    later = client.get(f"/churn/?show=all&from={k1.lost_on}", headers=EN).get_data(as_text=True)
    assert all((f"客户{code}" in later) == (r.lost_on >= k1.lost_on) for code, r in records.items())
    nothing = client.get("/churn/?from=2030-01-01", headers=EN).get_data(as_text=True)
    assert "No lost customer matches these filters." in nothing
    assert "losses.csv" not in nothing  # no download of nothing


@pytest.mark.parametrize(
    "query, field, message",
    [
        ("from=yesterday", "from", "Dates look like 2026-01-31."),
        ("to=2025-13-45", "to", "Dates look like 2026-01-31."),
        ("from=2025-12-01&to=2025-10-01", "to", "The start date is after the end date."),
        ("from=%27%22<script>", "from", "Dates look like 2026-01-31."),
    ],
)
def test_a_date_that_is_not_one_is_said_and_left_out(record_id, login, query, field, message):
    response = login("staff").get(f"/churn/?show=all&{query}", headers=EN)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.count('class="field-error"') == 1
    error = f'<p id="register-{field}-error" class="field-error" role="alert">{message}</p>'
    assert error in body
    assert f'aria-invalid="true" aria-describedby="register-{field}-error"' in body
    assert "客户K1" in body and "客户S1" in body  # the filter is left out, not the list
    assert "<script>" not in body


def test_the_register_downloads_as_filtered_every_entry_neutralised(app, record_id, login):
    import csv
    import io

    with app.app_context():
        record = db.session.get(LossRecord, record_id)
        record.customer.name = '=HYPERLINK("http://x")'
        db.session.commit()
    client = login("manager")
    page = client.get("/churn/?show=all&sort=value", headers=EN).get_data(as_text=True)
    assert "/churn/losses.csv?show=all&amp;sort=value" in page
    response = client.get("/churn/losses.csv?show=all&sort=value")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    with app.app_context():
        expected = sorted(
            db.session.scalars(sa.select(LossRecord)), key=lambda r: r.clv_lost, reverse=True
        )
        codes = [r.customer.code for r in expected]
    assert [r["customer_code"] for r in rows] == codes
    s1 = next(r for r in rows if r["customer_code"] == "S1")
    assert s1["customer"] == '\'=HYPERLINK("http://x")'
    assert s1["lost_on"] == date(2025, 12, 27).isoformat()
    assert {r["customer_code"] for r in rows if r["won_back_on"]} == {"W1"}
    still_lost = client.get("/churn/losses.csv?from=2025-10-01&to=2025-10-31")
    assert [
        r["customer_code"]
        for r in csv.DictReader(io.StringIO(still_lost.get_data(as_text=True).lstrip("\ufeff")))
    ] == ["K1"]
