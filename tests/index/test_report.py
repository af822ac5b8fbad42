"""The composite index on seeded demo data: every number of the report traced to a value computed
here independently, from the raw tables with pandas (and the plspm package for the model)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from survey_app.demo import seed_demo
from survey_app.extensions import db
from survey_app.index import services
from survey_app.index.models import IndexValue, WeightChange
from tests.analytics.reference import plspm_fit
from tests.conftest import post_form, sign_in

AS_OF = date(2026, 10, 15)
QUARTER = ("2026-Q2", date(2026, 4, 1), date(2026, 6, 30))
MONTH = ("2026-05", date(2026, 5, 1), date(2026, 5, 31))
ECSI_PATHS = [
    ("image", "expectations"),
    ("image", "satisfaction"),
    ("image", "loyalty"),
    ("expectations", "quality"),
    ("expectations", "value"),
    ("expectations", "satisfaction"),
    ("quality", "value"),
    ("quality", "satisfaction"),
    ("value", "satisfaction"),
    ("satisfaction", "loyalty"),
]


def frame(sql: str, **params) -> pd.DataFrame:
    return pd.read_sql(sa.text(sql), db.session.connection(), params=params)


def utc(day: date) -> str:
    return day.isoformat()


def answers(start: date, end: date) -> pd.DataFrame:
    """The ECSI questionnaire's construct-tagged answers of the period, one row per answer."""
    raw = frame(
        """
        SELECT r.id AS rid, r.customer_id, r.segment, r.submitted_at, q.code AS qcode,
               m.code AS mcode, COALESCE(m.construct, q.construct) AS construct,
               a.value_num, q.scale_min, q.scale_max
        FROM survey_responses r
        JOIN questionnaires qq ON qq.id = r.questionnaire_id
        JOIN survey_answers a ON a.response_id = r.id
        JOIN survey_questions q ON q.id = a.question_id
        LEFT JOIN survey_matrix_items m ON m.id = a.item_id
        WHERE qq.template = 'ecsi' AND r.submitted_at IS NOT NULL
          AND a.value_num IS NOT NULL AND COALESCE(m.construct, q.construct) IS NOT NULL
        """
    )
    raw["submitted_at"] = pd.to_datetime(raw["submitted_at"], utc=True, format="mixed")
    day = raw["submitted_at"].dt.date
    raw = raw[(day >= start) & (day <= end)].copy()
    raw["item"] = np.where(raw["mcode"].isna(), raw["qcode"], raw["qcode"] + "." + raw["mcode"])
    return raw


def fallback_s(raw: pd.DataFrame) -> pd.Series:
    sat = raw[raw["construct"] == "satisfaction"]
    scaled = 100 * (sat["value_num"] - sat["scale_min"]) / (sat["scale_max"] - sat["scale_min"])
    per_item = sat.assign(v=scaled).pivot_table(index="rid", columns="item", values="v")
    return per_item.mean(axis=1)


def model_s(raw: pd.DataFrame):
    """S by the ACSI formula on plspm's outer weights, and the drivers' total effects."""
    wide = raw.pivot_table(index="rid", columns="item", values="value_num").dropna()
    items = raw.drop_duplicates("item").set_index("item")
    blocks = {c: sorted(items.index[items["construct"] == c]) for c in items["construct"].unique()}
    fit = plspm_fit(wide, blocks, ECSI_PATHS)
    weights = fit.outer_model()["weight"]
    sd = wide.std(ddof=1)
    index = {}
    for construct, names in blocks.items():
        w = weights[names] / sd[names]
        w = w / w.sum()
        low, high = items.loc[names, "scale_min"], items.loc[names, "scale_max"]
        index[construct] = 100 * (w @ (wide[names].mean() - low)) / (w @ (high - low))
    effects = fit.effects()
    total = {
        d: float(effects.loc[f"{d} -> satisfaction", "total"])
        for d in ("image", "expectations", "quality", "value")
    }
    return index, total, len(wide)


