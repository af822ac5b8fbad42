"""The signed-in home page: one card per domain for the roles that may open the page behind it,
each figure equal to what the page it links to shows (``survey_app.core.overview``)."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from survey_app.churn import queries as churn_queries
from survey_app.churn.models import LossRecord
from survey_app.complaints import queries as complaint_queries
from survey_app.complaints.models import Complaint, State
from survey_app.complaints.queries import Filters
from survey_app.core import overview
from survey_app.db_types import utcnow
from survey_app.extensions import db
from survey_app.index.models import IndexValue
from survey_app.taxonomy.models import Reason
from tests.churn import scenario
from tests.complaints.conftest import World
from tests.conftest import sign_in

EN = {"Accept-Language": "en"}
CARDS = (
    "overview-index",
    "overview-complaints",
    "overview-losses",
    "overview-followups",
    "overview-admin",
)
#: which cards each role sees (the pages behind them: tests/test_access.py)
SEEN = {
    "anonymous": set(),
    "staff": {"overview-complaints", "overview-losses", "overview-followups"},
    "manager": {"overview-index", "overview-complaints", "overview-losses", "overview-followups"},
    "admin": set(CARDS),
}
ANALYSES = ("/index/", "/complaints/analysis", "/churn/analysis")


def _figure(body: str, element_id: str) -> tuple[str, str]:
    """(link, number) of the figure with ``element_id`` on the home page."""
    match = re.search(
        rf'id="{element_id}" href="([^"]+)"[^>]*><span class="figure">([^<]+)</span>', body
    )
    assert match, f"no figure {element_id}"
    return html.unescape(match.group(1)), match.group(2)


def _hrefs(body: str) -> list[str]:
    main = body[body.index('<main id="main"') : body.index("</main>")]
    return [html.unescape(h) for h in re.findall(r'href="(/[^"]*)"', main)]


def _index_value(period: str, composite: float | None, kind="all", value="", **fields):
    if "Q" in period:
        granularity, start = "quarter", date(int(period[:4]), 3 * int(period[-1]) - 2, 1)
    else:
        granularity, start = "month", date(int(period[:4]), int(period[5:]), 1)
    row = dict(
        period=period,
        granularity=granularity,
        period_start=start,
        period_end=start + timedelta(days=27),
        group_kind=kind,
        group_value=value,
        satisfaction=60.0,
        complaint_handling=80.0,
        retention=95.0,
        composite=composite,
        weight_s=0.6,
        weight_c=0.2,
        weight_r=0.2,
        computed_at=datetime(2026, 11, 2, tzinfo=UTC),
    )
    row.update(fields)
    return IndexValue(**row)


# --- who sees what ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ("anonymous", "staff", "manager", "admin"))
def test_each_role_sees_its_cards_and_only_links_it_may_open(client, make_user, role):
    if role != "anonymous":
        _id, email = make_user(role)
        assert sign_in(client, email).status_code == 302
    body = client.get("/", headers=EN).get_data(as_text=True)
    shown = {card for card in CARDS if f'id="{card}"' in body}
    assert shown == SEEN[role]
    for url in ANALYSES:
        assert (f'href="{url}"' in body) == (role in ("manager", "admin")), url
    if role == "anonymous":
        assert 'href="/complaint"' in body and "Hello," not in body
        return
    assert "Hello," in body
    for url in _hrefs(body):
        assert client.get(url).status_code == 200, f"{role} is shown {url} but may not open it"


def test_a_new_installation_says_there_are_no_customers_yet(login):
    body = login("staff").get("/", headers=EN).get_data(as_text=True)
    assert "No customers yet" in body
    assert '<span class="figure">0</span>customers' in body


def test_the_totals_count_customers_transactions_and_revenue(app, login):
    from tests.customers.factories import add_customer

    with app.app_context():
        add_customer("C1", [(date(2026, 1, 5), 1234.4), (date(2026, 2, 5), 1000)])
        add_customer("C2", [(date(2026, 1, 9), 998_765.7)])
    body = login("staff").get("/", headers=EN).get_data(as_text=True)
    assert "No customers yet" not in body
    assert '<span class="figure">2</span>customers' in body
    assert '<span class="figure">3</span>transactions' in body
    assert '<span class="figure">¥1,001,000</span>revenue on record' in body


# --- complaints ------------------------------------------------------------------------------


@pytest.fixture
def complaints(app):
    """Open complaints: two overdue (one unassigned, one the staff user's), one due later and
    the manager's, one paused (no deadline) and unassigned; a closed one whose stale deadline is
    past. Returns the world and the codes by name."""
    now = utcnow()
    with app.app_context():
        w = World()
        codes = {}
        plan = {
            # name: (state, assignee, due_at)
            "late_unassigned": (State.RECEIVED, None, now - timedelta(days=3)),
            "late_mine": (State.INVESTIGATING, "staff", now - timedelta(hours=5)),
            "later": (State.ESCALATED, "manager", now + timedelta(days=2)),
            "paused": (State.RESOLUTION_PROPOSED, None, None),
            "closed": (State.CLOSED, "staff", now - timedelta(days=9)),
        }
        for name, (state, assignee, due_at) in plan.items():
            complaint = w.complaint_in(state)
            complaint.assignee_id = w.user_ids[assignee] if assignee else None
            complaint.due_at = due_at
            codes[name] = complaint.code
        db.session.commit()
    return w, codes


def test_complaint_card_counts_open_overdue_unassigned_and_mine(app, complaints):
    w, codes = complaints
    with app.app_context():
        card = overview.complaint_card(w.user_ids["staff"], utcnow(), "en")
        other = overview.complaint_card(w.user_ids["manager"], utcnow(), "en")
    assert card.counts == {"open": 4, "overdue": 2, "unassigned": 2, "mine": 1}
    assert other.counts["mine"] == 1
    assert [c.code for c in card.most_overdue] == [codes["late_unassigned"], codes["late_mine"]]
    first = card.most_overdue[0]
    assert timedelta(days=3) <= first.overdue_for < timedelta(days=3, minutes=5)
    assert first.category == "Delivery"


def test_each_complaint_figure_equals_the_total_of_the_list_it_links_to(app, client, complaints):
    w, _codes = complaints
    assert sign_in(client, "staff-w@example.com").status_code == 302
    body = client.get("/", headers=EN).get_data(as_text=True)
    expected = {"open": 4, "overdue": 2, "unassigned": 2, "mine": 1}
    for name, count in expected.items():
        link, shown = _figure(body, f"complaints-{name}")
        assert shown == str(count), name
        listed = client.get(link, headers=EN).get_data(as_text=True)
        total = re.search(r"(\d+) complaints?\b", listed)
        assert total and int(total.group(1)) == count, (name, link)
    assert f"assignee={w.user_ids['staff']}" in _figure(body, "complaints-mine")[0]


def test_count_each_gives_what_count_matching_gives_for_each_filter(app, complaints):
    """Shared conditions (WHERE) and per-filter ones (CASE) split any way give the same."""
    w, _codes = complaints
    staff = w.user_ids["staff"]
    sets = [
        {"a": Filters(open_only=True), "b": Filters(open_only=True, overdue=True)},
        {"a": Filters(overdue=True), "b": Filters(assignee_id=0), "c": Filters()},
        {"a": Filters(state=State.CLOSED, assignee_id=staff), "b": Filters(q="李娜")},
        {"only": Filters(open_only=True, assignee_id=staff, overdue=True)},
    ]
    now = utcnow()
    with app.app_context():
        for filters in sets:
            expected = {n: complaint_queries.count_matching(f, now) for n, f in filters.items()}
            assert complaint_queries.count_each(filters, now) == expected
        assert complaint_queries.count_matching(Filters(), now) == 5


def test_most_overdue_lists_five_longest_overdue_first_with_links(app, client, complaints):
    w, codes = complaints
    now = utcnow()
    with app.app_context():
        for hours in (30, 40, 50, 60):
            complaint = w.complaint_in(State.ACKNOWLEDGED)
            complaint.due_at = now - timedelta(hours=hours)
            codes[f"h{hours}"] = complaint.code
        db.session.commit()
        ids = dict(db.session.execute(sa.select(Complaint.code, Complaint.id)).tuples().all())
    assert sign_in(client, "staff-w@example.com").status_code == 302
    body = client.get("/", headers=EN).get_data(as_text=True)
    listed = re.findall(r'<a href="/complaints/(\d+)">(\w+)</a>', body)
    order = ["late_unassigned", "h60", "h50", "h40", "h30"]  # late_mine (5 hours) is sixth
    assert listed == [(str(ids[codes[n]]), codes[n]) for n in order]
    assert "3 days overdue" in body


def test_nothing_overdue_says_so(app, login):
    now = utcnow()
    with app.app_context():
        w = World()
        complaint = w.complaint_in(State.RECEIVED)
        complaint.due_at = now + timedelta(hours=1)
        db.session.commit()
    body = login("staff").get("/", headers=EN).get_data(as_text=True)
    assert _figure(body, "complaints-overdue")[1] == "0"
    assert _figure(body, "complaints-open")[1] == "1"
    assert "Nothing overdue." in body


def test_complaint_text_is_escaped(app, login):
    with app.app_context():
        w = World()
        reason = Reason(
            code="xss_test",
            name_zh="<script>alert(1)</script>",
            name_en="<script>alert(1)</script>",
            for_complaints=True,
            for_losses=False,
            position=99,
        )
        db.session.add(reason)
        db.session.flush()
        complaint = w.complaint_in(
            State.RECEIVED, category_id=reason.id, contact_name="<script>x</script>"
        )
        complaint.due_at = utcnow() - timedelta(days=1)
        db.session.commit()
    body = login("staff").get("/", headers=EN).get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<script>alert" not in body and "<script>x" not in body


# --- satisfaction index ------------------------------------------------------------------------


@pytest.fixture
def index_months(app):
    """Months 2026-09 (70.0) and 2026-10 (72.5) for all customers, and rows that must not be
    picked: a later segment month, a tier month, and a quarter (whose label sorts last)."""
    with app.app_context():
        db.session.add_all(
            [
                _index_value("2026-09", 70.0),
                _index_value("2026-10", 72.5, satisfaction=66.25, retention=97.0),
                _index_value("2026-11", 10.0, kind="segment", value="零售"),
                _index_value("2026-10", 11.0, kind="tier", value="key"),
                _index_value("2026-Q4", 99.0),
            ]
        )
        db.session.commit()


def test_index_card_shows_the_latest_month_and_its_change(app, index_months):
    with app.app_context():
        card = overview.index_card()
    assert (card.period, card.composite, card.previous_period) == ("2026-10", 72.5, "2026-09")
    assert card.change == 2.5
    assert (card.satisfaction, card.complaint_handling, card.retention) == (66.25, 80.0, 97.0)


def test_index_card_on_the_page_links_to_the_report_of_that_month(app, login, index_months):
    client = login("manager")
    body = client.get("/", headers=EN).get_data(as_text=True)
    link, shown = _figure(body, "index-composite")
    assert shown == "72.5"
    assert "+2.5 on 2026-09" in body
    assert '<span class="figure">66.2</span>' in body  # S, one decimal
    report = client.get(link, headers=EN).get_data(as_text=True)
    assert '<option value="2026-10" selected>' in report
    assert '<option value="month" selected>' in report


def test_a_fall_of_the_index_is_signed(app):
    with app.app_context():
        db.session.add_all([_index_value("2026-01", 72.5), _index_value("2026-02", 70.04)])
        db.session.commit()
        assert overview.index_card().change == -2.5


def test_no_change_is_shown_when_the_previous_month_has_no_composite(app, login):
    with app.app_context():
        db.session.add_all([_index_value("2026-01", None), _index_value("2026-02", 70.0)])
        db.session.commit()
        card = overview.index_card()
    assert (card.previous_period, card.change) == ("2026-01", None)
    body = login("manager").get("/", headers=EN).get_data(as_text=True)
    assert "— on 2026-01" in body


def test_index_card_without_a_previous_month(app, login):
    with app.app_context():
        db.session.add(_index_value("2026-10", 72.5))
        db.session.commit()
        card = overview.index_card()
    assert (card.previous_period, card.change) == (None, None)
    body = login("manager").get("/", headers=EN).get_data(as_text=True)
    assert "no previous month" in body


def test_index_card_before_any_value_is_computed(app, login):
    with app.app_context():
        db.session.add(_index_value("2026-Q3", 80.0))  # quarters alone: no month yet
        db.session.commit()
        assert overview.index_card().period is None
    body = login("manager").get("/", headers=EN).get_data(as_text=True)
    assert 'id="overview-index"' in body and 'id="index-composite"' not in body
    assert "No monthly index value has been computed yet" in body
    assert 'href="/index/"' in body


# --- lost customers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "first", "last"),
    [
        (date(2025, 12, 31), date(2025, 12, 1), date(2025, 12, 31)),  # its last day: complete
        (date(2025, 12, 30), date(2025, 11, 1), date(2025, 11, 30)),
        (date(2026, 1, 1), date(2025, 12, 1), date(2025, 12, 31)),
        (date(2024, 2, 29), date(2024, 2, 1), date(2024, 2, 29)),
        (date(2024, 2, 28), date(2024, 1, 1), date(2024, 1, 31)),
    ],
)
def test_last_complete_month(as_of, first, last):
    assert overview.last_complete_month(as_of) == (first, last)


def _recompute(app, runner, as_of: date) -> dict[str, int]:
    with app.app_context():
        ids = scenario.build()
    result = runner.invoke(args=["churn", "recompute", "--as-of", as_of.isoformat()])
    assert result.exit_code == 0, result.output
    return ids


def test_loss_card_counts_the_last_complete_month(app, runner):
    ids = _recompute(app, runner, date(2025, 12, 31))
    with app.app_context():
        card = overview.loss_card()
        s1 = db.session.scalars(
            sa.select(LossRecord).where(LossRecord.customer_id == ids["S1"])
        ).one()
        counts = churn_queries.status_counts()
    assert s1.lost_on == scenario.lost_on("S1") == date(2025, 12, 27)
    assert s1.clv_lost > 0
    assert (card.as_of, card.month) == (date(2025, 12, 31), "2025-12")
    assert (card.losses, card.clv_lost) == (1, float(s1.clv_lost))  # K1 and W1 left earlier
    assert card.at_risk == counts["at_risk"]


def test_month_of_losses_links_to_those_losses_in_the_register(app, runner, login):
    ids = _recompute(app, runner, date(2025, 12, 31))
    client = login("staff")
    body = client.get("/", headers=EN).get_data(as_text=True)
    link, shown = _figure(body, "losses-month")
    assert shown == "1"
    register = client.get(link, headers=EN).get_data(as_text=True)
    assert re.search(r"<strong>1 loss</strong>", register)
    assert "客户S1" in register  # lost on 27 Dec 2025
    assert "客户K1" not in register  # lost in October
    link, shown = _figure(body, "losses-clv")
    with app.app_context():
        s1 = db.session.scalars(
            sa.select(LossRecord).where(LossRecord.customer_id == ids["S1"])
        ).one()
    assert shown == f"¥{s1.clv_lost:,.0f}"
    by_value = client.get(link, headers=EN).get_data(as_text=True)
    assert f"CLV lost <strong>{s1.clv_lost:,.0f}</strong>" in by_value


def test_an_incomplete_month_is_not_counted(app, runner):
    _recompute(app, runner, date(2025, 12, 30))
    with app.app_context():
        card = overview.loss_card()
    assert (card.month, card.losses, card.clv_lost) == ("2025-11", 0, 0.0)


def test_loss_card_figures_equal_the_pages_they_link_to(app, runner, login):
    _recompute(app, runner, scenario.AS_OF)
    client = login("staff")
    body = client.get("/", headers=EN).get_data(as_text=True)
    link, shown = _figure(body, "losses-at-risk")
    with app.app_context():
        assert int(shown) == churn_queries.status_counts()["at_risk"] >= 1
    listed = client.get(link, headers=EN).get_data(as_text=True)
    assert re.search(rf"\b{shown} customers?\b", listed)
    link, shown = _figure(body, "losses-value-at-risk")
    at_risk_page = client.get(link, headers=EN).get_data(as_text=True)
    assert f'<span class="figure">{shown}</span>Expected value at risk' in at_risk_page
    assert f"Statuses as of {scenario.AS_OF:%b} {scenario.AS_OF.day}, {scenario.AS_OF.year}" in body


def test_loss_card_before_statuses_are_computed(app, login):
    with app.app_context():
        assert overview.loss_card().as_of is None
    body = login("staff").get("/", headers=EN).get_data(as_text=True)
    assert 'id="overview-losses"' in body and 'id="losses-month"' not in body
    assert "Not computed yet" in body


# --- language, cost ----------------------------------------------------------------------------


def test_the_chinese_page_renders_every_card(app, login, index_months, complaints):
    body = login("admin").get("/", headers={"Accept-Language": "zh-CN"})
    assert body.status_code == 200
    text = body.get_data(as_text=True)
    assert '<html lang="zh' in text
    assert {card for card in CARDS if f'id="{card}"' in text} == set(CARDS)
    assert _figure(text, "index-composite")[1] == "72.5"
    assert _figure(text, "complaints-open")[1] == "4"
    assert "配送" in text  # the category in the page's language (the default list's name)


def test_the_number_of_queries_does_not_grow_with_the_data(app, login, complaints):
    from sqlalchemy import event

    client = login("admin")

    def statements() -> int:
        seen = []
        with app.app_context():
            engine = db.engine

        def count(*_args):
            seen.append(1)

        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get("/").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    few = statements()
    w, _codes = complaints
    with app.app_context():
        for _n in range(8):
            w.complaint_in(State.RECEIVED).due_at = utcnow() - timedelta(days=1)
        db.session.commit()
    assert statements() == few


# --- detractor follow-up ---------------------------------------------------------------------


def test_followup_figures_equal_the_tabs_of_the_list_they_link_to(app, login, make_user):
    """Three detractors of the last 90 days (one called back, one with a case), one of 100 days
    ago: 1 waiting, 2 followed up; each figure equals its list's total."""
    from survey_app.accounts.models import User
    from survey_app.complaints import services as complaint_services
    from survey_app.complaints.services import Actor
    from survey_app.customers.models import Customer
    from survey_app.surveys import services as survey_services
    from survey_app.surveys.demo import bulk_responses
    from survey_app.surveys.models import Channel, Response

    staff_id, _email = make_user("staff")
    now = utcnow()
    with app.app_context():
        pulse = survey_services.create_from_template(None, "pulse")
        survey_services.change_status(None, pulse, "publish")
        customers = [
            Customer(code=f"F{n}", name=f"回访{n}", phone=f"1390000{n:04d}") for n in range(4)
        ]
        db.session.add_all(customers)
        db.session.flush()
        bulk_responses(
            pulse,
            [
                {
                    "submitted_at": now - timedelta(days=ago),
                    "customer_id": c.id,
                    "channel": Channel.INVITATION,
                    "answers": {"csat": 1, "nps": 2},
                }
                for c, ago in zip(customers, (1, 2, 3, 100), strict=True)
            ],
        )
        ids = sorted(db.session.scalars(sa.select(Response.id)))
        staff = db.session.get(User, staff_id)
        survey_services.record_followup(staff, ids[0], "已回电")
        complaint_services.open_complaint_from_survey(Actor.of(staff), ids[1])
        db.session.commit()
    client = login("staff")
    body = client.get("/", headers=EN).get_data(as_text=True)
    for element_id, expected in (("followups-waiting", "1"), ("followups-done", "2")):
        link, number = _figure(body, element_id)
        assert number == expected, element_id
        listed = client.get(link, headers=EN).get_data(as_text=True)
        assert re.search(rf"\b{expected} responses? (waiting|followed up)", listed), link
