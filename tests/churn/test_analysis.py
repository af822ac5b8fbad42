"""The manager's analysis page, its CSV exports, the at-risk list and churn by outcome label,
checked against figures worked out by hand for the scenario."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date

import pytest
from scipy import stats

from survey_app.churn import queries, services
from survey_app.extensions import db
from survey_app.taxonomy.services import by_code
from tests.churn.scenario import AS_OF, build

EN = {"Accept-Language": "en"}


@pytest.fixture
def ids(app, runner):
    with app.app_context():
        ids = build(segment_of={"K1": "零售"})
    assert runner.invoke(args=["churn", "recompute", "--as-of", AS_OF.isoformat()]).exit_code == 0
    return ids


def _csv(client, export, group="segment"):
    text = client.get(f"/churn/analysis?group={group}&export={export}", headers=EN).get_data(
        as_text=True
    )
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))[1:]


def test_monthly_churn_matches_the_hand_count(ids, login):
    # Spells: W1 lost 28 Sep 2025, back 1 Jan 2026; K1 lost 15 Oct 2025 (contract cancelled);
    # S1 lost 27 Dec 2025. Everyone first bought on 1 Jan 2025.
    expected = {
        "2025-07-01": (5, 0, 0),
        "2025-08-01": (5, 0, 0),
        "2025-09-01": (5, 1, 0),
        "2025-10-01": (4, 1, 0),
        "2025-11-01": (3, 0, 0),
        "2025-12-01": (3, 1, 0),
        "2026-01-01": (3, 0, 1),  # W1 is back on the 1st: active at the start, counted as won back
        "2026-02-01": (3, 0, 0),
        "2026-06-01": (3, 0, 0),
    }
    rows = _csv(login("manager"), "monthly")
    table = {(r[0], r[1]): r for r in rows}
    for month, (at_start, lost, back) in expected.items():
        row = table[("all", month)]
        assert (int(row[2]), int(row[3]), int(row[4])) == (at_start, lost, back)
        assert float(row[5]) == pytest.approx(lost / at_start)
        assert float(row[6]) == pytest.approx(1 - lost / at_start)
    assert ("零售", "2025-10-01") in table


def test_only_complete_months_are_shown(app, runner, login):
    """As of 29 December, December has two days to go: the months end with November, and S1's
    loss of 27 December is in neither the monthly table nor the value lost. As of the 31st,
    December is complete and both show it."""
    with app.app_context():
        build()
    client = login("manager")

    def shown(as_of: str) -> tuple[list, list]:
        assert runner.invoke(args=["churn", "recompute", "--as-of", as_of]).exit_code == 0
        monthly = [r[1] for r in _csv(client, "monthly") if r[0] == "all"]
        value = [r[0] for r in _csv(client, "value_lost")]
        return monthly, value

    monthly, value = shown("2025-12-29")
    assert monthly[0] == "2024-12-01" and monthly[-1] == "2025-11-01" and len(monthly) == 12
    assert value == ["2025-09", "2025-10"]  # W1's and K1's losses; S1's is in December
    monthly, value = shown("2025-12-31")
    assert monthly[0] == "2025-01-01" and monthly[-1] == "2025-12-01" and len(monthly) == 12
    assert value == ["2025-09", "2025-10", "2025-12"]


def test_kaplan_meier_on_the_scenario_by_hand(ids, login):
    # first losses after 270 (W1), 287 (K1) and 360 days (S1); R1 and A1 censored at 545 days
    rows = [r for r in _csv(login("manager"), "survival") if r[0] == "零售"]
    survival = {float(r[1]): float(r[4]) for r in rows}
    assert survival[270.0] == pytest.approx(4 / 5)
    assert survival[287.0] == pytest.approx(4 / 5 * 3 / 4)
    assert survival[360.0] == pytest.approx(4 / 5 * 3 / 4 * 2 / 3)


def test_page_shows_every_section_with_tables(ids, login):
    body = login("manager").get("/churn/analysis?group=segment", headers=EN).get_data(as_text=True)
    for heading in (
        "Churn and retention per month",
        "Cohort retention",
        "Kaplan-Meier",
        "Why customers leave",
        "Value lost and won back",
    ):
        assert heading in body
    # no reason recorded yet: four charts, and the register is pointed at
    assert body.count('class="chart-data"') == 4
    assert "3 losses have no reason recorded yet" in body
    assert "<script>" not in body.replace('<script type="application/json"', "")


def test_reasons_pareto_and_value_lost(app, ids, login, make_user):
    user_id, _ = make_user("staff")
    with app.app_context():
        from survey_app.accounts.models import User
        from survey_app.churn.models import LossRecord

        staff = db.session.get(User, user_id)
        records = {r.customer.code: r for r in db.session.query(LossRecord)}
        price, service = by_code("price").id, by_code("service").id
        services.record_reasons(
            staff, records["S1"], reason_ids=[price, service], learnt_how="interview", note=""
        )
        services.record_reasons(
            staff, records["K1"], reason_ids=[price], learnt_how="staff_judgement", note=""
        )
        db.session.commit()
    client = login("manager")
    reasons = _csv(client, "reasons")
    assert reasons == [["Price", "2"], ["Service attitude", "1"], ["Not recorded yet", "1"]]
    value = {r[0]: r for r in _csv(client, "value_lost")}
    assert value["2025-09"][1] == "1" and value["2025-09"][4] == "1"  # W1, won back
    assert value["2025-10"][1] == "1" and value["2025-12"][1] == "1"
    assert float(value["2025-09"][5]) == 1.0


def test_analysis_before_any_recompute_says_so(login):
    body = login("manager").get("/churn/analysis", headers=EN).get_data(as_text=True)
    assert "Nothing to analyse yet" in body


def test_unknown_export_is_404(ids, login):
    assert login("manager").get("/churn/analysis?export=secrets").status_code == 404


def test_at_risk_list_ranks_customers_not_lost(ids, login):
    client = login("staff")
    body = client.get("/churn/at-risk", headers=EN).get_data(as_text=True)
    assert "客户R1" in body and "客户A1" in body and "客户W1" in body
    assert "客户S1" not in body and "客户K1" not in body
    assert "Too little history for an out-of-time check" in body
    # all three are scored; only A1 has the status "at risk", which links to those customers
    status = re.search(
        r'id="status-at-risk"><span class="figure">(\d+)</span><a href="([^"]+)"', body
    )
    assert status and status.group(1) == "1"
    listed = client.get(html.unescape(status.group(2)), headers=EN).get_data(as_text=True)
    assert "客户A1" in listed and "客户R1" not in listed and "客户W1" not in listed
    rows = list(
        csv.reader(
            io.StringIO(
                client.get("/churn/at-risk?export=csv", headers=EN)
                .get_data(as_text=True)
                .lstrip("\ufeff")
            )
        )
    )[1:]
    values = [float(r[6]) for r in rows]
    assert values == sorted(values, reverse=True)
    a1 = next(r for r in rows if r[0] == "A1")
    assert "long gap" in a1[7]  # 61 days of a 90-day threshold


def test_churn_by_label_with_wilson_intervals(app, ids):
    labels = {ids["S1"]: "unresolved", ids["K1"]: "unresolved", ids["R1"]: "unresolved"}
    labels |= {ids["W1"]: "resolved quickly", ids["A1"]: "resolved quickly"}
    with app.app_context():
        rows = {r["label"]: r for r in queries.churn_by_label(labels)}
    assert (rows["unresolved"]["customers"], rows["unresolved"]["lost"]) == (3, 2)
    assert rows["resolved quickly"]["rate"] == 0
    ci = stats.binomtest(2, 3).proportion_ci(method="wilson")
    assert rows["unresolved"]["low"] == pytest.approx(ci.low)
    assert rows["unresolved"]["high"] == pytest.approx(ci.high)


def test_status_counts_on_the_register(ids, login):
    body = login("staff").get("/churn/", headers=EN).get_data(as_text=True)
    assert "Statuses as of Jun 30, 2026" in body


def test_contract_ending_soon_is_a_reason_shown(app, runner, login):
    from tests.customers.factories import add_customer, every

    with app.app_context():
        add_customer(
            "C9",
            [(d, 500) for d in every(30, date(2025, 7, 1), date(2026, 6, 20))],
            segment="大客户",
            contracts=[(date(2025, 7, 1), date(2026, 7, 31), None)],
        )
    assert runner.invoke(args=["churn", "recompute", "--as-of", AS_OF.isoformat()]).exit_code == 0
    body = login("staff").get("/churn/at-risk", headers=EN).get_data(as_text=True)
    assert "客户C9" in body and "contract ends soon without a renewal" in body


def test_figures_follow_a_recompute(app, ids, runner, login):
    """The page keeps per-customer figures between recomputes; a recompute refreshes them."""
    from decimal import Decimal

    from survey_app.customers.models import Transaction

    client = login("manager")

    def june_back():
        rows = {(r[0], r[1]): r for r in _csv(client, "monthly")}
        return int(rows[("all", "2026-06-01")][4])

    assert june_back() == 0
    with app.app_context():
        db.session.add(
            Transaction(
                customer_id=ids["S1"],
                occurred_on=date(2026, 6, 10),
                amount=Decimal("80"),
                margin=Decimal("20"),
            )
        )
        db.session.commit()
    assert june_back() == 0  # not recomputed yet
    assert runner.invoke(args=["churn", "recompute", "--as-of", AS_OF.isoformat()]).exit_code == 0
    assert june_back() == 1


def test_churn_by_label_counts_losses_after_a_date(app, ids):
    # W1 was lost on 28 Sep 2025 and came back; S1 was lost on 27 Dec 2025 and still is
    labels = {
        ids["W1"]: ("complained", date(2025, 9, 1)),  # lost after: churned (came back since)
        ids["S1"]: ("complained", date(2026, 1, 1)),  # its loss began before: not after this
        ids["R1"]: ("complained", date(2025, 9, 1)),
    }
    with app.app_context():
        (row,) = queries.churn_by_label(labels)
    assert (row["label"], row["customers"], row["lost"]) == ("complained", 3, 1)


def test_linked_analyses_follow_new_complaints_at_the_next_recompute(
    app, ids, login, make_user, runner
):
    """The page reads figures stored by the recompute (it computes nothing itself), so a new
    complaint shows in the linked tables once statuses are recomputed (nightly, after an import
    or with the button)."""
    from survey_app.accounts.models import User
    from survey_app.complaints import services as complaint_services
    from survey_app.complaints.models import Channel

    staff_id, _email = make_user("staff")
    client = login("manager")
    before = client.get("/churn/analysis", headers=EN).get_data(as_text=True)
    assert "No customer with a status has complained yet." in before
    with app.app_context():
        actor = complaint_services.Actor.of(db.session.get(User, staff_id))
        complaint_services.open_complaint(
            actor,
            channel=Channel.PHONE,
            category_id=by_code("quality").id,
            contact_name="S1",
            contact_phone="13800000001",
            description="Broken on arrival.",
            customer_id=ids["S1"],
        )
        db.session.commit()
    unchanged = client.get("/churn/analysis", headers=EN).get_data(as_text=True)
    assert "No customer with a status has complained yet." in unchanged
    assert runner.invoke(args=["churn", "recompute", "--as-of", AS_OF.isoformat()]).exit_code == 0
    after = client.get("/churn/analysis", headers=EN).get_data(as_text=True)
    assert "No customer with a status has complained yet." not in after
    assert "Complaint unresolved" in after
