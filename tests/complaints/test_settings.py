"""Admin settings: SLA targets, working calendar, root causes and queues, over HTTP."""

from __future__ import annotations

import sqlalchemy as sa

from survey_app.complaints import services
from survey_app.complaints.models import RootCause, Severity, SlaTarget, WorkCalendar
from survey_app.extensions import db
from tests.conftest import post_form


def _sla_form(overrides=None):
    data = {}
    for severity, tier in services.DEFAULT_TARGETS:
        ack, resolve = services.DEFAULT_TARGETS[(severity, tier)]
        data[f"ack_{severity.value}_{tier}"] = ack
        data[f"resolve_{severity.value}_{tier}"] = resolve
    data.update(overrides or {})
    return data


def test_admin_edits_sla_targets(app, login):
    admin = login("admin")
    url = "/admin/complaints/sla"
    bad = post_form(admin, url, _sla_form({"ack_high_general": 600, "resolve_high_general": 60}))
    assert bad.status_code == 200
    assert "cannot be shorter than acknowledgement" in bad.get_data(as_text=True)
    ok = post_form(admin, url, _sla_form({"ack_high_general": 120}))
    assert ok.status_code == 302
    with app.app_context():
        assert services.sla_targets()[(Severity.HIGH, "general")] == (120, 48 * 60)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SlaTarget)) == 8


def test_admin_sets_the_working_calendar_and_errors_show(app, login):
    admin = login("admin")
    form_url = "/admin/complaints/sla"
    url = "/admin/complaints/calendar"
    bad = post_form(
        admin,
        url,
        {
            "enabled": "y",
            "start": "18:00",
            "end": "09:00",
            "weekdays": ["1"],
            "timezone": "Asia/Shanghai",
            "holidays": "2026-10-01\nnot-a-date",
        },
        form_url=form_url,
    )
    assert bad.status_code == 400
    assert "must end after it starts" in bad.get_data(as_text=True)
    ok = post_form(
        admin,
        url,
        {
            "enabled": "y",
            "start": "09:00",
            "end": "17:30",
            "weekdays": ["1", "2", "3", "4", "5"],
            "timezone": "Asia/Shanghai",
            "holidays": "2026-10-01\n2026-10-02",
        },
        form_url=form_url,
    )
    assert ok.status_code == 302
    with app.app_context():
        row = db.session.scalar(sa.select(WorkCalendar))
        assert (row.enabled, row.start_minute, row.end_minute) == (True, 540, 1050)
        calendar = services.calendar()
        assert calendar.weekdays == frozenset({1, 2, 3, 4, 5}) and len(calendar.holidays) == 2


def test_root_causes_and_queues_are_editable(app, login, make_user):
    admin = login("admin")
    assert (
        post_form(
            admin, "/admin/complaints/root-causes", {"name_zh": "", "name_en": ""}
        ).status_code
        == 200
    )
    assert (
        post_form(
            admin,
            "/admin/complaints/root-causes",
            {"name_zh": "仓储管理", "name_en": "Warehousing"},
        ).status_code
        == 302
    )
    with app.app_context():
        cause_id = db.session.scalar(
            sa.select(RootCause.id).where(RootCause.name_en == "Warehousing")
        )
    post_form(
        admin,
        f"/admin/complaints/root-causes/{cause_id}",
        {"name_zh": "仓储管理", "name_en": "Warehousing"},
    )
    with app.app_context():
        assert db.session.get(RootCause, cause_id).active is False  # unticked box deactivates
    staff_id, _email = make_user("staff")
    with app.app_context():
        from survey_app.taxonomy.services import by_code

        delivery = by_code("delivery").id
    assert (
        post_form(
            admin,
            "/admin/complaints/queues",
            {"name": "物流组", "member_ids": [str(staff_id)], "category_ids": [str(delivery)]},
        ).status_code
        == 302
    )
    page = admin.get("/admin/complaints/queues").get_data(as_text=True)
    assert "物流组" in page
    duplicate = post_form(admin, "/admin/complaints/queues", {"name": "物流组"})
    assert duplicate.status_code == 200
