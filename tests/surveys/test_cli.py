"""``flask surveys ...`` commands."""

from __future__ import annotations

import sqlalchemy as sa

from survey_app.extensions import db
from survey_app.surveys import queries, services
from survey_app.surveys.models import Questionnaire, ResultCount, Status
from tests.conftest import post_form


def test_create_from_template_and_publish(app, runner):
    result = runner.invoke(args=["surveys", "create", "--template", "ecsi", "--publish"])
    assert result.exit_code == 0, result.output
    assert "(published)" in result.output and "/s/" in result.output
    with app.app_context():
        (questionnaire,) = db.session.scalars(sa.select(Questionnaire)).all()
        assert questionnaire.template == "ecsi" and questionnaire.status is Status.PUBLISHED
    bad = runner.invoke(args=["surveys", "create", "--template", "nope"])
    assert bad.exit_code != 0


def test_rebuild_counts_restores_the_results(app, runner, make_questionnaire):
    qid, token = make_questionnaire("pulse")
    for csat, nps in ((5, 10), (2, 3), (4, 8)):
        client = app.test_client()
        post_form(client, f"/s/{token}", {"step": "1", "q_csat": str(csat), "q_nps": str(nps)})
        post_form(client, f"/s/{token}?step=2", {"step": "2", "q_comment": "ok"}, form_url="/login")
    with app.app_context():
        before = db.session.execute(
            sa.select(
                ResultCount.question_id,
                ResultCount.item_id,
                ResultCount.value_num,
                ResultCount.choice,
                ResultCount.day,
                ResultCount.count,
            ).order_by(ResultCount.question_id, ResultCount.value_num)
        ).all()
        db.session.execute(sa.delete(ResultCount))
        db.session.commit()
        assert (
            queries.question_results(services.get_questionnaire(qid), queries.Filters())[1][0]
            .scales[0]
            .n
            == 0
        )
    result = runner.invoke(args=["surveys", "rebuild-counts", str(qid)])
    assert result.exit_code == 0 and "3 responses counted" in result.output
    with app.app_context():
        after = db.session.execute(
            sa.select(
                ResultCount.question_id,
                ResultCount.item_id,
                ResultCount.value_num,
                ResultCount.choice,
                ResultCount.day,
                ResultCount.count,
            ).order_by(ResultCount.question_id, ResultCount.value_num)
        ).all()
    assert after == before and len(before) == 7  # csat 3 values, nps 3 values, comment
    missing = runner.invoke(args=["surveys", "rebuild-counts", "999"])
    assert missing.exit_code != 0 and "No such questionnaire" in missing.output


def test_remind_needs_smtp(app, runner, make_questionnaire):
    qid, _ = make_questionnaire("pulse")
    result = runner.invoke(args=["surveys", "remind", str(qid)])
    assert result.exit_code != 0 and "SMTP_HOST" in result.output


def test_in_production_remind_needs_the_public_address(app, runner, make_questionnaire):
    qid, _ = make_questionnaire("pulse")
    app.config["SURVEY_APP_ENV"] = "production"
    try:
        result = runner.invoke(args=["surveys", "remind", str(qid)])
    finally:
        app.config["SURVEY_APP_ENV"] = "testing"
    assert result.exit_code != 0 and "PUBLIC_BASE_URL is not set" in result.output


def test_invite_by_pasted_codes(app, login, make_questionnaire, make_customer):
    qid, _ = make_questionnaire("pulse")
    make_customer()
    make_customer()
    client = login("admin")
    client.set_cookie("lang", "en")
    bad = post_form(
        client, f"/surveys/{qid}/invitations", {"codes": "S0001, S9999", "valid_days": "30"}
    )
    assert "Unknown customer codes: S9999" in bad.get_data(as_text=True)
    ok = post_form(
        client, f"/surveys/{qid}/invitations", {"codes": "S0001\nS0002", "valid_days": "30"}
    )
    assert ok.status_code == 302
    with app.app_context():
        assert queries.invitation_stats(qid)["total"] == 2
