from __future__ import annotations

from survey_app.extensions import db
from survey_app.taxonomy import services
from survey_app.taxonomy.models import DEFAULT_REASONS
from tests.conftest import post_form


def test_a_new_database_starts_with_the_default_reasons(app):
    with app.app_context():
        codes = [reason.code for reason in services.reasons(include_inactive=True)]
        complaint_codes = {reason.code for reason in services.reasons(complaints=True)}
        loss_codes = {reason.code for reason in services.reasons(losses=True)}
    assert codes == [row[0] for row in DEFAULT_REASONS]
    assert {"quality", "service"} <= complaint_codes & loss_codes  # the overlap is one list
    assert "billing" in complaint_codes and "billing" not in loss_codes
    assert "competitor" in loss_codes and "competitor" not in complaint_codes


def test_admin_adds_a_reason_and_errors_show_on_the_fields(login):
    admin = login("admin")
    response = post_form(
        admin,
        "/admin/reasons/new",
        {"code": "Bad Code!", "name_zh": "", "name_en": "", "for_complaints": "y"},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 200
    assert "lower-case letters" in response.get_data(as_text=True)
    response = post_form(
        admin,
        "/admin/reasons/new",
        {
            "code": "late_refund",
            "name_zh": "退款慢",
            "name_en": "Slow refund",
            "for_complaints": "y",
        },
    )
    assert response.status_code == 302
    page = admin.get("/admin/reasons/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "退款慢" in page


def test_duplicate_code_and_empty_scope_are_refused(login):
    admin = login("admin")
    body = post_form(
        admin,
        "/admin/reasons/new",
        {"code": "quality", "name_en": "Again", "for_losses": "y"},
        headers={"Accept-Language": "en"},
    ).get_data(as_text=True)
    assert "already exists" in body
    body = post_form(
        admin,
        "/admin/reasons/new",
        {"code": "nowhere", "name_en": "Nowhere"},
        headers={"Accept-Language": "en"},
    ).get_data(as_text=True)
    assert "for complaints, for lost customers, or both" in body


def test_deactivated_reasons_leave_the_pick_lists(app, login):
    admin = login("admin")
    with app.app_context():
        reason = services.by_code("moved")
        reason_id, position = reason.id, reason.position
    response = post_form(
        admin,
        f"/admin/reasons/{reason_id}",
        {"name_zh": "搬迁", "name_en": "Moved away", "for_losses": "y", "position": position},
    )
    assert response.status_code == 302
    with app.app_context():
        assert "moved" not in {r.code for r in services.reasons(losses=True)}
        assert not db.session.get(type(services.by_code("moved")), reason_id).active
