"""Designing questionnaires as an admin, over HTTP: templates, sections, questions, conditions,
status changes, and the version freeze once responses exist."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from survey_app.extensions import db
from survey_app.surveys import services
from survey_app.surveys.models import (
    Construct,
    Question,
    Questionnaire,
    QuestionnaireVersion,
    QuestionType,
    Response,
    Status,
)
from tests.conftest import post_form


@pytest.fixture(autouse=True)
def _english(client):
    """These tests read the English interface."""
    client.set_cookie("lang", "en")


def _questionnaire(app, qid):
    with app.app_context():
        q = db.session.get(Questionnaire, qid)
        version = q.current_version
        return {
            "status": q.status,
            "version": version.number,
            "versions": len(q.versions),
            "codes": [(s.position, [x.code for x in s.questions]) for s in version.sections],
        }


@pytest.mark.parametrize(
    ("kind", "sections", "constructs"),
    [
        ("pulse", 2, {Construct.SATISFACTION, Construct.LOYALTY}),
        ("ecsi", 6, set(Construct)),
        ("recovery", 2, {Construct.SATISFACTION, Construct.QUALITY, Construct.LOYALTY}),
        ("exit", 1, {Construct.SATISFACTION, Construct.LOYALTY}),
    ],
)
def test_one_click_templates(app, login, kind, sections, constructs):
    client = login("admin")
    response = post_form(client, "/surveys/new", {"template": kind})
    assert response.status_code == 302
    qid = int(re.search(r"/surveys/(\d+)$", response.headers["Location"]).group(1))
    with app.app_context():
        q = db.session.get(Questionnaire, qid)
        assert q.status is Status.DRAFT and q.template == kind
        assert q.title_zh and q.title_en
        version = q.current_version
        assert len(version.sections) == sections
        found = set()
        for section in version.sections:
            for question in section.questions:
                assert question.text_zh and question.text_en
                found.add(question.construct)
                found |= {item.construct for item in question.items}
                if question.type.scored:
                    assert question.low_label_en and question.high_label_zh
        assert constructs <= found
        if kind == "ecsi":
            scales = {
                (x.scale_min, x.scale_max)
                for s in version.sections
                for x in s.questions
                if x.type in (QuestionType.LIKERT, QuestionType.MATRIX)
            }
            assert scales == {(1, 10)}
    page = client.get(f"/surveys/{qid}").get_data(as_text=True)
    assert "Publish" in page
    assert client.get(f"/surveys/{qid}/preview").status_code == 200


def test_blank_questionnaire_needs_a_title_and_a_question_to_publish(app, login):
    client = login("admin")
    page = post_form(client, "/surveys/new", {"title_zh": "", "title_en": ""})
    assert page.status_code == 200
    assert "Give the questionnaire a title" in page.get_data(as_text=True)
    created = post_form(client, "/surveys/new", {"title_en": "Delivery check"})
    qid = int(created.headers["Location"].rsplit("/", 1)[1])
    refused = post_form(
        client, f"/surveys/{qid}/status", {"action": "publish"}, form_url=f"/surveys/{qid}"
    )
    assert refused.status_code == 302
    assert "Add at least one question" in client.get(f"/surveys/{qid}").get_data(as_text=True)
    assert _questionnaire(app, qid)["status"] is Status.DRAFT


def test_question_crud_conditions_and_order(app, login):
    client = login("admin")
    created = post_form(client, "/surveys/new", {"title_en": "Shop visit", "title_zh": "到店"})
    qid = int(created.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        section_id = db.session.get(Questionnaire, qid).current_version.sections[0].id
    new_question = f"/surveys/{qid}/sections/{section_id}/questions/new"
    # validation: a rating question needs 5, 7 or 10 points; choices need two lines
    bad = post_form(client, new_question, {"type": "single", "text_en": "Pick", "options": "a"})
    assert "Give at least two choices" in bad.get_data(as_text=True)
    ok = post_form(
        client,
        new_question,
        {
            "type": "likert",
            "code": "sat",
            "text_en": "How satisfied?",
            "points": "7",
            "low_label_en": "Not at all",
            "high_label_en": "Completely",
            "required": "y",
            "construct": "satisfaction",
        },
    )
    assert ok.status_code == 302
    # a condition may not depend on a question in the same section
    same = post_form(
        client,
        new_question,
        {
            "type": "long_text",
            "text_en": "Why?",
            "cond_question_code": "sat",
            "cond_operator": "lte",
            "cond_value": "3",
        },
    )
    assert "earlier section" in same.get_data(as_text=True)
    assert (
        post_form(
            client,
            f"/surveys/{qid}/sections/new",
            {
                "title_en": "Why",
                "cond_question_code": "sat",
                "cond_operator": "lte",
                "cond_value": "x",
            },
        ).status_code
        == 200
    )  # "x" is no number: re-rendered
    assert (
        post_form(client, f"/surveys/{qid}/sections/new", {"title_en": "More"}).status_code == 302
    )
    with app.app_context():
        second = db.session.get(Questionnaire, qid).current_version.sections[1].id
    follow = post_form(
        client,
        f"/surveys/{qid}/sections/{second}/questions/new",
        {
            "type": "long_text",
            "code": "why",
            "text_en": "Why?",
            "cond_question_code": "sat",
            "cond_operator": "lte",
            "cond_value": "3",
        },
    )
    assert follow.status_code == 302
    matrix = post_form(
        client,
        f"/surveys/{qid}/sections/{second}/questions/new",
        {
            "type": "matrix",
            "code": "grid",
            "text_en": "Rate",
            "points": "5",
            "items": "产品 | Product | product\n员工 | Staff | nosuch",
        },
    )
    assert "Unknown dimension code" in matrix.get_data(as_text=True)
    with app.app_context():
        services.ensure_default_dimensions()
        db.session.commit()
    matrix = post_form(
        client,
        f"/surveys/{qid}/sections/{second}/questions/new",
        {
            "type": "matrix",
            "code": "grid",
            "text_en": "Rate",
            "points": "5",
            "items": "产品 | Product | product\n员工 | Staff | staff",
        },
    )
    assert matrix.status_code == 302
    assert _questionnaire(app, qid)["codes"] == [(1, ["sat"]), (2, ["why", "grid"])]
    # moving the second section first would put "why" before "sat": refused
    moved = post_form(
        client,
        f"/surveys/{qid}/move",
        {"kind": "section", "id": second, "direction": "up"},
        form_url=f"/surveys/{qid}",
    )
    assert moved.status_code == 302
    assert _questionnaire(app, qid)["codes"] == [(1, ["sat"]), (2, ["why", "grid"])]
    with app.app_context():
        grid = db.session.scalar(sa.select(Question).where(Question.code == "grid"))
        grid_id = grid.id
        assert [i.dimension.code for i in grid.items] == ["product", "staff"]
        sat_id = db.session.scalar(sa.select(Question.id).where(Question.code == "sat"))
    post_form(
        client,
        f"/surveys/{qid}/move",
        {"kind": "question", "id": grid_id, "direction": "up"},
        form_url=f"/surveys/{qid}",
    )
    assert _questionnaire(app, qid)["codes"] == [(1, ["sat"]), (2, ["grid", "why"])]
    # "sat" cannot go while "why" depends on it
    post_form(client, f"/surveys/{qid}/questions/{sat_id}/delete", {}, form_url=f"/surveys/{qid}")
    assert "depend on this one" in client.get(f"/surveys/{qid}").get_data(as_text=True)
    edit = client.get(f"/surveys/{qid}/questions/{grid_id}").get_data(as_text=True)
    assert "Product | product" in edit


def test_editing_a_version_with_responses_creates_a_new_version(app, login, make_questionnaire):
    qid, token = make_questionnaire("pulse")
    client = login("admin")
    with app.app_context():
        csat = db.session.scalar(sa.select(Question).where(Question.code == "csat"))
        csat_id, old_version = csat.id, csat.version_id
    # no response yet: edits stay in version 1
    post_form(
        client,
        f"/surveys/{qid}/questions/{csat_id}",
        {"type": "likert", "code": "csat", "text_en": "Happy?", "points": "5", "required": "y"},
    )
    assert _questionnaire(app, qid)["version"] == 1
    answer_client = app.test_client()
    post_form(answer_client, f"/s/{token}", {"step": "1", "q_csat": "4", "q_nps": "9"})
    page = client.get(f"/surveys/{qid}").get_data(as_text=True)
    assert "frozen" in page
    post_form(
        client,
        f"/surveys/{qid}/questions/{csat_id}",
        {
            "type": "likert",
            "code": "csat",
            "text_en": "How happy are you?",
            "points": "5",
            "required": "y",
        },
    )
    state = _questionnaire(app, qid)
    assert state["version"] == 2 and state["versions"] == 2
    with app.app_context():
        old = db.session.get(Question, csat_id)
        assert old.text_en == "Happy?" and old.version_id == old_version
        (response,) = db.session.scalars(sa.select(Response)).all()
        assert response.version_id == old_version
        new = db.session.scalar(
            sa.select(Question)
            .join(QuestionnaireVersion)
            .where(Question.code == "csat", QuestionnaireVersion.number == 2)
        )
        assert new.text_en == "How happy are you?"
    # the partial response keeps answering its own version
    resumed = answer_client.get(f"/s/{token}?step=2", headers={"Accept-Language": "en"})
    assert resumed.status_code == 200


def test_status_lifecycle_and_archive(app, login, make_questionnaire):
    qid, token = make_questionnaire("pulse", publish=False)
    client = login("admin")
    assert client.get(f"/s/{token}").status_code == 404  # a draft has no public page
    for action, expected in [
        ("publish", Status.PUBLISHED),
        ("close", Status.CLOSED),
        ("publish", Status.PUBLISHED),
        ("close", Status.CLOSED),
        ("archive", Status.ARCHIVED),
    ]:
        post_form(client, f"/surveys/{qid}/status", {"action": action}, form_url=f"/surveys/{qid}")
        assert _questionnaire(app, qid)["status"] is expected
    assert f'/surveys/{qid}"' not in client.get("/surveys/").get_data(as_text=True)
    assert "archived" in client.get("/surveys/?archived=1").get_data(as_text=True)
    post_form(client, f"/surveys/{qid}/status", {"action": "publish"}, form_url=f"/surveys/{qid}")
    assert _questionnaire(app, qid)["status"] is Status.ARCHIVED


def test_dimensions_are_an_editable_list(app, login):
    client = login("admin")
    assert (
        post_form(
            client, "/surveys/dimensions", {"code": "web", "name_zh": "网站", "name_en": "Website"}
        ).status_code
        == 302
    )
    clash = post_form(client, "/surveys/dimensions", {"code": "web", "name_en": "Again"})
    assert "already uses this code" in clash.get_data(as_text=True)
    bad = post_form(client, "/surveys/dimensions", {"code": "Web Site", "name_en": "x"})
    assert "lower-case" in bad.get_data(as_text=True)
    page = client.get("/surveys/dimensions").get_data(as_text=True)
    dim_id = re.search(r"edit=(\d+)", page).group(1)
    post_form(
        client,
        f"/surveys/dimensions?edit={dim_id}",
        {"code": "web", "name_zh": "网店", "name_en": "Web shop"},
    )
    assert "Web shop" in client.get("/surveys/dimensions").get_data(as_text=True)


def test_settings_edit(app, login, make_questionnaire):
    qid, _ = make_questionnaire("pulse")
    client = login("admin")
    post_form(
        client,
        f"/surveys/{qid}/settings",
        {"title_zh": "新标题", "title_en": "New title", "anonymous": "y"},
    )
    with app.app_context():
        q = db.session.get(Questionnaire, qid)
        assert (q.title_zh, q.title_en, q.anonymous, q.one_per_browser) == (
            "新标题",
            "New title",
            True,
            False,
        )


def test_hostile_input_never_breaks_a_page(app, login, make_questionnaire):
    qid, _ = make_questionnaire("pulse")
    client = login("admin")
    with app.app_context():
        section_id = db.session.get(Questionnaire, qid).current_version.sections[0].id
    new_question = f"/surveys/{qid}/sections/{section_id}/questions/new"
    page = post_form(
        client,
        new_question,
        {"type": "likert", "text_en": "x", "points": "5", "dimension_id": "987654"},
    )
    assert page.status_code == 200 and "No such dimension" in page.get_data(as_text=True)
    for odd in ("²", "99999999999999999999"):  # digits, to str.isdigit; no dimension's id
        page = post_form(
            client,
            new_question,
            {"type": "likert", "text_en": "odd", "points": "5", "dimension_id": odd},
        )
        assert page.status_code == 302, odd  # saved without a dimension
    for url in (
        f"/surveys/{qid}/results?questionnaire_id=5&fmt=x&code=y&window=abc&version=zz",
        f"/surveys/{qid}/results?start=2026-05-01&end=2026-01-01",
        f"/surveys/{qid}/responses.csv?questionnaire_id=3",
        "/surveys/followups?days=-4&questionnaire=abc&page=-1",
        f"/surveys/{qid}/invitations?state=nonsense&page=abc",
    ):
        assert client.get(url).status_code == 200, url
    bad = post_form(
        client, f"/surveys/{qid}/invitations", {"customers": ["abc"], "valid_days": "9999"}
    )
    assert bad.status_code == 200


def test_a_section_others_depend_on_cannot_be_deleted(app, login, make_questionnaire):
    qid, _ = make_questionnaire("pulse", publish=False)
    client = login("admin")
    with app.app_context():
        first, second = (s.id for s in db.session.get(Questionnaire, qid).current_version.sections)
    post_form(client, f"/surveys/{qid}/sections/{first}/delete", {}, form_url=f"/surveys/{qid}")
    assert (
        "what_wrong"
        in client.get(f"/surveys/{qid}").get_data(as_text=True).split("depend on this one")[1][:200]
    )
    post_form(client, f"/surveys/{qid}/sections/{second}/delete", {}, form_url=f"/surveys/{qid}")
    assert _questionnaire(app, qid)["codes"] == [(1, ["csat", "nps"])]