def complaint_c(start: date, end: date, customers_at_start: int, months: int):
    c = frame(
        """SELECT id, created_at, acknowledged_at, ack_due_at, resolved_at, resolve_due_at,
                  reopen_count FROM complaints WHERE merged_into_id IS NULL"""
    )
    for col in ("created_at", "acknowledged_at", "ack_due_at", "resolved_at", "resolve_due_at"):
        c[col] = pd.to_datetime(c[col], utc=True, format="mixed")
    day = c["created_at"].dt.date
    c = c[(day >= start) & (day <= end)]
    met = (c["acknowledged_at"] <= c["ack_due_at"]).sum() + (
        c["resolved_at"] <= c["resolve_due_at"]
    ).sum()
    due = c["acknowledged_at"].notna().sum() + c["resolved_at"].notna().sum()
    ratings = frame("SELECT complaint_id, rating FROM complaint_ratings")
    ratings = ratings[ratings["complaint_id"].isin(c["id"])]
    resolved = (c["resolved_at"].notna() | (c["reopen_count"] > 0)).sum()
    reopened = (c["reopen_count"] > 0).sum()
    parts = {
        "rate": 100 * max(0.0, 1 - 1000 * len(c) / customers_at_start / months / 50),
        "sla": 100 * met / due,
        "recovery": 100 * (ratings["rating"].mean() - 1) / 4,
        "reopen": 100 * (1 - reopened / resolved),
    }
    return float(np.mean(list(parts.values()))), len(c)


def retention_r(start: date, end: date, segment: str | None = None):
    customers = frame(
        """SELECT s.customer_id, s.first_purchase_on, c.segment, v.clv
           FROM customer_statuses s JOIN customers c ON c.id = s.customer_id
           LEFT JOIN customer_values v ON v.customer_id = s.customer_id
           WHERE s.first_purchase_on IS NOT NULL"""
    )
    if segment is not None:
        customers = customers[customers["segment"] == segment]
    customers["first_purchase_on"] = pd.to_datetime(customers["first_purchase_on"]).dt.date
    spells = frame("SELECT customer_id, lost_on, won_back_on, clv_lost FROM loss_records")
    spells["lost_on"] = pd.to_datetime(spells["lost_on"]).dt.date
    spells["won_back_on"] = pd.to_datetime(spells["won_back_on"]).dt.date
    ongoing = spells[
        (spells["lost_on"] < start)
        & (spells["won_back_on"].isna() | (spells["won_back_on"] > start))
    ]["customer_id"]
    at_start = customers[
        (customers["first_purchase_on"] < start) & ~customers["customer_id"].isin(ongoing)
    ]
    began = spells[(spells["lost_on"] >= start) & (spells["lost_on"] <= end)]["customer_id"]
    # a customer's value: the CLV recorded at their next loss from the start on, else today's
    next_loss = (
        spells[spells["lost_on"] >= start].sort_values("lost_on").groupby("customer_id").first()
    )
    value = [
        float(next_loss.at[cid, "clv_lost"])
        if cid in next_loss.index
        else (0.0 if pd.isna(clv) else float(clv))
        for cid, clv in zip(at_start["customer_id"], at_start["clv"], strict=True)
    ]
    value = pd.Series(value).clip(lower=0)
    lost = at_start["customer_id"].isin(began).to_numpy()
    return 100 * (value.sum() - value[lost].sum()) / value.sum(), len(at_start)


def page_row(html: str, panel: str, first_cell: str) -> list[str]:
    section = html.split(f'id="panel-{panel}"', 1)[1].split("</section>", 1)[0]
    for row in re.findall(r"<tr>(.*?)</tr>", section, re.S):
        cells = [
            re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        ]
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r} in panel {panel}")


def f1(value) -> str:
    return f"{round(float(value), 1)}"


