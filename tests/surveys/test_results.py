"""Result figures checked against pandas on seeded responses: counts, mean/sd, NPS, top-2-box,
0-100 dimension scores over rolling windows, monthly trend, filters, exports, follow-up."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from survey_app.extensions import db
from survey_app.surveys import queries, services
from survey_app.surveys.demo import bulk_responses
from survey_app.surveys.models import Channel

AS_OF = date(2026, 6, 30)


@pytest.fixture(autouse=True)
def _english(client):
    """These tests read the English interface."""
    client.set_cookie("lang", "en")


@pytest.fixture
def seeded(app, make_customer, make_questionnaire):
    """A pulse and an ECSI questionnaire with 400 random responses each; returns the raw data
    as a DataFrame for the independent computation."""
    rng = np.random.default_rng(7)
    customers = {
        "零售": [make_customer(segment="零售") for _ in range(5)],
        "大客户": [make_customer(segment="大客户") for _ in range(3)],
    }
    pulse_id, _ = make_questionnaire("pulse")
    ecsi_id, _ = make_questionnaire("ecsi")
    rows = []
    with app.app_context():
        pulse = services.get_questionnaire(pulse_id)
        ecsi = services.get_questionnaire(ecsi_id)
        pulse_records, ecsi_records = [], []
        for n in range(400):
            segment = "大客户" if n % 4 == 0 else "零售"
            customer = int(rng.choice(customers[segment]))
            channel = Channel.INVITATION if n % 3 else Channel.PUBLIC
            when = datetime(2026, 6, 30, 18, tzinfo=UTC) - timedelta(
                days=int(rng.integers(0, 400)), hours=int(rng.integers(0, 10))
            )
            csat, nps = int(rng.integers(1, 6)), int(rng.integers(0, 11))
            answers = {"csat": csat, "nps": nps}
            if csat <= 3:
                answers["what_wrong"] = f"=cmd {n}" if n % 50 == 0 else f"slow {n}"
            pulse_records.append(
                {
                    "submitted_at": when,
                    "customer_id": customer,
                    "channel": channel,
                    "answers": answers,
                }
            )
            rows.append(
                {
                    "q": "pulse",
                    "when": when,
                    "segment": segment,
                    "channel": channel.value,
                    "csat": csat,
                    "nps": nps,
                    "what_wrong": answers.get("what_wrong", ""),
                }
            )
            quality = {
                f"quality.{c}": int(rng.integers(1, 11))
                for c in ("q_product", "q_staff", "q_service", "q_delivery", "q_aftersales")
            }
            sat = int(rng.integers(1, 11))
            ecsi_records.append(
                {
                    "submitted_at": when,
                    "customer_id": customer,
                    "channel": channel,
                    "answers": {**quality, "sat_overall": sat},
                }
            )
            rows.append(
                {
                    "q": "ecsi",
                    "when": when,
                    "segment": segment,
                    "channel": channel.value,
                    "sat_overall": sat,
                    **{k.split(".")[1]: v for k, v in quality.items()},
                }
            )
        bulk_responses(pulse, sorted(pulse_records, key=lambda r: r["submitted_at"]))
        bulk_responses(ecsi, sorted(ecsi_records, key=lambda r: r["submitted_at"]))
        db.session.commit()
    frame = pd.DataFrame(rows)
    frame["when"] = pd.to_datetime(frame["when"], utc=True)
    return pulse_id, ecsi_id, frame


def _nps(series: pd.Series) -> float:
    return 100 * ((series >= 9).mean() - (series <= 6).mean())


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"channel": "public"},
        {"segment": "大客户"},
        {"start": date(2026, 1, 1), "end": date(2026, 3, 31)},
    ],
)
def test_question_figures_match_pandas(app, seeded, filters):
    pulse_id, _ecsi_id, frame = seeded
    data = frame[frame.q == "pulse"]
    if "channel" in filters:
        data = data[data.channel == filters["channel"]]
    if "segment" in filters:
        data = data[data.segment == filters["segment"]]
    if "start" in filters:
        day = data.when.dt.date
        data = data[(day >= filters["start"]) & (day <= filters["end"])]
    with app.app_context():
        responses, results = queries.question_results(
            services.get_questionnaire(pulse_id), queries.Filters(**filters)
        )
        by_code = {r.question.code: r for r in results}
        csat = by_code["csat"].scales[0]
        nps = by_code["nps"].scales[0]
        assert responses == len(data)
        assert csat.n == len(data)
        assert csat.mean == pytest.approx(data.csat.mean())
        assert csat.sd == pytest.approx(data.csat.std())  # pandas: ddof=1
        assert csat.top2 == pytest.approx(100 * (data.csat >= 4).mean())
        assert csat.score_100 == pytest.approx(100 * (data.csat.mean() - 1) / 4)
        assert dict(csat.counts) == data.csat.value_counts().to_dict()
        assert nps.nps == pytest.approx(_nps(data.nps))
        assert nps.promoters == pytest.approx(100 * (data.nps >= 9).mean())
        assert nps.passives == pytest.approx(100 * data.nps.between(7, 8).mean())
        assert by_code["what_wrong"].answered == int((data.csat <= 3).sum())


def test_dimension_scores_and_trend_match_pandas(app, seeded):
    _pulse_id, ecsi_id, frame = seeded
    data = frame[frame.q == "ecsi"].copy()
    end = pd.Timestamp(AS_OF + timedelta(days=1), tz="UTC")
    window = pd.Timedelta(days=90)
    current = data[(data.when >= end - window) & (data.when < end)]
    previous = data[(data.when >= end - 2 * window) & (data.when < end - window)]
    rescale = lambda s: 100 * (s - 1) / 9  # noqa: E731  declared ends of the 1-10 scale
    expected = {
        "delivery": (current.q_delivery, previous.q_delivery),
        "staff": (current.q_staff, previous.q_staff),
        # the "overall" dimension holds sat_overall only here
        "overall": (current.sat_overall, previous.sat_overall),
    }
    with app.app_context():
        scores, trend, _window = queries.dimension_scores(
            services.get_questionnaire(ecsi_id), queries.Filters(end=AS_OF, window_days=90)
        )
        by_code = {s.dimension.code: s for s in scores}
        for code, (cur, prev) in expected.items():
            score = by_code[code]
            assert score.current == pytest.approx(rescale(cur).mean()), code
            assert score.current_n == len(cur)
            assert score.previous == pytest.approx(rescale(prev).mean()), code
            assert score.previous_n == len(prev)
        both = data[(data.when >= end - 2 * window) & (data.when < end)]
        monthly = (
            rescale(both.q_delivery).groupby(both.when.dt.strftime("%Y-%m")).agg(["mean", "size"])
        )
        got = {m: (mean, n) for d, m, mean, n in trend if d.code == "delivery"}
        assert sorted(got) == sorted(monthly.index)
        for month, row in monthly.iterrows():
            assert got[month][0] == pytest.approx(row["mean"])
            assert got[month][1] == row["size"]


def test_results_page_export_and_text_search(app, seeded, login):
    pulse_id, _ecsi_id, frame = seeded
    data = frame[frame.q == "pulse"]
    client = login("manager")
    page = client.get(f"/surveys/{pulse_id}/results", headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"NPS {_nps(data.nps):+.0f}" in html
    assert f"top-2-box {100 * (data.csat >= 4).mean():.1f}%" in html
    bad = client.get(f"/surveys/{pulse_id}/results?start=yesterday&version=abc")
    assert bad.status_code == 200 and "Dates look like" in bad.get_data(as_text=True)

    exported = client.get(f"/surveys/{pulse_id}/responses.csv?channel=public")
    reader = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    header, body = reader[0], reader[1:]
    assert header[-4:] == ["csat", "nps", "what_wrong", "comment"]
    assert "customer_code" in header
    assert len(body) == int((data.channel == "public").sum())
    assert sorted(int(r[header.index("nps")]) for r in body) == sorted(
        data[data.channel == "public"].nps.tolist()
    )
    texts = sorted(r[header.index("what_wrong")] for r in body if r[header.index("what_wrong")])
    public = data[(data.channel == "public") & (data.what_wrong != "")]
    assert texts == sorted(("'" + t) if t.startswith("=") else t for t in public.what_wrong)
    assert any(t.startswith("'=cmd") for t in texts)  # the seed puts one among public answers

    xlsx = client.get(f"/surveys/{pulse_id}/responses.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet.max_row == len(data) + 1
    assert client.get(f"/surveys/{pulse_id}/responses.pdf").status_code == 404

    search = client.get(
        f"/surveys/{pulse_id}/results/text/what_wrong?q=SLOW 1", headers={"Accept-Language": "en"}
    )
    matching = int(data.what_wrong.str.lower().str.contains("slow 1", regex=False).sum())
    html = search.get_data(as_text=True)
    assert search.status_code == 200 and f"{matching} answers" in html
    assert client.get(f"/surveys/{pulse_id}/results/text/csat").status_code == 404


def test_followup_lists_detractors_with_prefill(app, login, make_questionnaire, make_customer):
    qid, _ = make_questionnaire("pulse")
    happy, unhappy, grumpy = make_customer("Happy"), make_customer("Unhappy"), make_customer("Low")
    now = datetime.now(UTC)
    with app.app_context():
        questionnaire = services.get_questionnaire(qid)
        bulk_responses(
            questionnaire,
            [
                {
                    "submitted_at": now,
                    "customer_id": happy,
                    "channel": Channel.INVITATION,
                    "answers": {"csat": 5, "nps": 10},
                },
                {
                    "submitted_at": now,
                    "customer_id": unhappy,
                    "channel": Channel.INVITATION,
                    "answers": {"csat": 4, "nps": 6, "comment": "meh"},
                },
                {
                    "submitted_at": now,
                    "customer_id": grumpy,
                    "channel": Channel.INVITATION,
                    "answers": {"csat": 2, "nps": 8, "what_wrong": "送货太慢"},
                },
            ],
        )
        db.session.commit()
    client = login("staff")
    page = client.get("/surveys/followups", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert "Unhappy" in page and "Low" in page and "Happy<" not in page
    assert "2 responses waiting for a follow-up" in page
    with app.app_context():
        rows, total, _scores, _followed = queries.followup_page(1, 10)
        response_id = next(r[0].id for r in rows if r[1].id == grumpy)
        prefill = services.followup_prefill(response_id)
    assert prefill["customer_id"] == grumpy and prefill["contact"].endswith("@example.cn")
    assert "送货太慢" in prefill["text"] and "2 / 5" in prefill["text"]
    assert prefill["questionnaire_title"]
    detail = client.get(f"/surveys/responses/{response_id}").get_data(as_text=True)
    assert "送货太慢" in detail


def test_answers_submitted_online_feed_the_results(
    app, make_questionnaire, make_customer, make_invitation
):
    """The summary table behind the results is filled by real submissions; checked against a
    pandas computation over the raw answers."""
    from survey_app.surveys.models import Answer, Question, Response
    from tests.conftest import post_form

    qid, token = make_questionnaire("exit")
    given = [(["price"], 2, 1), (["price", "service"], 5, 4), (["need"], 4, 5), (["other"], 1, 1)]
    for n, (reasons, satisfaction, come_back) in enumerate(given):
        client = app.test_client()
        url = (
            f"/s/{token}"
            if n % 2
            else f"/i/{make_invitation(qid, make_customer(segment='大客户'))}"
        )
        done = post_form(
            client,
            url,
            {
                "step": "1",
                "q_exit_reasons": reasons,
                "q_exit_satisfaction": str(satisfaction),
                "q_exit_return": str(come_back),
            },
        )
        assert "done=1" in done.headers["Location"]
    with app.app_context():
        raw = pd.read_sql(
            sa.select(Question.code, Answer.value_num, Answer.value_text, Response.segment)
            .join(Question, Question.id == Answer.question_id)
            .join(Response, Response.id == Answer.response_id),
            db.session.connection(),
        )
        for segment in ("", "大客户"):
            responses, results = queries.question_results(
                services.get_questionnaire(qid), queries.Filters(segment=segment)
            )
            data = raw if not segment else raw[raw.segment == segment]
            by_code = {r.question.code: r for r in results}
            sat = data[data.code == "exit_satisfaction"].value_num
            assert responses == len(sat)
            assert by_code["exit_satisfaction"].scales[0].mean == pytest.approx(sat.mean())
            assert by_code["exit_satisfaction"].scales[0].top2 == pytest.approx(
                100 * (sat >= 4).mean()
            )
            reasons = data[data.code == "exit_reasons"].value_text.value_counts().to_dict()
            got = {v: c for v, _label, c, _share in by_code["exit_reasons"].choices if c}
            assert got == reasons
            assert by_code["exit_reasons"].answered == len(sat)


def test_results_tell_versions_apart(app, make_questionnaire):
    from tests.conftest import post_form

    qid, token = make_questionnaire("pulse")
    answer = app.test_client()
    post_form(answer, f"/s/{token}", {"step": "1", "q_csat": "5", "q_nps": "10"})
    post_form(answer, f"/s/{token}?step=2", {"step": "2"}, form_url="/login")
    with app.app_context():
        questionnaire = services.get_questionnaire(qid)
        csat = next(
            q for q in questionnaire.current_version.sections[0].questions if q.code == "csat"
        )
        data = services.QuestionData(
            type="likert",
            text_zh="满意吗？",
            text_en="Satisfied?",
            code="csat",
            points=5,
            required=True,
        )
        services.save_question(None, questionnaire, csat.id, None, data)
        db.session.commit()
        first, second = (v.id for v in services.get_questionnaire(qid).versions)
    answer = app.test_client()
    post_form(answer, f"/s/{token}", {"step": "1", "q_csat": "1", "q_nps": "0"})
    post_form(answer, f"/s/{token}?step=2", {"step": "2", "q_what_wrong": "x"}, form_url="/login")
    with app.app_context():
        questionnaire = services.get_questionnaire(qid)
        for version_id, expected in ((None, {5: 1, 1: 1}), (first, {5: 1}), (second, {1: 1})):
            responses, results = queries.question_results(
                questionnaire, queries.Filters(version_id=version_id)
            )
            by_code = {r.question.code: r for r in results}
            assert by_code["csat"].scales[0].counts == expected
            assert responses == sum(expected.values())
        assert by_code["csat"].question.text_en == "Satisfied?"
