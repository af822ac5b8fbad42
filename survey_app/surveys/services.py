"""Use cases for questionnaires: design, versions, answering, invitations, follow-up.

Services take the acting user (``actor``) and plain arguments, flush, and leave the commit to the
caller. Rule violations raise ``DomainError`` subclasses with a message fit for the user.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from survey_app.accounts.models import Role
from survey_app.bulk import Guard, NotWritten, Rows, insert_one, insert_values, leave_autocommit
from survey_app.customers.models import Customer
from survey_app.db_types import utcnow
from survey_app.errors import Conflict, DomainError, NotFound, PermissionDenied
from survey_app.extensions import db

from .models import (
    FOLLOWUP_NOTE_MAX,
    Answer,
    Channel,
    Construct,
    Dimension,
    Followup,
    Invitation,
    MatrixItem,
    Operator,
    Question,
    Questionnaire,
    QuestionnaireVersion,
    QuestionType,
    Response,
    ResultCount,
    Section,
    Status,
)
from .templates import DEFAULT_DIMENSIONS, TEMPLATES

log = logging.getLogger(__name__)

LIKERT_POINTS = (5, 7, 10)
CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class AlreadyAnswered(Conflict):
    """The token or browser has already completed this questionnaire."""


class Unavailable(DomainError):
    """The questionnaire is not open for answers (draft, closed, archived) or the link expired."""

    status_code = 410


# --------------------------------------------------------------------------------------------
# Dimensions


def ensure_default_dimensions() -> None:
    """Create the shipped dimensions that are missing (idempotent)."""
    existing = set(db.session.scalars(sa.select(Dimension.code)))
    for position, (code, zh, en) in enumerate(DEFAULT_DIMENSIONS):
        if code not in existing:
            db.session.add(Dimension(code=code, name_zh=zh, name_en=en, position=position))
    db.session.flush()


def list_dimensions() -> list[Dimension]:
    return list(db.session.scalars(sa.select(Dimension).order_by(Dimension.position, Dimension.id)))


def save_dimension(actor, dimension_id: int | None, code: str, name_zh: str, name_en: str):
    code = (code or "").strip().lower()
    if not CODE_RE.match(code):
        raise DomainError(
            _l("Use lower-case letters, digits and _ (starting with a letter)."), field="code"
        )
    if not (name_zh.strip() or name_en.strip()):
        raise DomainError(_l("Give the dimension a name in at least one language."), "name_zh")
    clash = db.session.scalar(
        sa.select(Dimension.id).where(Dimension.code == code, Dimension.id != (dimension_id or 0))
    )
    if clash:
        raise DomainError(_l("Another dimension already uses this code."), field="code")
    if dimension_id:
        dimension = db.session.get(Dimension, dimension_id)
        if dimension is None:
            raise NotFound(_l("No such dimension."))
    else:
        dimension = Dimension(position=len(list_dimensions()))
        db.session.add(dimension)
    dimension.code, dimension.name_zh, dimension.name_en = code, name_zh.strip(), name_en.strip()
    db.session.flush()
    log.info("dimension %s saved by %s", code, getattr(actor, "email", actor))
    return dimension


# --------------------------------------------------------------------------------------------
# Questionnaires and versions


def get_questionnaire(questionnaire_id: int) -> Questionnaire:
    questionnaire = db.session.get(Questionnaire, questionnaire_id)
    if questionnaire is None:
        raise NotFound(_l("No such questionnaire."))
    return questionnaire


def list_questionnaires(include_archived: bool = False) -> list[Questionnaire]:
    query = sa.select(Questionnaire).order_by(
        Questionnaire.created_at.desc(), Questionnaire.id.desc()
    )
    if not include_archived:
        query = query.where(Questionnaire.status != Status.ARCHIVED)
    return list(db.session.scalars(query))


def _check_titles(title_zh: str, title_en: str) -> None:
    if not ((title_zh or "").strip() or (title_en or "").strip()):
        raise DomainError(
            _l("Give the questionnaire a title in at least one language."), "title_zh"
        )


def create_questionnaire(actor, **settings) -> Questionnaire:
    """A blank draft with one empty section."""
    _check_titles(settings.get("title_zh", ""), settings.get("title_en", ""))
    questionnaire = Questionnaire(created_by_id=getattr(actor, "id", None), **settings)
    version = QuestionnaireVersion(number=1)
    version.sections.append(Section(position=1, title_zh="第一部分", title_en="Part 1"))
    questionnaire.versions.append(version)
    db.session.add(questionnaire)
    db.session.flush()
    return questionnaire


def update_settings(actor, questionnaire: Questionnaire, **settings) -> Questionnaire:
    _check_titles(settings.get("title_zh", ""), settings.get("title_en", ""))
    if questionnaire.status is Status.ARCHIVED:
        raise DomainError(_l("An archived questionnaire cannot be changed."))
    for name, value in settings.items():
        setattr(questionnaire, name, value)
    db.session.flush()
    return questionnaire


def create_from_template(actor, kind: str) -> Questionnaire:
    """A draft questionnaire built from one of the shipped templates."""
    spec = TEMPLATES.get(kind)
    if spec is None:
        raise NotFound(_l("No such template."))
    ensure_default_dimensions()
    dimensions = {d.code: d.id for d in list_dimensions()}
    questionnaire = Questionnaire(
        created_by_id=getattr(actor, "id", None),
        template=kind,
        title_zh=spec["title"][0],
        title_en=spec["title"][1],
        intro_zh=spec["intro"][0],
        intro_en=spec["intro"][1],
        thanks_zh=spec["thanks"][0],
        thanks_en=spec["thanks"][1],
    )
    version = QuestionnaireVersion(number=1)
    questionnaire.versions.append(version)
    db.session.add(questionnaire)
    db.session.flush()
    for s_pos, s_spec in enumerate(spec["sections"], start=1):
        section = Section(
            version_id=version.id,
            position=s_pos,
            title_zh=s_spec["title"][0],
            title_en=s_spec["title"][1],
        )
        version.sections.append(section)
        db.session.flush()
        for q_pos, q in enumerate(s_spec["questions"], start=1):
            question = Question(
                version_id=version.id,
                section_id=section.id,
                position=q_pos,
                code=q["code"],
                type=QuestionType(q["type"]),
                text_zh=q["zh"],
                text_en=q["en"],
                required=q.get("required", False),
            )
            help_ = q.get("help") or ("", "")
            question.help_zh, question.help_en = help_
            if "scale" in q:
                question.scale_min, question.scale_max = q["scale"]
                question.low_label_zh, question.low_label_en = q["low"]
                question.high_label_zh, question.high_label_en = q["high"]
            if q.get("options"):
                question.options = [{"value": v, "zh": z, "en": e} for v, z, e in q["options"]]
            if q.get("dimension"):
                question.dimension_id = dimensions[q["dimension"]]
            if q.get("construct"):
                question.construct = Construct(q["construct"])
            if q.get("condition"):
                code, operator, value = q["condition"]
                question.cond_question_code = code
                question.cond_operator = Operator(operator)
                question.cond_value = value
            for i_pos, item in enumerate(q.get("items", []), start=1):
                question.items.append(
                    MatrixItem(
                        position=i_pos,
                        code=item["code"],
                        text_zh=item["zh"],
                        text_en=item["en"],
                        dimension_id=dimensions[item["dimension"]],
                        construct=Construct(item["construct"]),
                    )
                )
            section.questions.append(question)
    db.session.flush()
    log.info("questionnaire %s created from template %s", questionnaire.id, kind)
    return questionnaire


def version_has_responses(version: QuestionnaireVersion) -> bool:
    return (
        db.session.scalar(sa.select(Response.id).where(Response.version_id == version.id).limit(1))
        is not None
    )


def response_count(questionnaire: Questionnaire) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Response.id)).where(
            Response.questionnaire_id == questionnaire.id, Response.submitted_at.is_not(None)
        )
    )


def _copy_condition(source, target) -> None:
    target.cond_question_code = source.cond_question_code
    target.cond_operator = source.cond_operator
    target.cond_value = source.cond_value


def editable_version(questionnaire: Questionnaire) -> tuple[QuestionnaireVersion, dict]:
    """The version design changes go to: the current one, or (when it already has responses, so
    its questions are frozen) a fresh copy of it. Returns ``(version, id_map)`` where ``id_map``
    maps ``("section"|"question", old id)`` to the copy's id (empty when nothing was copied)."""
    if questionnaire.status is Status.ARCHIVED:
        raise DomainError(_l("An archived questionnaire cannot be changed."))
    current = questionnaire.current_version
    if not version_has_responses(current):
        return current, {}
    copy = QuestionnaireVersion(number=current.number + 1)
    questionnaire.versions.append(copy)
    db.session.flush()
    id_map: dict = {}
    for section in current.sections:
        new_section = Section(
            version_id=copy.id,
            position=section.position,
            title_zh=section.title_zh,
            title_en=section.title_en,
            description_zh=section.description_zh,
            description_en=section.description_en,
        )
        _copy_condition(section, new_section)
        copy.sections.append(new_section)
        db.session.flush()
        id_map[("section", section.id)] = new_section.id
        for question in section.questions:
            new_question = Question(
                version_id=copy.id,
                section_id=new_section.id,
                **{
                    name: getattr(question, name)
                    for name in (
                        "position",
                        "code",
                        "type",
                        "text_zh",
                        "text_en",
                        "help_zh",
                        "help_en",
                        "required",
                        "scale_min",
                        "scale_max",
                        "low_label_zh",
                        "low_label_en",
                        "high_label_zh",
                        "high_label_en",
                        "dimension_id",
                        "construct",
                    )
                },
                options=list(question.options or []),
            )
            _copy_condition(question, new_question)
            for item in question.items:
                new_question.items.append(
                    MatrixItem(
                        position=item.position,
                        code=item.code,
                        text_zh=item.text_zh,
                        text_en=item.text_en,
                        dimension_id=item.dimension_id,
                        construct=item.construct,
                    )
                )
            new_section.questions.append(new_question)
            db.session.flush()
            id_map[("question", question.id)] = new_question.id
    db.session.flush()
    log.info("questionnaire %s: version %s created for editing", questionnaire.id, copy.number)
    return copy, id_map