@pytest.fixture(autouse=True)
def english(client):
    """The page texts compared here are the English ones."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def seeded(ctx, runner, monkeypatch):
    seed_demo(AS_OF, customers=900, seed=7)
    db.session.commit()
    # the model runs from 15 complete respondents here, so this small demo gets model quarters
    monkeypatch.setattr(services, "MIN_MODEL_RESPONSES", 15)
    result = runner.invoke(args=["index", "compute", "--period", QUARTER[0]])
    assert result.exit_code == 0, result.output
    assert "stored 7 index values for 1 periods" in result.output
    # the months were computed by the demo chapter with the usual threshold


def test_every_number_traced_to_an_independent_computation(seeded, login, client):
    key, start, end = QUARTER
    raw = answers(start, end)
    index, total_effects, n = model_s(raw)
    r_value, at_start = retention_r(start, end)
    c_value, complaints = complaint_c(start, end, at_start, 3)
    composite = 0.6 * index["satisfaction"] + 0.2 * c_value + 0.2 * r_value

    stored = db.session.scalar(
        sa.select(IndexValue).where(IndexValue.period == key, IndexValue.group_kind == "all")
    )
    assert stored.s_method == "model" and stored.responses == n
    assert stored.satisfaction == pytest.approx(index["satisfaction"], abs=1e-4)
    assert stored.s_low < stored.satisfaction < stored.s_high
    assert stored.complaint_handling == pytest.approx(c_value, abs=1e-9)
    assert stored.complaints == complaints
    assert stored.retention == pytest.approx(r_value, abs=1e-9)
    assert stored.customers == at_start
    assert stored.composite == pytest.approx(composite, abs=1e-4)
    assert stored.composite_low == pytest.approx(
        0.6 * stored.s_low + 0.2 * c_value + 0.2 * r_value, abs=1e-9
    )

    login("manager")
    html = client.get(f"/index/?granularity=quarter&period={key}").get_data(as_text=True)
    trend = page_row(html, "trend", key)
    assert trend[1] == f1(composite)
    assert trend[4] == f1(index["satisfaction"])
    assert trend[8] == f1(c_value) and trend[9] == f1(r_value)
    assert trend[10] == str(n) and trend[11] == str(complaints) and trend[12] == str(at_start)
    assert trend[13] == "0.6/0.2/0.2"
    assert f1(composite) in html.split('id="composite-figure"')[1].split("</article>")[0]

    # the driver matrix: importance = total effect, performance = the driver's index
    for name, construct in (("Image", "image"), ("Perceived quality", "quality")):
        row = page_row(html, "drivers", name)
        assert row[1] == f"{round(total_effects[construct], 3)}"
        assert row[2] == f1(index[construct])
    mid_i = np.mean(list(total_effects.values()))
    mid_p = np.mean([index[d] for d in total_effects])
    for d, name in (("image", "Image"), ("value", "Perceived value")):
        high_i, high_p = total_effects[d] >= mid_i, index[d] >= mid_p
        expected = {
            (True, False): "Fix first",
            (True, True): "Keep up",
            (False, False): "Low priority",
            (False, True): "Possible overkill",
        }[(high_i, high_p)]
        assert page_row(html, "drivers", name)[3] == expected

    # sensitivity: the same components under equal weights
    equal = (index["satisfaction"] + c_value + r_value) / 3
    assert page_row(html, "sensitivity", "Equal weights")[4] == f1(equal)

    # validity: respondents (latest response each) by band, later losses and complaints
    scores = _respondent_scores(raw)
    scored = raw[raw["rid"].isin(scores.index)].drop_duplicates("rid")
    latest = scored.sort_values("submitted_at").groupby("customer_id").last()
    latest["score"] = latest["rid"].map(scores)
    bands = pd.cut(
        latest["score"],
        [-1, 50, 70, 85, 101],
        right=False,
        labels=["0-49", "50-69", "70-84", "85-100"],
    )
    losses = frame("SELECT customer_id, lost_on FROM loss_records")
    losses["lost_on"] = pd.to_datetime(losses["lost_on"]).dt.date
    later_complaints = frame(
        "SELECT customer_id, created_at FROM complaints WHERE merged_into_id IS NULL "
        "AND customer_id IS NOT NULL"
    )
    later_complaints["day"] = pd.to_datetime(
        later_complaints["created_at"], utc=True, format="mixed"
    ).dt.date
    for band in bands.cat.categories:
        members = latest[bands == band]
        if members.empty:
            continue
        lost = sum(
            ((losses["customer_id"] == cid) & (losses["lost_on"] >= row.submitted_at.date())).any()
            for cid, row in members.iterrows()
        )
        complained = sum(
            (
                (later_complaints["customer_id"] == cid)
                & (later_complaints["day"] >= row.submitted_at.date())
            ).any()
            for cid, row in members.iterrows()
        )
        cells = page_row(html, "validity", band)
        assert cells[1:3] == [str(len(members)), str(lost)]
        assert cells[3] == f1(100 * lost / len(members))
        assert cells[4] == str(complained)

    # the CSV behind the trend chart carries the same numbers
    response = client.get(f"/index/export/trend.csv?granularity=quarter&period={key}")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    row = next(r for r in rows if r[0] == key)
    assert float(row[1]) == pytest.approx(round(composite, 1))


def _respondent_scores(raw: pd.DataFrame) -> pd.Series:
    """Respondent-level satisfaction on the model's weights (plspm), ACSI formula per person."""
    wide = raw.pivot_table(index="rid", columns="item", values="value_num").dropna()
    items = raw.drop_duplicates("item").set_index("item")
    blocks = {c: sorted(items.index[items["construct"] == c]) for c in items["construct"].unique()}
    fit = plspm_fit(wide, blocks, ECSI_PATHS)
    names = blocks["satisfaction"]
    w = fit.outer_model()["weight"][names] / wide[names].std(ddof=1)
    w = w / w.sum()
    low, high = items.loc[names, "scale_min"], items.loc[names, "scale_max"]
    return 100 * ((wide[names] - low) @ w) / (w @ (high - low))


