"""Staff pages over HTTP: detail and actions, notes, assignment, optimistic locking, lists."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from survey_app.complaints import queries, services
from survey_app.complaints.models import (
    SEARCHED_COLUMNS,
    Complaint,
    ComplaintEvent,
    Severity,
    State,
)
from survey_app.complaints.services import Actor
from survey_app.customers.models import Customer, CustomerValue
from survey_app.db_types import utcnow
from survey_app.extensions import db
from tests.complaints.conftest import english_client
from tests.conftest import post_form, sign_in

EN = {"Accept-Language": "en"}


def _get(app, complaint_id):
    with app.app_context():
        return db.session.get(Complaint, complaint_id)


def _new(app, world, **kwargs):
    """A complaint received just now (an old one would escalate when its page is viewed)."""
    with app.app_context():
        complaint = world.open(**{"now": utcnow(), **kwargs})
        db.session.commit()
        return complaint.id


def test_staff_work_a_complaint_through_the_pages(app, client, http_world):
    world = http_world
    complaint_id = _new(app, world)
    sign_in(client, "staff-w@example.com")
    url = f"/complaints/{complaint_id}"
    page = client.get(url, headers=EN).get_data(as_text=True)
    assert "Acknowledge" in page and "Timeline" in page
    for action, extra in (
        ("acknowledge", {}),
        ("investigate", {}),
        ("propose", {"text": "我们将免费换货"}),
    ):
        version = _get(app, complaint_id).version
        response = post_form(
            client, f"{url}/act", {"action": action, "version": version, **extra}, form_url=url
        )
        assert response.status_code == 302, response.get_data(as_text=True)
    assert _get(app, complaint_id).state is State.RESOLUTION_PROPOSED


def test_closing_without_root_cause_shows_the_errors_on_the_fields(app, client, http_world):
    world = http_world
    with app.app_context():
        complaint = world.complaint_in(State.RESOLVED)
        db.session.commit()
        complaint_id, version = complaint.id, complaint.version
    sign_in(client, "staff-w@example.com")
    url = f"/complaints/{complaint_id}"
    response = post_form(
        client,
        f"{url}/act",
        {"action": "close", "version": version, "root_cause_id": "", "corrective_action": ""},
        form_url=url,
        headers=EN,
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Choose the root cause." in html
    assert _get(app, complaint_id).state is State.RESOLVED


def test_the_second_of_two_concurrent_saves_is_refused_and_told_what_changed(
    app, http_world, client
):
    world = http_world
    complaint_id = _new(app, world)
    first = english_client(app)
    sign_in(first, "staff-w@example.com")
    sign_in(client, "manager-w@example.com")
    url = f"/complaints/{complaint_id}"
    seen_version = _get(app, complaint_id).version  # both opened the page at this version
    ok = post_form(
        first, f"{url}/act", {"action": "acknowledge", "version": seen_version}, form_url=url
    )
    assert ok.status_code == 302
    late = post_form(
        client,
        f"{url}/edit",
        {
            "version": seen_version,
            "severity": "critical",
            "category_id": str(world.category_id),
            "contact_name": "李娜",
            "contact_email": "lina@example.cn",
        },
        form_url=f"{url}/edit",
        headers=EN,
    )
    assert late.status_code == 200
    html = late.get_data(as_text=True)
    assert "changed while you were working on it" in html
    assert "Staff W" in html and "Received → Acknowledged" in html
    complaint = _get(app, complaint_id)
    assert complaint.severity is Severity.HIGH and complaint.state is State.ACKNOWLEDGED
    # the form now carries the current version: saving again, knowingly, works
    assert f'name="version" type="hidden" value="{complaint.version}"' in html
    again = post_form(
        client,
        f"{url}/edit",
        {
            "version": complaint.version,
            "severity": "critical",
            "category_id": str(world.category_id),
            "contact_name": "李娜",
            "contact_email": "lina@example.cn",
        },
        form_url=f"{url}/edit",
    )
    assert again.status_code == 302
    assert _get(app, complaint_id).severity is Severity.CRITICAL


def test_internal_notes_stay_internal_and_replies_reach_the_customer(app, client, http_world):
    world = http_world
    with app.app_context():
        complaint = world.open(now=utcnow())
        token, complaint_id = complaint.token, complaint.id
        db.session.commit()
    staff = english_client(app)
    sign_in(staff, "staff-w@example.com")
    url = f"/complaints/{complaint_id}"
    post_form(staff, f"{url}/note", {"body": "INTERNAL: supplier at fault"}, form_url=url)
    post_form(
        staff, f"{url}/note", {"body": "您好，我们正在处理", "to_customer": "y"}, form_url=url
    )
    staff_page = staff.get(url).get_data(as_text=True)
    assert "INTERNAL: supplier at fault" in staff_page and "我们正在处理" in staff_page
    customer_page = client.get(f"/complaint/t/{token}").get_data(as_text=True)
    assert "我们正在处理" in customer_page
    assert "INTERNAL" not in customer_page and "Staff W" not in customer_page


def test_assignment_and_reassignment_are_on_the_timeline(app, world):
    complaint = world.open()
    staff, manager = world.users["staff"], world.users["manager"]
    services.assign(complaint, world.actor("staff"), assignee_id=staff.id, queue_id=None)
    services.assign(complaint, world.actor("manager"), assignee_id=manager.id, queue_id=None)
    events = services.timeline(complaint, customer_view=False)
    changes = [e.changes for e in events if e.changes]
    assert changes == [
        {"assignee": ["", "Staff W"]},
        {"assignee": ["Staff W", "Manager W"]},
    ]
    assert services.timeline(complaint, customer_view=True)[-1].kind.value == "created"


def test_queues_route_new_complaints_and_feed_my_work(app, client, http_world):
    world = http_world
    with app.app_context():
        admin = world.actor("admin")
        queue = services.save_queue(
            admin,
            None,
            name="配送组",
            member_ids=[world.user_ids["staff"]],
            category_ids=[world.category_id],
        )
        t0 = datetime(2026, 3, 2, tzinfo=UTC)
        routed = world.open(now=t0)
        assert routed.queue_id == queue.id
        mine = world.open(now=t0, severity=Severity.LOW)
        services.assign(
            mine, world.actor("staff"), assignee_id=world.user_ids["staff"], queue_id=None
        )
        db.session.commit()
        routed_code, mine_code = routed.code, mine.code
    sign_in(client, "staff-w@example.com")
    html = client.get("/complaints/mine", headers=EN).get_data(as_text=True)
    assert routed_code in html and mine_code in html
    assert html.index("Assigned to me") < html.index(mine_code) < html.index("Unassigned in my")
    assert html.index("Unassigned in my queues") < html.index(routed_code)


def test_merging_points_the_duplicate_at_the_survivor(app, world):
    survivor = world.open()
    duplicate = world.open()
    services.apply_action(
        duplicate, "merge", world.actor("staff"), merge_into=survivor, now=world.tick()
    )
    assert duplicate.state is State.CLOSED and duplicate.merged_into_id == survivor.id
    assert any(e.body == duplicate.code for e in services.timeline(survivor, customer_view=False))


def test_linking_a_customer_needs_a_match_and_staff_confirmation(app, client, http_world):
    world = http_world
    with app.app_context():
        customer = Customer(code="C9", name="李娜", email="LiNa@example.cn", segment="大客户")
        db.session.add(customer)
        db.session.flush()
        db.session.add(CustomerValue(customer_id=customer.id, as_of=date(2026, 1, 1), tier="key"))
        db.session.commit()
        customer_id = customer.id
    complaint_id = _new(app, world, severity=Severity.MEDIUM)
    sign_in(client, "staff-w@example.com")
    url = f"/complaints/{complaint_id}"
    page = client.get(url).get_data(as_text=True)
    assert "C9 李娜" in page
    version = _get(app, complaint_id).version
    post_form(client, f"{url}/link", {"customer_id": customer_id, "version": version}, form_url=url)
    complaint = _get(app, complaint_id)
    assert complaint.customer_id == customer_id and complaint.tier == "key"


def test_list_filters_and_keyset_pages(app, client, http_world):
    world = http_world
    t0 = datetime(2026, 1, 5, tzinfo=UTC)
    ids = []
    with app.app_context():
        for i in range(23):
            c = world.open(
                now=t0 + timedelta(days=i),
                severity=Severity.CRITICAL if i % 5 == 0 else Severity.LOW,
                contact_name=f"客户{i:02d}",
            )
            ids.append(c.id)
        db.session.commit()
    sign_in(client, "staff-w@example.com")
    assert "5 complaints" in client.get("/complaints/?severity=critical").get_data(as_text=True)
    seen = []
    url = "/complaints/"
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += [int(x) for x in re.findall(r'/complaints/(\d+)"', html)]
        nxt = re.search(r'href="([^"]*before=\d+[^"]*)" rel="next"', html)
        url = nxt.group(1).replace("&amp;", "&") if nxt else None
    assert seen == sorted(ids, reverse=True)  # every complaint once, newest first (page size 10)
    html = client.get("/complaints/?q=客户07").get_data(as_text=True)
    assert f'/complaints/{ids[7]}"' in html and f'/complaints/{ids[8]}"' not in html
    html = client.get("/complaints/?from=2026-01-10&to=2026-01-11").get_data(as_text=True)
    found = {int(x) for x in re.findall(r'/complaints/(\d+)"', html)}
    assert found == {ids[5], ids[6]}
    html = client.get("/complaints/?overdue=1", headers=EN).get_data(as_text=True)
    assert "Overdue" in html  # all are long overdue by today's clock


def test_list_filters_by_the_customer_code(app, client, http_world):
    world = http_world
    with app.app_context():
        mine = Customer(code="C00932", name="上海万通商贸公司")
        other = Customer(code="C00933", name="上海万通科技公司")
        db.session.add_all([mine, other])
        db.session.flush()
        theirs = [world.open(customer_id=mine.id).id for _ in range(2)]
        elsewhere = world.open(customer_id=other.id).id
        nobody = world.open().id
        db.session.commit()
        mine_id = mine.id
    sign_in(client, "staff-w@example.com")
    for typed in ("C00932", " c00932 "):
        html = client.get("/complaints/", query_string={"customer": typed}, headers=EN)
        html = html.get_data(as_text=True)
        found = {int(x) for x in re.findall(r'/complaints/(\d+)"', html)}
        assert found == set(theirs), typed
        assert "2 complaints" in html
        assert f'Complaints of <a href="/customers/{mine_id}">上海万通商贸公司</a>' in html
    html = client.get("/complaints/?customer=C0093", headers=EN).get_data(as_text=True)
    assert "No customer has the code “C0093”." in html
    assert 'aria-invalid="true" aria-describedby="customer-error"' in html
    assert not re.findall(r'/complaints/(\d+)"', html)  # no near match, and not everything
    page = client.get(f"/customers/{mine_id}", headers=EN).get_data(as_text=True)
    link = re.search(r'id="customer-complaints" href="([^"]+)"', page).group(1)
    assert link == "/complaints/?customer=C00932"
    hostile = client.get("/complaints/", query_string={"customer": '"><script>x</script>'})
    assert hostile.status_code == 200
    assert "<script>x</script>" not in hostile.get_data(as_text=True)
    export = client.get("/complaints/export.csv?customer=C00933").get_data(as_text=True)
    assert export.count("\n") == 2  # the header and the one complaint of C00933
    assert {elsewhere, nobody}.isdisjoint(theirs)


def test_staff_log_a_phone_complaint_with_the_channel(app, client, http_world):
    world = http_world
    sign_in(client, "staff-w@example.com")
    response = post_form(
        client,
        "/complaints/new",
        {
            "channel": "phone",
            "severity": "high",
            "contact_name": "赵先生",
            "contact_phone": "13900000000",
            "category_id": str(world.category_id),
            "description": "电话投诉：送货员态度差",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        complaint = db.session.scalar(sa.select(Complaint))
        assert complaint.channel.value == "phone" and complaint.severity is Severity.HIGH
        created = db.session.scalar(sa.select(ComplaintEvent))
        assert created.actor_kind.value == "staff"


def test_customers_cannot_use_staff_services(world):
    complaint = world.open()
    import pytest

    from survey_app.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.add_note(complaint, Actor.customer(), "hi", to_customer=True)


def test_opening_an_overdue_complaint_escalates_it(app, client, http_world):
    old = datetime.now(UTC) - timedelta(days=3)
    complaint_id = _new(app, http_world, now=old, severity=Severity.CRITICAL)
    sign_in(client, "staff-w@example.com")
    html = client.get(f"/complaints/{complaint_id}").get_data(as_text=True)
    assert _get(app, complaint_id).state is State.ESCALATED
    assert "Deadline passed without the next step." in html


def test_text_search_looks_in_every_searched_column(app, world):
    """A search finds a complaint by any searched column (ignoring case), and on PostgreSQL
    it can do so through the column's trigram index: with sequential scans switched off, the
    plan of the search's own SQL (captured as it runs) reads every one of those indexes."""
    values = {
        "contact_name": "Zhao Xiaoming",
        "contact_email": "zhao.xm@example.cn",
        "contact_phone": "13912345678",
        "order_ref": "SO-77321",
        "description": "The kettle leaks at the seam.",
    }
    ids = {column: world.open(**{column: value}).id for column, value in values.items()}
    db.session.commit()
    now = utcnow()
    for column, needle in [
        ("contact_name", "xiaoming"),
        ("contact_email", "ZHAO.XM@"),
        ("contact_phone", "1234567"),
        ("order_ref", "so-7732"),
        ("description", "LEAKS AT"),
    ]:
        rows, _cursor = queries.complaint_page(
            queries.Filters(q=needle), now, before_id=None, per_page=10
        )
        assert [row.id for row in rows] == [ids[column]], column
    if db.engine.dialect.name != "postgresql":
        return
    captured = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        assert queries.count_matching(queries.Filters(q="so-7732"), now) == 1
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    statement, parameters = captured[-1]
    connection = db.session.connection()
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    plan = "\n".join(
        line for (line,) in connection.exec_driver_sql("EXPLAIN " + statement, parameters)
    )
    for column in SEARCHED_COLUMNS:
        assert f"ix_complaints_search_{column}" in plan, plan