STATUS_ACTIONS = {
    # action: (allowed from, new status)
    "publish": ({Status.DRAFT, Status.CLOSED}, Status.PUBLISHED),
    "close": ({Status.PUBLISHED}, Status.CLOSED),
    "archive": ({Status.DRAFT, Status.CLOSED}, Status.ARCHIVED),
    "restore": ({Status.ARCHIVED}, Status.CLOSED),
}


def change_status(actor, questionnaire: Questionnaire, action: str) -> Questionnaire:
    rule = STATUS_ACTIONS.get(action)
    if rule is None:
        raise DomainError(_l("Unknown action."))
    allowed_from, new_status = rule
    if questionnaire.status not in allowed_from:
        raise Conflict(_l("This action is not possible in the questionnaire's current state."))
    if new_status is Status.PUBLISHED:
        has_question = db.session.scalar(
            sa.select(Question.id)
            .where(Question.version_id == questionnaire.current_version.id)
            .limit(1)
        )
        if not has_question:
            raise DomainError(_l("Add at least one question before publishing."))
        questionnaire.published_at = questionnaire.published_at or utcnow()
        questionnaire.closed_at = None
    if new_status is Status.CLOSED and action == "close":
        questionnaire.closed_at = utcnow()
    questionnaire.status = new_status
    db.session.flush()
    log.info("questionnaire %s: %s by %s", questionnaire.id, action, getattr(actor, "email", actor))
    return questionnaire


# --------------------------------------------------------------------------------------------
# Sections and questions


def _section_in(version: QuestionnaireVersion, section_id: int, id_map: dict) -> Section:
    wanted = id_map.get(("section", section_id), section_id)
    for section in version.sections:
        if section.id == wanted:
            return section
    raise NotFound(_l("No such section."))


def _question_in(version: QuestionnaireVersion, question_id: int, id_map: dict) -> Question:
    wanted = id_map.get(("question", question_id), question_id)
    for section in version.sections:
        for question in section.questions:
            if question.id == wanted:
                return question
    raise NotFound(_l("No such question."))


def find_section(questionnaire: Questionnaire, section_id: int) -> Section:
    return _section_in(questionnaire.current_version, section_id, {})


def find_question(questionnaire: Questionnaire, question_id: int) -> Question:
    return _question_in(questionnaire.current_version, question_id, {})


def _validate_condition(
    version,
    section_position: int,
    code: str,
    operator: str,
    value: str,
    own_code: str | None = None,
) -> tuple[str, Operator | None, str]:
    code = (code or "").strip()
    if not code:
        return "", None, ""
    source = None
    for section in version.sections:
        for question in section.questions:
            if question.code == code:
                source = (section, question)
    if source is None or source[1].code == own_code:
        raise DomainError(
            _l("Pick a question from an earlier section."), field="cond_question_code"
        )
    if source[0].position >= section_position:
        raise DomainError(
            _l("A condition can only depend on a question in an earlier section."),
            field="cond_question_code",
        )
    try:
        op = Operator(operator)
    except ValueError:
        raise DomainError(_l("Pick a comparison."), field="cond_operator") from None
    value = (value or "").strip()
    if not value:
        raise DomainError(_l("Give the value to compare with."), field="cond_value")
    if op in (Operator.LTE, Operator.GTE):
        try:
            float(value)
        except ValueError:
            raise DomainError(_l("This comparison needs a number."), field="cond_value") from None
    return code, op, value


def save_section(
    actor,
    questionnaire: Questionnaire,
    section_id: int | None,
    *,
    title_zh: str,
    title_en: str,
    description_zh: str = "",
    description_en: str = "",
    cond_question_code: str = "",
    cond_operator: str = "",
    cond_value: str = "",
):
    version, id_map = editable_version(questionnaire)
    if section_id:
        section = _section_in(version, section_id, id_map)
    else:
        position = max((s.position for s in version.sections), default=0) + 1
        section = Section(version_id=version.id, position=position)
        version.sections.append(section)
    code, op, value = _validate_condition(
        version, section.position, cond_question_code, cond_operator, cond_value
    )
    section.title_zh, section.title_en = title_zh.strip(), title_en.strip()
    section.description_zh, section.description_en = description_zh.strip(), description_en.strip()
    section.cond_question_code, section.cond_operator, section.cond_value = code, op, value
    db.session.flush()
    return section