def test_fallback_month_and_segment_values(seeded, login, client):
    key, start, end = MONTH
    raw = answers(start, end)
    s = fallback_s(raw)
    stored = db.session.scalar(
        sa.select(IndexValue).where(IndexValue.period == key, IndexValue.group_kind == "all")
    )
    if stored.s_method == "model":
        pytest.fail("the month should have too few responses for the model")
    assert stored.s_method == "fallback" and stored.s_low is None
    assert stored.satisfaction == pytest.approx(s.mean(), abs=1e-9)
    assert stored.responses == len(s)

    segment = "零售"
    seg_ids = set(raw.loc[raw["segment"] == segment, "rid"])
    r_value, at_start = retention_r(start, end, segment)
    row = db.session.scalar(
        sa.select(IndexValue).where(
            IndexValue.period == key,
            IndexValue.group_kind == "segment",
            IndexValue.group_value == segment,
        )
    )
    assert row.satisfaction == pytest.approx(s[s.index.isin(seg_ids)].mean(), abs=1e-9)
    assert row.retention == pytest.approx(r_value, abs=1e-9) and row.customers == at_start

    login("manager")
    html = client.get(f"/index/?granularity=month&period={key}&group=segment:{segment}").get_data(
        as_text=True
    )
    cells = page_row(html, "trend", key)
    assert cells[4] == f1(row.satisfaction) and cells[9] == f1(r_value)
    assert "Mean of satisfaction items (fallback)" in cells[7]
    assert page_row(html, "groups", f"Segment: {segment}")[6] == f1(r_value)


def test_weight_change_is_recorded_and_history_does_not_shift(seeded, make_user, client, runner):
    key = QUARTER[0]
    before = db.session.scalar(
        sa.select(IndexValue).where(IndexValue.period == key, IndexValue.group_kind == "all")
    )
    old_composite, components = (
        before.composite,
        (before.satisfaction, before.complaint_handling, before.retention),
    )
    manager_id, email = make_user("manager")
    sign_in(client, email)
    response = post_form(
        client,
        "/index/weights",
        {"weight_s": "0.5", "weight_c": "0.3", "weight_r": "0.2"},
        form_url="/index/",
    )
    assert response.status_code == 302
    change = db.session.scalar(sa.select(WeightChange))
    assert (change.old_s, change.old_c, change.old_r) == (0.6, 0.2, 0.2)
    assert (change.new_s, change.new_c, change.new_r) == (0.5, 0.3, 0.2)
    assert change.changed_by_id == manager_id
    db.session.expire_all()
    kept = db.session.scalar(
        sa.select(IndexValue).where(IndexValue.period == key, IndexValue.group_kind == "all")
    )
    assert kept.composite == old_composite and kept.weights == (0.6, 0.2, 0.2)
    html = client.get("/index/").get_data(as_text=True)
    assert "0.6/0.2/0.2" in html.split('id="weight-changes"')[1]
    assert "0.5/0.3/0.2" in html.split('id="weight-changes"')[1]

    # a sum other than 1 is refused next to the field, nothing recorded
    response = post_form(
        client,
        "/index/weights",
        {"weight_s": "0.5", "weight_c": "0.5", "weight_r": "0.2"},
        form_url="/index/",
    )
    assert response.status_code == 400
    assert "The three weights must add up to 1." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(WeightChange.id))) == 1

    # a recomputation stores the new weights with the new values only
    result = runner.invoke(args=["index", "compute", "--period", key])
    assert result.exit_code == 0
    db.session.expire_all()
    new = db.session.scalar(
        sa.select(IndexValue).where(IndexValue.period == key, IndexValue.group_kind == "all")
    )
    assert new.weights == (0.5, 0.3, 0.2)
    assert new.composite == pytest.approx(
        0.5 * components[0] + 0.3 * components[1] + 0.2 * components[2], abs=1e-4
    )
    month = db.session.scalar(
        sa.select(IndexValue).where(IndexValue.period == MONTH[0], IndexValue.group_kind == "all")
    )
    assert month.weights == (0.6, 0.2, 0.2)


