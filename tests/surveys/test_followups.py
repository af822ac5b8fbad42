"""The detractor follow-up list as a work queue: what is waiting, what was followed up (by a
complaint case or by a note of the call), and the note itself."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from survey_app.accounts.models import User
from survey_app.errors import Conflict, DomainError, PermissionDenied
from survey_app.extensions import db
from survey_app.surveys import queries, services
from survey_app.surveys.demo import bulk_responses
from survey_app.surveys.models import FOLLOWUP_NOTE_MAX, Channel, Followup, Response
from tests.conftest import csrf_token

EN = {"Accept-Language": "en"}


def _responses(app, questionnaire_id, rows) -> list[int]:
    """Submit ``(customer_id or None, answers, days ago)`` rows; return their ids in order."""
    now = datetime.now(UTC)
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.max(Response.id))) or 0
        bulk_responses(
            services.get_questionnaire(questionnaire_id),
            [
                {
                    "submitted_at": now - timedelta(days=ago, minutes=i),
                    "customer_id": customer_id,
                    "channel": Channel.INVITATION if customer_id else Channel.PUBLIC,
                    "answers": answers,
                }
                for i, (customer_id, answers, ago) in enumerate(rows)
            ],
        )
        db.session.commit()
        return list(db.session.scalars(sa.select(Response.id).where(Response.id > before)))


def _tab_counts(html: str) -> dict[str, int]:
    """The count on each status tab: {"waiting": n, "done": n, "all": n}."""
    found = re.findall(
        r'status=(\w+)[^"]*"[^>]*>[^<]*<span class="badge badge-muted">([\d,]+)<', html
    )
    return {status: int(count.replace(",", "")) for status, count in found}


@pytest.fixture
def detractors(app, make_questionnaire, make_customer):
    """Two detractors with a known customer, one anonymous, one happy customer."""
    qid, _ = make_questionnaire("pulse")
    names = ["赵一", "钱二", "孙三"]
    ids = [make_customer(name) for name in names]
    responses = _responses(
        app,
        qid,
        [
            (ids[0], {"csat": 1, "nps": 3, "what_wrong": "送货太慢"}, 1),
            (ids[1], {"csat": 4, "nps": 5}, 2),
            (None, {"csat": 2, "nps": 2}, 3),
            (ids[2], {"csat": 5, "nps": 10}, 1),
        ],
    )
    return {"questionnaire": qid, "responses": responses, "names": names}


def _record(client, response_id, note, **headers):
    token = csrf_token(client, f"/surveys/responses/{response_id}")
    return client.post(
        f"/surveys/responses/{response_id}/followup",
        data={"csrf_token": token, "note": note},
        headers=headers or EN,
    )


def test_the_list_shows_who_is_waiting_and_moves_a_response_once_followed_up(
    app, login, detractors
):
    first, second, anonymous, _happy = detractors["responses"]
    client = login("staff")
    page = client.get("/surveys/followups", headers=EN).get_data(as_text=True)
    # waiting by default: the two known detractors; neither the anonymous nor the happy one
    assert "赵一" in page and "钱二" in page and "孙三" not in page
    assert f"/surveys/responses/{anonymous}" not in page
    assert "2 responses waiting for a follow-up" in page
    assert _tab_counts(page) == {"waiting": 2, "done": 0, "all": 3}

    response = _record(client, first, "电话联系了客户，已改为顺丰配送。")
    assert response.status_code == 302 and response.headers["Location"].endswith("/followups")

    waiting = client.get("/surveys/followups", headers=EN).get_data(as_text=True)
    assert "赵一" not in waiting and "钱二" in waiting
    assert _tab_counts(waiting) == {"waiting": 1, "done": 1, "all": 3}
    done = client.get("/surveys/followups?status=done", headers=EN).get_data(as_text=True)
    assert "赵一" in done and "钱二" not in done
    assert "Contacted" in done and "电话联系了客户" in done

    # the other way to follow up: a complaint case opened from the response
    client.post(
        f"/complaints/from-survey-response/{second}",
        data={"csrf_token": csrf_token(client, f"/surveys/responses/{second}")},
    )
    done = client.get("/surveys/followups?status=done", headers=EN).get_data(as_text=True)
    with app.app_context():
        from survey_app.complaints.models import Complaint

        code = db.session.scalar(sa.select(Complaint.code))
    assert "钱二" in done and code in done
    everything = client.get("/surveys/followups?status=all", headers=EN).get_data(as_text=True)
    assert _tab_counts(everything) == {"waiting": 0, "done": 2, "all": 3}
    assert "Nobody to contact" in everything  # the anonymous response
    empty = client.get("/surveys/followups", headers=EN).get_data(as_text=True)
    assert "Nobody is waiting for a follow-up in this period." in empty


def test_the_counts_follow_the_questionnaire_and_the_days(app, make_questionnaire, detractors):
    other, _ = make_questionnaire("pulse")
    with app.app_context():
        first = detractors["responses"][0]
        customer = db.session.scalar(sa.select(Response.customer_id).where(Response.id == first))
    _responses(app, other, [(customer, {"csat": 1, "nps": 0}, 40)])
    with app.app_context():
        today = datetime.now(UTC).date()
        assert queries.followup_counts(since=today - timedelta(days=90)) == {
            "waiting": 3,
            "done": 0,
            "all": 4,
        }
        assert queries.followup_counts(since=today - timedelta(days=30))["all"] == 3
        assert queries.followup_counts(other)["waiting"] == 1
        rows, total, _scores, _followed = queries.followup_page(1, 10, other, status="waiting")
        assert total == 1 and [r[0].questionnaire_id for r in rows] == [other]


def test_a_bad_note_is_refused_with_its_text_kept(app, login, detractors):
    first = detractors["responses"][0]
    client = login("staff")
    empty = _record(client, first, "   ")
    assert empty.status_code == 400
    assert 'aria-invalid="true"' in empty.get_data(as_text=True)
    too_long = "很" * (FOLLOWUP_NOTE_MAX + 1)
    response = _record(client, first, too_long)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and too_long in html  # the text is not lost
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Followup)) == 0


def test_a_response_is_followed_up_once(app, make_user, detractors):
    first = detractors["responses"][0]
    one, _ = make_user("staff", name="王芳")
    two, _ = make_user("staff", name="张伟")
    with app.app_context():
        services.record_followup(db.session.get(User, one), first, "已回电")
        db.session.commit()
    with app.app_context():
        # the unique key decides, not a prior read: a colleague's second note is refused
        with pytest.raises(Conflict):
            services.record_followup(db.session.get(User, two), first, "我也打了电话")
        db.session.rollback()
        notes = list(db.session.scalars(sa.select(Followup)))
        assert [(n.user_id, n.note) for n in notes] == [(one, "已回电")]


def test_the_second_click_gets_a_clear_answer(app, login, detractors):
    first = detractors["responses"][0]
    client = login("staff")
    assert _record(client, first, "已回电").status_code == 302
    again = _record(client, first, "再次回电")
    html = again.get_data(as_text=True)
    assert again.status_code == 409
    assert "This response has already been followed up." in html and "已回电" in html


def test_service_rules(app, make_user, detractors):
    _first, _second, anonymous, _happy = detractors["responses"]
    manager, _ = make_user("manager")
    staff, _ = make_user("staff")
    with app.app_context():
        with pytest.raises(PermissionDenied):
            services.record_followup(db.session.get(User, manager), anonymous, "x")
        with pytest.raises(DomainError, match="anonymous"):
            services.record_followup(db.session.get(User, staff), anonymous, "called")


def test_managers_read_the_list_but_do_not_record(app, login, detractors):
    first = detractors["responses"][0]
    client = login("manager")
    assert client.get("/surveys/followups").status_code == 200
    page = client.get(f"/surveys/responses/{first}", headers=EN).get_data(as_text=True)
    assert "Record the follow-up without a case" not in page
    assert "Not followed up yet." in page
    assert _record(client, first, "called").status_code == 403


def test_the_note_renders_escaped(app, login, detractors):
    first = detractors["responses"][0]
    client = login("staff")
    _record(client, first, '<script>alert(1)</script> "quoted"')
    for url in ("/surveys/followups?status=done", f"/surveys/responses/{first}"):
        html = client.get(url, headers=EN).get_data(as_text=True)
        assert "<script>alert(1)" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_chinese_page(app, login, detractors):
    client = login("staff")
    html = client.get("/surveys/followups", headers={"Accept-Language": "zh-CN"}).get_data(
        as_text=True
    )
    assert "等待回访" in html and "已回访" in html


def test_the_hostile_corpus_never_breaks_the_note(
    app, make_user, make_questionnaire, make_customer
):
    """Each value of the API's hostile corpus, on a response of its own: a clear 4xx or a
    stored note, never a 500; invalid UTF-8 too."""
    from tests.api.test_hostile_input import CORPUS
    from tests.conftest import sign_in

    qid, _ = make_questionnaire("pulse")
    customer = make_customer("周八")
    values = [v for v in CORPUS if "\ud800" not in v]  # a form post is bytes: see the raw case
    ids = _responses(app, qid, [(customer, {"csat": 1, "nps": 1}, 1)] * (len(values) + 1))
    _id, email = make_user("staff")
    client = app.test_client()
    sign_in(client, email)
    for response_id, value in zip(ids, values, strict=False):
        answer = _record(client, response_id, value)
        assert answer.status_code in (302, 400), (value[:20], answer.status_code)
        if not value.strip() or "\x00" in value or len(value) > FOLLOWUP_NOTE_MAX:
            assert answer.status_code == 400, value[:20]
    token = csrf_token(client, f"/surveys/responses/{ids[-1]}")
    raw = client.post(
        f"/surveys/responses/{ids[-1]}/followup",
        data=b"csrf_token=" + token.encode() + b"&note=\xff\xfe\xc3\x28",
        content_type="application/x-www-form-urlencoded",
    )
    assert raw.status_code < 500
    done = client.get("/surveys/followups?status=done", headers=EN).get_data(as_text=True)
    assert "<img src=x" not in done and "&lt;img src=x onerror=alert(1)&gt;" in done


def test_the_list_downloads_as_a_call_list(app, login, detractors, monkeypatch):
    """The CSV holds the list as filtered, every page of it (two rows a query here), with the
    follow-up of each row, and a note that looks like a formula neutralised."""
    import csv
    import io

    from survey_app.surveys import views

    monkeypatch.setattr(views, "EXPORT_PAGE", 2)
    first, second, _anonymous, _happy = detractors["responses"]
    client = login("staff")
    _record(client, first, '=HYPERLINK("http://evil","x")')
    client.post(
        f"/complaints/from-survey-response/{second}",
        data={"csrf_token": csrf_token(client, f"/surveys/responses/{second}")},
    )
    page = client.get("/surveys/followups?status=all", headers=EN).get_data(as_text=True)
    assert "/surveys/followups.csv?status=all&amp;days=90" in page

    def download(query: str) -> list[dict]:
        response = client.get(f"/surveys/followups.csv?{query}")
        assert response.status_code == 200 and response.mimetype == "text/csv"
        return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))

    rows = download("status=all")
    assert [r["customer"] for r in rows] == ["赵一", "钱二", ""]  # newest first
    assert [r["follow_up"] for r in rows] == ["contacted", "case", ""]
    assert rows[0]["note"] == '\'=HYPERLINK("http://evil","x")'
    assert rows[0]["low_scores"] == "csat 1; nps 3" and rows[0]["phone"].startswith("1380000")
    assert rows[1]["case"].startswith("TS")
    assert download("status=waiting") == []
    assert len(download("status=done")) == 2


def test_one_call_settles_all_of_a_customers_low_scores(
    app, login, make_questionnaire, make_customer
):
    """A customer with three low scores and another with one: the note on one response, with
    "also for the others" on, follows up the customer's three and nobody else's; off, one."""
    qid, _ = make_questionnaire("pulse")
    caller, other = make_customer("吴鹏"), make_customer("朱军")
    low = {"csat": 2, "nps": 4}
    ids = _responses(
        app, qid, [(caller, low, 1), (caller, low, 5), (caller, low, 9), (other, low, 2)]
    )
    client = login("staff")
    page = client.get(f"/surveys/responses/{ids[0]}", headers=EN).get_data(as_text=True)
    assert "Also for this customer's 2 other low-scoring responses waiting" in page
    assert re.search(r'<input checked[^>]*name="include_others"', page)
    token = csrf_token(client, f"/surveys/responses/{ids[0]}")
    answer = client.post(
        f"/surveys/responses/{ids[0]}/followup",
        data={"csrf_token": token, "note": "电话里一并处理了", "include_others": "y"},
        headers=EN,
    )
    assert answer.status_code == 302
    with app.app_context():
        noted = dict(db.session.execute(sa.select(Followup.response_id, Followup.note)).all())
    assert noted == {
        ids[0]: "电话里一并处理了",
        ids[1]: "电话里一并处理了",
        ids[2]: "电话里一并处理了",
    }
    flashed = client.get("/surveys/followups", headers=EN).get_data(as_text=True)
    assert "Follow-up recorded for 3 responses." in flashed and "朱军" in flashed

    # the other customer's single response offers no "also", and the switch off notes one
    alone = client.get(f"/surveys/responses/{ids[3]}", headers=EN).get_data(as_text=True)
    assert "Also for this customer" not in alone
    with app.app_context():
        again = _responses(app, qid, [(other, low, 3)])[0]
    client.post(
        f"/surveys/responses/{ids[3]}/followup",
        data={"csrf_token": token, "note": "只处理这一条"},
    )
    with app.app_context():
        assert (
            db.session.scalar(sa.select(Followup.id).where(Followup.response_id == again)) is None
        )
        assert db.session.scalar(sa.select(Followup.note).where(Followup.response_id == ids[3]))


def test_also_leaves_other_customers_and_earlier_notes_alone(app, make_user, detractors):
    first, second, _anonymous, _happy = detractors["responses"]
    one, _ = make_user("staff")
    with app.app_context():
        staff = db.session.get(User, one)
        services.record_followup(staff, second, "先前的记录")
        written = services.record_followup(staff, first, "新的记录", also=[second, 999_999])
        db.session.commit()
        # the second response is another customer's, and already followed up anyway
        assert [f.response_id for f in written] == [first]
        assert (
            db.session.scalar(sa.select(Followup.note).where(Followup.response_id == second))
            == "先前的记录"
        )