def delete_section(actor, questionnaire: Questionnaire, section_id: int) -> None:
    version, id_map = editable_version(questionnaire)
    section = _section_in(version, section_id, id_map)
    if len(version.sections) == 1:
        raise DomainError(_l("A questionnaire needs at least one section."))
    codes = {q.code for q in section.questions}
    dependants = [
        row.code if isinstance(row, Question) else row.title
        for other in version.sections
        if other is not section
        for row in [other, *other.questions]
        if row.cond_question_code in codes
    ]
    if dependants:
        raise Conflict(
            _l(
                "Other questions or sections depend on this one: %(names)s",
                names=", ".join(dependants),
            )
        )
    version.sections.remove(section)
    db.session.flush()
    _renumber(version.sections)


def _renumber(rows) -> None:
    for position, row in enumerate(sorted(rows, key=lambda r: (r.position, r.id)), start=1):
        row.position = position
    db.session.flush()


@dataclass
class QuestionData:
    type: str
    text_zh: str
    text_en: str
    help_zh: str = ""
    help_en: str = ""
    required: bool = False
    code: str = ""
    points: int = 5
    low_label_zh: str = ""
    low_label_en: str = ""
    high_label_zh: str = ""
    high_label_en: str = ""
    #: "value | 中文 | English" per line (value optional)
    options: str = ""
    #: "中文 | English | dimension code" per line
    items: str = ""
    dimension_id: int | None = None
    construct: str = ""
    cond_question_code: str = ""
    cond_operator: str = ""
    cond_value: str = ""


def _parse_options(text: str) -> list[dict]:
    options, seen = [], set()
    for n, line in enumerate([ln for ln in text.splitlines() if ln.strip()], start=1):
        parts = [p.strip() for p in line.split("|")]
        if len(parts) >= 3:
            value, zh, en = parts[0], parts[1], parts[2]
        else:
            value, zh, en = str(n), parts[0], parts[1] if len(parts) > 1 else ""
        if not value or value in seen or len(value) > 40:
            raise DomainError(_l("Each choice needs its own short value."), field="options")
        seen.add(value)
        options.append({"value": value, "zh": zh, "en": en})
    return options


def _parse_items(text: str, dimensions: dict[str, int]) -> list[tuple[str, str, int | None]]:
    items = []
    for line in [ln for ln in text.splitlines() if ln.strip()]:
        parts = [p.strip() for p in line.split("|")] + ["", ""]
        dimension = parts[2].lower()
        if dimension and dimension not in dimensions:
            raise DomainError(_l("Unknown dimension code: %(code)s", code=dimension), field="items")
        if not (parts[0] or parts[1]):
            raise DomainError(_l("Each row needs a text."), field="items")
        items.append((parts[0], parts[1], dimensions.get(dimension)))
    return items


def save_question(
    actor,
    questionnaire: Questionnaire,
    question_id: int | None,
    section_id: int | None,
    data: QuestionData,
) -> Question:
    """Create or change a question in the editable version (copying a frozen version first)."""
    try:
        qtype = QuestionType(data.type)
    except ValueError:
        raise DomainError(_l("Pick a question type."), field="type") from None
    if not (data.text_zh.strip() or data.text_en.strip()):
        raise DomainError(_l("Write the question in at least one language."), field="text_zh")
    version, id_map = editable_version(questionnaire)
    if question_id:
        question = _question_in(version, question_id, id_map)
        section = question.section
    else:
        section = _section_in(version, section_id or 0, id_map)
        question = Question(version_id=version.id, section_id=section.id)
        question.position = max((q.position for q in section.questions), default=0) + 1
    code = (data.code or "").strip().lower()
    if not code:
        taken = {q.code for s in version.sections for q in s.questions}
        n = 1
        while f"q{n}" in taken:
            n += 1
        code = f"q{n}"
    if not CODE_RE.match(code):
        raise DomainError(
            _l("Use lower-case letters, digits and _ (starting with a letter)."), field="code"
        )
    for other_section in version.sections:
        for other in other_section.questions:
            if other.code == code and other is not question:
                raise DomainError(_l("Another question already uses this code."), field="code")
    cond = _validate_condition(
        version,
        section.position,
        data.cond_question_code,
        data.cond_operator,
        data.cond_value,
        own_code=code,
    )
    options = (
        _parse_options(data.options)
        if qtype in (QuestionType.SINGLE, QuestionType.MULTIPLE)
        else []
    )
    if qtype in (QuestionType.SINGLE, QuestionType.MULTIPLE) and len(options) < 2:
        raise DomainError(_l("Give at least two choices, one per line."), field="options")
    items = []
    if qtype is QuestionType.MATRIX:
        items = _parse_items(data.items, {d.code: d.id for d in list_dimensions()})
        if not items:
            raise DomainError(_l("Give at least one row, one per line."), field="items")
    if data.dimension_id is not None and db.session.get(Dimension, data.dimension_id) is None:
        raise DomainError(_l("No such dimension."), field="dimension_id")
    construct = None
    if data.construct:
        try:
            construct = Construct(data.construct)
        except ValueError:
            raise DomainError(_l("Unknown construct."), field="construct") from None

    if qtype is QuestionType.NPS:
        question.scale_min, question.scale_max = 0, 10
    elif qtype in (QuestionType.LIKERT, QuestionType.MATRIX):
        if data.points not in LIKERT_POINTS:
            raise DomainError(_l("A rating scale has 5, 7 or 10 points."), field="points")
        question.scale_min, question.scale_max = 1, data.points
    else:
        question.scale_min = question.scale_max = None
    question.code, question.type = code, qtype
    question.text_zh, question.text_en = data.text_zh.strip(), data.text_en.strip()
    question.help_zh, question.help_en = data.help_zh.strip(), data.help_en.strip()
    question.required = bool(data.required)
    question.low_label_zh, question.low_label_en = (
        data.low_label_zh.strip(),
        data.low_label_en.strip(),
    )
    question.high_label_zh = data.high_label_zh.strip()
    question.high_label_en = data.high_label_en.strip()
    question.options = options
    question.dimension_id = data.dimension_id if qtype.scored else None
    question.construct = construct if qtype.scored else None
    question.cond_question_code, question.cond_operator, question.cond_value = cond
    if question.id is None:
        section.questions.append(question)
        db.session.flush()
    existing = list(question.items)
    for position, (zh, en, dimension_id) in enumerate(items, start=1):
        if position <= len(existing):
            item = existing[position - 1]
        else:
            item = MatrixItem(code=f"{code}_{position}")
            question.items.append(item)
        item.position, item.text_zh, item.text_en = position, zh, en
        item.dimension_id = dimension_id or question.dimension_id
        item.construct = question.construct
    for extra in existing[len(items) :]:
        question.items.remove(extra)
    db.session.flush()
    return question


def delete_question(actor, questionnaire: Questionnaire, question_id: int) -> None:
    version, id_map = editable_version(questionnaire)
    question = _question_in(version, question_id, id_map)
    dependants = [
        q.code
        for s in version.sections
        for q in s.questions
        if q.cond_question_code == question.code
    ] + [s.title for s in version.sections if s.cond_question_code == question.code]
    if dependants:
        raise Conflict(
            _l(
                "Other questions or sections depend on this one: %(names)s",
                names=", ".join(dependants),
            )
        )
    section = question.section
    section.questions.remove(question)
    db.session.flush()
    _renumber(section.questions)