def test_recompute_button_queues_a_job_that_the_worker_runs(seeded, login, client, runner):
    login("manager")
    response = post_form(client, "/index/recompute", {}, form_url="/index/")
    assert response.status_code == 302
    job = services.latest_job()
    status = client.get(f"/index/jobs/{job.id}").get_json()
    assert status["status"] == "queued"
    # a second click does not queue a second job
    post_form(client, "/index/recompute", {}, form_url="/index/")
    assert services.latest_job().id == job.id
    result = runner.invoke(args=["index", "work"])
    assert result.exit_code == 0 and "1 job(s) run" in result.output
    status = client.get(f"/index/jobs/{job.id}").get_json()
    assert status["status"] == "done" and status["done"] == status["total"] == 24 + 8
    assert client.get("/index/jobs/99999").status_code == 404


def test_bad_input_never_breaks_the_page(seeded, login, client, runner):
    login("manager")
    for query in ("period=nonsense", "granularity=year", "group=segment:nope", "group=:"):
        assert client.get(f"/index/?{query}").status_code == 200
    assert client.get("/index/export/nope.csv").status_code == 404
    for value in ("abc", "-1", "2"):
        response = post_form(
            client,
            "/index/weights",
            {"weight_s": value, "weight_c": "0", "weight_r": "0"},
            form_url="/index/",
        )
        assert response.status_code == 400
    result = runner.invoke(args=["index", "compute", "--period", "2026-13"])
    assert result.exit_code != 0 and "quarter like 2026-Q1" in result.output


def test_empty_database_shows_an_empty_state(ctx, login, client):
    login("manager")
    html = client.get("/index/").get_data(as_text=True)
    assert "No index values have been computed yet" in html


def test_recent_periods_are_complete_months_and_quarters():
    periods = services.recent_periods(date(2026, 10, 15), months=6)
    assert [p.key for p in periods] == [
        "2026-04",
        "2026-05",
        "2026-06",
        "2026-07",
        "2026-08",
        "2026-09",
        "2026-Q2",
        "2026-Q3",
    ]
    q = services.parse_period("2026-q1")
    assert (q.start, q.end, q.months) == (date(2026, 1, 1), date(2026, 3, 31), 3)
    assert services.parse_period("2024-02").end == date(2024, 2, 29)
    assert services.parse_period("2026-12").end == date(2026, 12, 31) - timedelta(days=0)


def test_an_interrupted_job_does_not_block_the_button(ctx, make_user, client):
    from survey_app.db_types import utcnow
    from survey_app.jobs.models import Job, JobStatus

    stuck = Job(kind="index", status=JobStatus.RUNNING, started_at=utcnow() - timedelta(hours=2))
    db.session.add(stuck)
    db.session.commit()
    _id, email = make_user("manager")
    sign_in(client, email)
    assert post_form(client, "/index/recompute", {}, form_url="/index/").status_code == 302
    db.session.expire_all()
    assert db.session.get(Job, stuck.id).status == JobStatus.FAILED
    new = services.latest_job()
    assert new.id != stuck.id and new.status == JobStatus.QUEUED