def move(actor, questionnaire: Questionnaire, kind: str, object_id: int, direction: str) -> None:
    """Move a section or a question one place up or down."""
    if direction not in ("up", "down") or kind not in ("section", "question"):
        raise DomainError(_l("Unknown action."))
    version, id_map = editable_version(questionnaire)
    if kind == "section":
        target = _section_in(version, object_id, id_map)
        siblings = list(version.sections)
    else:
        target = _question_in(version, object_id, id_map)
        siblings = list(target.section.questions)
    siblings.sort(key=lambda r: r.position)
    index = siblings.index(target)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(siblings):
        siblings[index].position, siblings[other].position = (
            siblings[other].position,
            siblings[index].position,
        )
        db.session.flush()
        if kind == "section":
            _check_conditions_order(version)
    db.session.expire(version, ["sections"])


def _check_conditions_order(version) -> None:
    position_of = {q.code: s.position for s in version.sections for q in s.questions}
    for section in version.sections:
        checks = [section] + list(section.questions)
        for row in checks:
            if (
                row.cond_question_code
                and position_of.get(row.cond_question_code, 0) >= section.position
            ):
                raise DomainError(
                    _l("This move would put a condition before the question it depends on.")
                )


# --------------------------------------------------------------------------------------------
# Answering


def condition_met(row, answers: dict[str, list]) -> bool:
    """Whether a section or question with a display condition is shown, given the answers so far
    (``code -> list of values``). Without an answer to the source question it stays hidden."""
    if not row.has_condition:
        return True
    values = answers.get(row.cond_question_code) or []
    if not values:
        return False
    op, target = row.cond_operator, row.cond_value
    if op in (Operator.LTE, Operator.GTE):
        numbers = [v for v in values if isinstance(v, int | float)]
        if not numbers:
            return False
        limit = float(target)
        return any(n <= limit if op is Operator.LTE else n >= limit for n in numbers)
    as_text = {_as_text(v) for v in values}
    return (target in as_text) if op is Operator.EQ else (target not in as_text)


def _as_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def visible_questions(section: Section, answers: dict[str, list]) -> list[Question]:
    if not condition_met(section, answers):
        return []
    return [q for q in section.questions if condition_met(q, answers)]


def visible_sections(version: QuestionnaireVersion, answers: dict[str, list]) -> list[Section]:
    """Sections a respondent sees: condition met and at least one visible question."""
    return [s for s in version.sections if visible_questions(s, answers)]


def answers_by_code(response: Response | None) -> dict[str, list]:
    """The response's answers as ``question code -> values`` (matrix: ``code.item -> [value]``)."""
    if response is None:
        return {}
    rows = db.session.execute(
        sa.select(Question.code, MatrixItem.code, Answer.value_num, Answer.value_text)
        .join(Question, Question.id == Answer.question_id)
        .outerjoin(MatrixItem, MatrixItem.id == Answer.item_id)
        .where(Answer.response_id == response.id)
        .order_by(Answer.id)
    ).all()
    result: dict[str, list] = {}
    for code, item_code, number, text in rows:
        key = f"{code}.{item_code}" if item_code else code
        result.setdefault(key, []).append(number if number is not None else text)
    return result


@dataclass
class AnswerContext:
    """Who is answering what: built from a public link or an invitation token."""

    questionnaire: Questionnaire
    channel: Channel
    invitation: Invitation | None = None
    #: the browser or attempt key for public answers (unique per questionnaire)
    browser_key: str | None = None
    preview: bool = False

    def find_response(self) -> Response | None:
        if self.invitation is not None:
            return response_to(self.invitation.id)
        if self.browser_key:
            return db.session.scalar(
                sa.select(Response).where(
                    Response.questionnaire_id == self.questionnaire.id,
                    Response.browser_key == self.browser_key,
                )
            )
        return None


# Statements of the answering path, built once (on first use, when the mappers are complete) so
# SQLAlchemy reuses their compiled form.
@functools.cache
def _invitation_by_token() -> sa.Select:
    return (
        sa.select(Invitation)
        .where(Invitation.token == sa.bindparam("token"))
        .options(sa.orm.joinedload(Invitation.questionnaire))
    )


@functools.cache
def _invitation_to_answer() -> sa.Select:
    """What answering an invitation at once needs, in one statement of plain columns (no ORM
    object is built): the invitation, its questionnaire's state, the id and creation time of the
    questionnaire's current version and the segment of the invitation's customer."""
    invitation, questionnaire = Invitation.__table__, Questionnaire.__table__
    version, customer = QuestionnaireVersion.__table__, Customer.__table__
    latest = (
        sa.select(version.c.id)
        .where(version.c.questionnaire_id == invitation.c.questionnaire_id)
        .order_by(version.c.number.desc())
        .limit(1)
        .correlate(invitation)
        .scalar_subquery()
    )
    return (
        sa.select(
            invitation.c.id,
            invitation.c.questionnaire_id,
            invitation.c.customer_id,
            invitation.c.completed_at,
            invitation.c.expires_at,
            questionnaire.c.status,
            questionnaire.c.anonymous,
            questionnaire.c.template,
            version.c.id,
            version.c.created_at,
            customer.c.segment,
        )
        .join(questionnaire, questionnaire.c.id == invitation.c.questionnaire_id)
        .outerjoin(version, version.c.id == latest)
        .outerjoin(customer, customer.c.id == invitation.c.customer_id)
        .where(invitation.c.token == sa.bindparam("token"))
    )


def get_by_public_token(token: str) -> Questionnaire:
    questionnaire = db.session.scalar(
        sa.select(Questionnaire).where(Questionnaire.public_token == token)
    )
    if questionnaire is None or questionnaire.status is Status.DRAFT:
        raise NotFound(_l("This survey link does not exist."))
    return questionnaire


def get_invitation(token: str) -> Invitation:
    invitation = db.session.scalar(_invitation_by_token(), {"token": token})
    if invitation is None:
        raise NotFound(_l("This survey link does not exist."))
    return invitation


def response_to(invitation_id: int) -> Response | None:
    """The response to an invitation, begun or submitted (there is at most one)."""
    return db.session.scalar(sa.select(Response).where(Response.invitation_id == invitation_id))


class ToAnswer(NamedTuple):
    """An invitation as ``invitation_to_answer`` reads it, for answering a whole questionnaire
    at once: plain values, no ORM objects (``answer_context`` loads those when needed)."""

    invitation_id: int
    questionnaire_id: int
    customer_id: int | None
    completed_at: datetime | None
    expires_at: datetime
    status: Status
    anonymous: bool
    template: str
    #: the key ``answering_version`` takes (None when the questionnaire has no version)
    version_key: tuple[int, datetime] | None
    #: the segment of the invitation's customer ("" when none), for the result counts
    segment: str


def invitation_to_answer(token: str) -> ToAnswer:
    """The invitation of ``token`` with what answering it at once needs, in one read."""
    row = db.session.execute(_invitation_to_answer(), {"token": token}).first()
    if row is None:
        raise NotFound(_l("This survey link does not exist."))
    *invitation, version_id, created_at, segment = row
    key = (version_id, created_at) if version_id is not None else None
    return ToAnswer(*invitation, key, segment or "")


def check_answerable(answering: ToAnswer, now: datetime | None = None) -> None:
    """``check_open`` for an invitation read by ``invitation_to_answer``."""
    _refuse_answering(
        answering.status, answering.completed_at, answering.expires_at, now or utcnow()
    )


def answer_context(answering: ToAnswer) -> AnswerContext:
    """The answering context, with ORM objects, of an invitation read by
    ``invitation_to_answer`` (one more read): for completing a response the customer began on
    the web page section by section."""
    invitation = db.session.get(Invitation, answering.invitation_id)
    return AnswerContext(invitation.questionnaire, Channel.INVITATION, invitation=invitation)


def _refuse_answering(
    status: Status, completed_at: datetime | None, expires_at: datetime | None, now: datetime
) -> None:
    if status is not Status.PUBLISHED:
        raise Unavailable(_l("This survey is closed. Thank you for your interest."))
    if completed_at is not None:
        raise AlreadyAnswered(_l("You have already answered this survey. Thank you!"))
    if expires_at is not None and expires_at <= now:
        raise Unavailable(_l("This invitation has expired."))


def check_open(context: AnswerContext, now: datetime | None = None) -> None:
    """Raise when answering is not possible: closed questionnaire, used or expired token."""
    if context.preview:
        return
    invitation = context.invitation
    _refuse_answering(
        context.questionnaire.status,
        invitation.completed_at if invitation is not None else None,
        invitation.expires_at if invitation is not None else None,
        now or utcnow(),
    )


def mark_opened(invitation: Invitation) -> None:
    """Record the first visit of a personal link (atomic: the first visit wins)."""
    db.session.execute(
        sa.update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.opened_at.is_(None))
        .values(opened_at=utcnow())
    )


def _start_response(context: AnswerContext, language: str) -> Response:
    questionnaire = context.questionnaire
    invitation = context.invitation
    customer_id = None
    if invitation is not None and not questionnaire.anonymous:
        customer_id = invitation.customer_id
    response = Response(
        questionnaire_id=questionnaire.id,
        version_id=questionnaire.current_version.id,
        invitation_id=invitation.id if invitation is not None else None,
        customer_id=customer_id,
        channel=context.channel,
        browser_key=context.browser_key,
        language=language,
    )
    db.session.add(response)
    try:
        db.session.flush()
    except IntegrityError:
        # Someone (a double click) created it first; this is the request's first write, so
        # rolling back loses nothing: carry on with theirs.
        db.session.rollback()
        existing = context.find_response()
        if existing is None:
            raise
        return existing
    return response


ANSWER_COLUMNS = ("response_id", "question_id", "item_id", "value_num", "value_text")


def _answer_rows(response_id: int | None, values: dict[tuple[int, int | None], list]) -> list[dict]:
    """``survey_answers`` rows of ``(question id, item id) -> values``: numbers in ``value_num``,
    everything else as text."""
    return [
        {
            "response_id": response_id,
            "question_id": question_id,
            "item_id": item_id,
            "value_num": float(value) if isinstance(value, int | float) else None,
            "value_text": None if isinstance(value, int | float) else str(value),
        }
        for (question_id, item_id), answer_values in values.items()
        for value in answer_values
    ]


def record_section(
    context: AnswerContext,
    response: Response | None,
    section: Section,
    values: dict[tuple[int, int | None], list],
    *,
    language: str,
) -> Response:
    """Save one section's answers (``(question id, matrix item id) -> values``) and, when no
    visible section follows, submit the response.

    Exactly once per invitation or browser, also under concurrent requests: the response row is
    claimed with an ``UPDATE ... WHERE submitted_at IS NULL`` before anything is written (it
    serialises writers on the row), and the unique constraints on ``invitation_id`` and
    ``(questionnaire_id, browser_key)`` stop a second response from being created."""
    if response is None:
        response = _start_response(context, language)
    claimed = db.session.execute(
        sa.update(Response)
        .where(Response.id == response.id, Response.submitted_at.is_(None))
        .values(
            progress=sa.case(
                (Response.progress < section.position, section.position),
                else_=Response.progress,
            )
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        raise AlreadyAnswered(_l("You have already answered this survey. Thank you!"))
    db.session.refresh(response)
    question_ids = [q.id for q in section.questions]
    db.session.execute(
        sa.delete(Answer).where(
            Answer.response_id == response.id, Answer.question_id.in_(question_ids)
        )
    )
    rows = _answer_rows(response.id, values)
    if rows:
        insert_values(Rows(Answer.__table__, ANSWER_COLUMNS, rows))
    answers = answers_by_code(response)
    version = response.version
    sections = visible_sections(version, answers)
    later = [s for s in sections if s.position > section.position]
    if not later:
        _submit(context, response, version, answers)
    db.session.flush()
    return response


#: Frozen versions (they have responses, so ``editable_version`` copies instead of editing them)
#: with their sections, questions and items, detached from any session, by (id, created_at):
#: read-only, shared by the requests of this process.
_FROZEN_VERSIONS: dict[tuple[int, datetime], QuestionnaireVersion] = {}


def answering_version(key: tuple[int, datetime] | None) -> QuestionnaireVersion:
    """The questionnaire's current version (``key``, its id and creation time, from
    ``invitation_to_answer``) with its sections, questions and matrix items loaded, for
    validating a whole response. A version that has responses never changes again, so it is
    loaded once per process and then served from memory (read-only, detached)."""
    if key is None:
        raise Unavailable(_l("This survey is closed. Thank you for your interest."))
    cached = _FROZEN_VERSIONS.get(key)
    if cached is not None:
        return cached
    version = db.session.scalars(_with_structure(key[0])).one()
    if version_has_responses(version):
        _FROZEN_VERSIONS[key] = _detached(version.id)
    return version


def _with_structure(version_id: int) -> sa.Select:
    """The version with its sections, questions and matrix items, in one statement each."""
    return (
        sa.select(QuestionnaireVersion)
        .where(QuestionnaireVersion.id == version_id)
        .options(
            selectinload(QuestionnaireVersion.sections)
            .selectinload(Section.questions)
            .selectinload(Question.items)
        )
    )


def _detached(version_id: int) -> QuestionnaireVersion:
    """A version's structure, loaded through its own session and detached from it."""
    with db.engine.connect() as connection, sa.orm.Session(bind=connection) as session:
        copy = session.scalars(_with_structure(version_id)).one()
        session.expunge_all()
    return copy


def submit_whole(
    answering: ToAnswer,
    version: QuestionnaireVersion,
    values: dict[tuple[int, int | None], list],
    *,
    language: str,
) -> Response | None:
    """Store a whole, already validated response to an invitation (``invitation_to_answer``)
    in one short write: the response row (already submitted), its answers, the invitation
    marked used and the result counts. ``values`` are ``(question id, matrix item id) ->
    values`` of every visible question (see ``record_section``); ``version`` comes from
    ``answering_version``.

    Returns None, having rolled back, when a response to this invitation exists already: an
    unfinished one is completed section by section (``record_section``) by the caller; a
    submitted one is ``AlreadyAnswered``. The single-use guarantees are those of
    ``record_section``: the unique constraint on the response and the guarded UPDATE of the
    invitation, which comes first (nothing is written when it fails). On PostgreSQL the write
    is one statement, so a caller may run it in autocommit (``bulk.autocommit_one_write``)
    unless the questionnaire's submission hooks write too."""
    now = utcnow()
    customer_id = None if answering.anonymous else answering.customer_id
    response = Response(
        questionnaire_id=answering.questionnaire_id,
        version_id=version.id,
        invitation_id=answering.invitation_id,
        customer_id=customer_id,
        channel=Channel.INVITATION,
        language=language,
        started_at=now,
        submitted_at=now,
        progress=max((s.position for s in version.sections), default=0),
        segment=answering.segment if customer_id is not None else "",
    )
    rows = _answer_rows(None, values)  # the response's id is filled in as it is written
    questions = {q.id: q for s in version.sections for q in s.questions}
    counts = count_keys(
        questions,
        [(r["question_id"], r["item_id"], r["value_num"], r["value_text"]) for r in rows],
        now.date(),
        response.channel.value,
        response.segment,
    )
    hooked = bool(_SUBMITTED_HOOKS.get(answering.template))
    if hooked:
        leave_autocommit()  # the hooks write too: one transaction with the response
    try:
        insert_one(
            response,
            Rows(Answer.__table__, ANSWER_COLUMNS, rows, parent="response_id"),
            _count_rows(answering.questionnaire_id, counts),
            guard=_invitation_used(answering.invitation_id, now),
        )
    except IntegrityError:
        db.session.rollback()
        existing = response_to(answering.invitation_id)
        if existing is None:
            raise
        if existing.complete:
            raise AlreadyAnswered(_l("You have already answered this survey. Thank you!")) from None
        return None
    except NotWritten:  # the invitation was used meanwhile
        db.session.rollback()
        raise AlreadyAnswered(_l("You have already answered this survey. Thank you!")) from None
    log.info("response %s submitted (questionnaire %s)", response.id, answering.questionnaire_id)
    if hooked:
        invitation = db.session.get(Invitation, answering.invitation_id)
        _notify_submitted(response, invitation, version, answers_of(version, values))
    return response


def answers_of(
    version: QuestionnaireVersion, values: dict[tuple[int, int | None], list]
) -> dict[str, list]:
    """``values`` keyed as ``answers_by_code`` keys them (``code``, matrix ``code.item``)."""
    codes = {}
    for section in version.sections:
        for question in section.questions:
            codes[(question.id, None)] = question.code
            for item in question.items:
                codes[(question.id, item.id)] = f"{question.code}.{item.code}"
    result: dict[str, list] = {}
    for key, answer_values in values.items():
        result.setdefault(codes[key], []).extend(answer_values)
    return result


def _submit(context: AnswerContext, response: Response, version, answers) -> None:
    now = utcnow()
    # Answers to questions that ended up hidden (a changed earlier answer) are not kept.
    shown = {q.id for s in version.sections for q in visible_questions(s, answers)}
    db.session.execute(
        sa.delete(Answer).where(
            Answer.response_id == response.id, Answer.question_id.not_in(shown or {0})
        )
    )
    done = db.session.execute(
        sa.update(Response)
        .where(Response.id == response.id, Response.submitted_at.is_(None))
        .values(submitted_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        db.session.rollback()
        raise AlreadyAnswered(_l("You have already answered this survey. Thank you!"))
    if context.invitation is not None:
        used = db.session.execute(
            sa.update(Invitation)
            .where(Invitation.id == context.invitation.id, Invitation.completed_at.is_(None))
            .values(completed_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if used != 1:
            db.session.rollback()
            raise AlreadyAnswered(_l("You have already answered this survey. Thank you!"))
    db.session.refresh(response)
    if response.customer_id is not None:
        response.segment = (
            db.session.scalar(
                sa.select(Customer.segment).where(Customer.id == response.customer_id)
            )
            or ""
        )
    rows = db.session.execute(
        sa.select(Answer.question_id, Answer.item_id, Answer.value_num, Answer.value_text).where(
            Answer.response_id == response.id
        )
    ).all()
    questions = {q.id: q for s in version.sections for q in s.questions}
    add_result_counts(
        response.questionnaire_id,
        count_keys(questions, rows, now.date(), response.channel.value, response.segment),
    )
    log.info("response %s submitted (questionnaire %s)", response.id, response.questionnaire_id)
    _notify_submitted(response, context.invitation, version, answers)


# --------------------------------------------------------------------------------------------
# "A response was submitted": the one way other domains learn of it (complaints record the
# recovery rating, churn the loss reasons) without the surveys package importing them.


@dataclass
class Submitted:
    """What a hook receives, inside the submitting transaction (it flushes, never commits)."""

    response: Response
    invitation: Invitation | None
    template: str
    answers: dict[str, list]
    questions: dict[str, Question] = field(default_factory=dict)

    def scaled(self, code: str, lo: int, hi: int) -> int | None:
        """The answer to a scored question, rescaled from the question's own scale to
        ``lo..hi`` and rounded; None when unanswered or not a scored question."""
        question = self.questions.get(code)
        values = self.answers.get(code)
        if question is None or not values or not isinstance(values[0], int | float):
            return None
        low, high = question.scale_min, question.scale_max
        if low is None or high is None or high == low:
            return None
        share = (float(values[0]) - low) / (high - low)
        return max(lo, min(hi, int(lo + share * (hi - lo) + 0.5)))

    def text(self, code: str) -> str:
        return " ".join(str(v) for v in self.answers.get(code, []) if isinstance(v, str)).strip()

    def choices(self, code: str) -> list[str]:
        return [str(v) for v in self.answers.get(code, []) if isinstance(v, str)]


_SUBMITTED_HOOKS: dict[str, list[Callable[[Submitted], None]]] = {}


def on_submitted(template: str):
    """Register ``hook(submitted)`` for every submitted response to a questionnaire made from
    ``template`` (a key of ``TEMPLATES``). Registering the same function twice is harmless."""

    def register(hook: Callable[[Submitted], None]):
        hooks = _SUBMITTED_HOOKS.setdefault(template, [])
        if hook not in hooks:
            hooks.append(hook)
        return hook

    return register


def _notify_submitted(response: Response, invitation, version, answers) -> None:
    template = response.questionnaire.template
    hooks = _SUBMITTED_HOOKS.get(template, [])
    if not hooks:
        return
    questions = {q.code: q for s in version.sections for q in s.questions}
    event = Submitted(response, invitation, template, answers, questions)
    for hook in hooks:
        hook(event)


def published_from_template(kind: str) -> Questionnaire:
    """The latest published, non-anonymous questionnaire made from a shipped template; one is
    created from the template and published when there is none."""
    found = db.session.scalar(
        sa.select(Questionnaire)
        .where(
            Questionnaire.template == kind,
            Questionnaire.status == Status.PUBLISHED,
            Questionnaire.anonymous.is_(False),
        )
        .order_by(Questionnaire.published_at.desc(), Questionnaire.id.desc())
        .limit(1)
    )
    if found is not None:
        return found
    questionnaire = create_from_template(None, kind)
    change_status("system", questionnaire, "publish")
    return questionnaire


def subject_invitation(
    kind: str, purpose: str, subject_id: int, customer_id: int | None, valid_days: int = 60
) -> Invitation:
    """The single invitation to answer the ``kind`` template about one subject of another
    domain (a complaint, a loss): created on first call, returned as it is afterwards (the
    caller checks ``completed_at``), its validity renewed when it expired unanswered."""
    now = utcnow()
    existing = db.session.scalar(
        sa.select(Invitation).where(
            Invitation.purpose == purpose, Invitation.subject_id == subject_id
        )
    )
    if existing is not None:
        if existing.completed_at is None and existing.expires_at <= now:
            existing.expires_at = now + timedelta(days=valid_days)
            db.session.flush()
        return existing
    questionnaire = published_from_template(kind)
    invitation = Invitation(
        questionnaire_id=questionnaire.id,
        customer_id=customer_id,
        purpose=purpose,
        subject_id=subject_id,
        expires_at=now + timedelta(days=valid_days),
    )
    try:
        with db.session.begin_nested():
            db.session.add(invitation)
    except IntegrityError:  # created at the same moment by another request
        return db.session.scalar(
            sa.select(Invitation).where(
                Invitation.purpose == purpose, Invitation.subject_id == subject_id
            )
        )
    return invitation


# --------------------------------------------------------------------------------------------
# Invitations


def create_invitations(
    actor, questionnaire: Questionnaire, customer_ids: list[int], valid_days: int = 30
) -> int:
    """One single-use invitation per picked customer who has none still open. Returns how many
    were created."""
    if questionnaire.status in (Status.CLOSED, Status.ARCHIVED):
        raise DomainError(
            _l("Invitations can only be sent for a draft or published questionnaire.")
        )
    if not 1 <= valid_days <= 365:
        raise DomainError(_l("Between 1 and 365 days."), field="valid_days")
    now = utcnow()
    wanted = set(
        db.session.scalars(sa.select(Customer.id).where(Customer.id.in_(customer_ids or [0])))
    )
    if not wanted:
        raise DomainError(_l("Pick at least one customer."), field="customers")
    already = set(
        db.session.scalars(
            sa.select(Invitation.customer_id).where(
                Invitation.questionnaire_id == questionnaire.id,
                Invitation.customer_id.in_(wanted),
                sa.or_(Invitation.completed_at.is_not(None), Invitation.expires_at > now),
            )
        )
    )
    new = sorted(wanted - already)
    expires = now + timedelta(days=valid_days)
    for customer_id in new:
        db.session.add(
            Invitation(
                questionnaire_id=questionnaire.id, customer_id=customer_id, expires_at=expires
            )
        )
    db.session.flush()
    log.info("questionnaire %s: %d invitations created", questionnaire.id, len(new))
    return len(new)


def get_response(response_id: int) -> Response:
    response = db.session.get(Response, response_id)
    if response is None or response.submitted_at is None:
        raise NotFound(_l("No such response."))
    return response


def record_followup(
    actor,
    response_id: int,
    note: str,
    now: datetime | None = None,
    also: Iterable[int] = (),
) -> list[Followup]:
    """Record that a member of staff contacted the customer of a low-scoring response and what
    came of it, without opening a complaint case (the other way to follow up). Once per
    response: a second attempt, even at the same moment from a colleague, gets ``Conflict``.

    ``also``: other responses of the same customer that the call settled too (one call answers
    all of a customer's low scores); each gets the same note, except those followed up
    meanwhile and any of another customer, which are left alone. Returns the notes written,
    the asked response's first."""
    if actor is None or not actor.has_role(Role.STAFF):
        raise PermissionDenied(_l("Only service staff can record a follow-up."))
    note = (note or "").strip()
    if not note:
        raise DomainError(_l("Write down what the customer said."), field="note")
    if len(note) > FOLLOWUP_NOTE_MAX:
        raise DomainError(
            _l("Keep the note under %(max)d characters.", max=FOLLOWUP_NOTE_MAX), field="note"
        )
    response = get_response(response_id)
    if response.customer_id is None:
        raise DomainError(_l("This response is anonymous: there is nobody to contact."))
    now = now or utcnow()
    written = [Followup(response_id=response.id, user_id=actor.id, note=note, created_at=now)]
    try:
        with db.session.begin_nested():
            db.session.add(written[0])
    except IntegrityError:  # recorded at the same moment by another request
        raise Conflict(_l("This response has already been followed up.")) from None
    same_customer = db.session.scalars(
        sa.select(Response.id).where(
            Response.id.in_(list(also)),
            Response.id != response.id,
            Response.customer_id == response.customer_id,
            Response.submitted_at.is_not(None),
        )
    ).all()
    for other in sorted(same_customer):
        followup = Followup(response_id=other, user_id=actor.id, note=note, created_at=now)
        try:
            with db.session.begin_nested():
                db.session.add(followup)
        except IntegrityError:  # followed up meanwhile: that note stands
            continue
        written.append(followup)
    log.info("responses %s followed up by user %s", [f.response_id for f in written], actor.id)
    return written


def followup_of(response_id: int) -> Followup | None:
    """The follow-up recorded for a response without a case, if any."""
    return db.session.scalar(sa.select(Followup).where(Followup.response_id == response_id))


def followup_prefill(response_id: int) -> dict:
    """What a complaint opened from a survey response starts with: the customer, how to reach
    them, the questionnaire's title and the response's answers as text.

    Returns ``{"response_id", "customer_id", "customer_name", "contact", "email", "phone",
    "questionnaire_title", "questionnaire_id", "submitted_at", "text"}``; ``customer_id`` is
    None for anonymous responses."""
    response = get_response(response_id)
    customer = response.customer
    lines = []
    version = response.version
    answers = answers_by_code(response)
    for section in version.sections:
        for question in section.questions:
            if question.type is QuestionType.MATRIX:
                for item in question.items:
                    value = answers.get(f"{question.code}.{item.code}")
                    if value:
                        lines.append(f"{question.text} – {item.text}: {_as_text(value[0])}")
                continue
            values = answers.get(question.code)
            if not values:
                continue
            if question.type in (QuestionType.SINGLE, QuestionType.MULTIPLE):
                shown = ", ".join(question.option_label(str(v)) for v in values)
            elif question.type.scored:
                shown = f"{_as_text(values[0])} / {question.scale_max}"
            else:
                shown = str(values[0])
            lines.append(f"{question.text}: {shown}")
    return {
        "response_id": response.id,
        "questionnaire_id": response.questionnaire_id,
        "questionnaire_title": response.questionnaire.title,
        "customer_id": customer.id if customer else None,
        "customer_name": customer.name if customer else "",
        "email": customer.email if customer else "",
        "phone": customer.phone if customer else "",
        "contact": (customer.email or customer.phone or "") if customer else "",
        "submitted_at": response.submitted_at,
        "text": "\n".join(lines),
    }


def invitation_message(
    questionnaire: Questionnaire, invitation: Invitation, url: str, reminder: bool
) -> tuple[str, str]:
    """Subject and body of an invitation e-mail, in both languages (the customer's language is
    not known)."""
    title_zh = questionnaire.title_zh or questionnaire.title_en
    title_en = questionnaire.title_en or questionnaire.title_zh
    name = invitation.customer.name
    expires = invitation.expires_at.strftime("%Y-%m-%d")
    if reminder:
        subject = f"提醒：{title_zh} / Reminder: {title_en}"
        lead_zh, lead_en = "我们还没有收到您的回答。", "We have not received your answers yet."
    else:
        subject = f"{title_zh} / {title_en}"
        lead_zh, lead_en = "诚邀您参加我们的满意度调查。", "We would value your opinion."
    body = (
        f"{name}，您好：\n\n{lead_zh}请点击您的专属链接（{expires} 前有效）：\n{url}\n\n"
        f"Dear {name},\n\n{lead_en} Please use your personal link (valid until {expires}):\n{url}\n"
    )
    return subject, body


def pending_invitations(questionnaire: Questionnaire, reminder: bool, now=None) -> list[Invitation]:
    """Invitations to e-mail: never sent ones, or (``reminder``) sent ones not yet completed;
    never expired or completed ones, never customers without an e-mail address."""
    now = now or utcnow()
    query = (
        sa.select(Invitation)
        .join(Customer, Customer.id == Invitation.customer_id)
        .where(
            Invitation.questionnaire_id == questionnaire.id,
            Invitation.completed_at.is_(None),
            Invitation.expires_at > now,
            Customer.email.is_not(None),
            Customer.email != "",
        )
        .order_by(Invitation.id)
    )
    query = query.where(
        Invitation.sent_at.is_not(None) if reminder else Invitation.sent_at.is_(None)
    )
    return list(db.session.scalars(query))


def send_invitations(
    actor, questionnaire: Questionnaire, *, reminder: bool, config, url_for_token
) -> int:
    """E-mail the pending invitations (or reminders) over SMTP; returns how many were sent."""
    from survey_app import mailer

    if not mailer.smtp_configured(config):
        raise DomainError(
            _l("E-mail sending is not configured (SMTP_HOST). Use the CSV export for a mail merge.")
        )
    if questionnaire.status is not Status.PUBLISHED:
        raise DomainError(_l("Publish the questionnaire before sending invitations."))
    invitations = pending_invitations(questionnaire, reminder)
    if not invitations:
        raise DomainError(_l("Nobody to write to: every invitation is sent, answered or expired."))
    messages = []
    for invitation in invitations:
        subject, body = invitation_message(
            questionnaire, invitation, url_for_token(invitation.token), reminder
        )
        messages.append((invitation.customer.email, subject, body))
    try:
        sent = mailer.send_messages(config, messages)
    except OSError as error:  # smtplib.SMTPException derives from OSError
        log.warning("sending invitations failed: %s", error)
        raise DomainError(_l("The mail server could not be reached; nothing was sent.")) from None
    now = utcnow()
    for invitation in invitations:
        if reminder:
            invitation.reminded_at = now
            invitation.reminders += 1
        else:
            invitation.sent_at = now
    db.session.flush()
    log.info(
        "questionnaire %s: %d %s e-mailed",
        questionnaire.id,
        sent,
        "reminders" if reminder else "invitations",
    )
    return sent


# --------------------------------------------------------------------------------------------
# The results summary table


def count_keys(questions: dict[int, Question], answers, day, channel: str, segment: str) -> Counter:
    """The ``ResultCount`` rows one submitted response adds: ``answers`` are its
    ``(question id, item id, value_num, value_text)`` rows, ``questions`` maps ids to questions.
    See ``ResultCount`` for the meaning of each row."""
    keys: Counter = Counter()
    answered: set[int] = set()
    for question_id, item_id, number, text in answers:
        question = questions[question_id]
        base = (question_id, 0, 0.0, "", day, channel, segment)
        if question.type is QuestionType.MATRIX:
            answered.add(question_id)
            keys[(question_id, item_id or 0, float(number), "", day, channel, segment)] += 1
        elif question.type.scored:
            keys[(question_id, 0, float(number), "", day, channel, segment)] += 1
        elif question.type in (QuestionType.SINGLE, QuestionType.MULTIPLE):
            answered.add(question_id)
            keys[(question_id, 0, 0.0, str(text)[:40], day, channel, segment)] += 1
        else:
            keys[base] += 1
    for question_id in answered:
        keys[(question_id, 0, 0.0, "", day, channel, segment)] += 1
    return keys


COUNT_KEY = ("question_id", "item_id", "value_num", "choice", "day", "channel", "segment")


#: the count of a key already in the summary table grows (SQLite and PostgreSQL say it alike)
COUNT_UPSERT = (
    f"ON CONFLICT ({', '.join(COUNT_KEY)}, shard) "
    f"DO UPDATE SET count = {ResultCount.__tablename__}.count + excluded.count"
)
#: rows a key's count may be split over (``ResultCount``)
COUNT_SHARDS = 8


def add_result_counts(questionnaire_id: int, keys: Counter) -> None:
    """Add ``keys`` (from ``count_keys``) to the summary table with an atomic upsert, so
    concurrent submissions never lose a count."""
    insert_values(_count_rows(questionnaire_id, keys))


def _count_rows(questionnaire_id: int, keys: Counter) -> Rows:
    """``keys`` as rows of the summary table, each added to the count already there."""
    shard = os.getpid() % COUNT_SHARDS  # this process's row of each key
    rows = [
        dict(zip(COUNT_KEY, key, strict=True))
        | {"questionnaire_id": questionnaire_id, "count": n, "shard": shard}
        for key, n in keys.items()
    ]
    columns = ("questionnaire_id", *COUNT_KEY, "shard", "count")
    return Rows(ResultCount.__table__, columns, rows, COUNT_UPSERT)


def _invitation_used(invitation_id: int, now: datetime) -> Guard:
    """Mark the invitation used unless somebody did already: a whole response's single-use
    claim (``record_section`` claims the response row instead)."""
    return Guard(
        f"UPDATE {Invitation.__tablename__} SET completed_at = :used_at "  # noqa: S608
        "WHERE id = :invitation_id AND completed_at IS NULL RETURNING 1",
        (("used_at", Invitation.completed_at.type), ("invitation_id", Invitation.id.type)),
        {"used_at": now, "invitation_id": invitation_id},
    )


def rebuild_result_counts(questionnaire: Questionnaire, batch: int = 2000) -> int:
    """Recompute the questionnaire's summary rows from its submitted answers (a repair tool,
    e.g. after answers were corrected by hand). Returns the number of responses counted."""
    db.session.execute(
        sa.delete(ResultCount).where(ResultCount.questionnaire_id == questionnaire.id)
    )
    questions = {
        q.id: q for version in questionnaire.versions for s in version.sections for q in s.questions
    }
    keys: Counter = Counter()
    counted, last_id = 0, 0
    while True:
        responses = db.session.execute(
            sa.select(Response.id, Response.submitted_at, Response.channel, Response.segment)
            .where(
                Response.questionnaire_id == questionnaire.id,
                Response.submitted_at.is_not(None),
                Response.id > last_id,
            )
            .order_by(Response.id)
            .limit(batch)
        ).all()
        if not responses:
            break
        last_id = responses[-1][0]
        answers: dict[int, list] = {}
        for response_id, *row in db.session.execute(
            sa.select(
                Answer.response_id,
                Answer.question_id,
                Answer.item_id,
                Answer.value_num,
                Answer.value_text,
            ).where(Answer.response_id.in_([r[0] for r in responses]))
        ):
            answers.setdefault(response_id, []).append(row)
        for response_id, submitted_at, channel, segment in responses:
            keys.update(
                count_keys(
                    questions,
                    answers.get(response_id, []),
                    submitted_at.date(),
                    channel.value,
                    segment,
                )
            )
        counted += len(responses)
    add_result_counts(questionnaire.id, keys)
    db.session.flush()
    return counted


MAX_PASTED_CODES = 5000


def customers_by_codes(text: str) -> list[int]:
    """Customer ids for a pasted list of customer codes (one per line, or separated by commas
    or spaces); unknown codes are an error naming them."""
    codes = [c for c in re.split(r"[\s,;]+", text or "") if c]
    if not codes:
        return []
    if len(codes) > MAX_PASTED_CODES:
        raise DomainError(
            _l("At most %(num)d codes at once, please.", num=MAX_PASTED_CODES), field="codes"
        )
    found = dict(
        db.session.execute(
            sa.select(Customer.code, Customer.id).where(Customer.code.in_(codes))
        ).all()
    )
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise DomainError(
            _l("Unknown customer codes: %(codes)s", codes=", ".join(unknown[:10])), field="codes"
        )
    return [found[c] for c in codes]
