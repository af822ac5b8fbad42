"""Use cases the API needs on top of the domain services: whole-response survey submission,
batch imports from JSON records, the customer-facing complaint status, and keyset pages."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from survey_app.customers import importing
from survey_app.customers import services as customer_services
from survey_app.customers.models import Customer, CustomerValue
from survey_app.errors import DomainError, NotFound
from survey_app.extensions import db
from survey_app.surveys import services as survey_services
from survey_app.surveys.forms import answer_names, check_answers, field_name
from survey_app.surveys.models import QuestionType, Response


class InvalidAnswers(DomainError):
    status_code = 422

    def __init__(self, message, fields: dict[str, list[str]]):
        super().__init__(message)
        self.fields = fields


def _formdata(answers: dict, version) -> MultiDict:
    """The answers as the web form would post them, so that one validator serves both."""
    known = {}
    for section in version.sections:
        for question in section.questions:
            if question.type is QuestionType.MATRIX:
                for item in question.items:
                    known[f"{question.code}.{item.code}"] = field_name(question, item)
            else:
                known[question.code] = field_name(question)
    unknown = sorted(code for code in answers if code not in known)
    if unknown:
        raise InvalidAnswers(
            _l("Unknown question codes."),
            {code: [str(_l("No such question."))] for code in unknown},
        )
    data = MultiDict()
    for code, value in answers.items():
        values = value if isinstance(value, list) else [value]
        for one in values:
            if isinstance(one, bool) or not isinstance(one, str | int | float) or one is None:
                raise InvalidAnswers(
                    _l("Some answers are not valid."),
                    {code: [str(_l("Give a number, a text or a list of choice values."))]},
                )
            text = str(one)
            if "\x00" in text or any("\ud800" <= ch <= "\udfff" for ch in text):
                raise InvalidAnswers(
                    _l("Some answers are not valid."),
                    {code: [str(_l("Contains characters that are not allowed."))]},
                )
            data.add(known[code], text)
    return data


def submit_survey_response(token: str, answers: dict, language: str) -> Response:
    """Answer a whole questionnaire through an invitation in one call: every visible section in
    order, validated exactly as the web form validates it, and submitted. All or nothing; the
    invitation's one-response guarantee is the one of ``surveys.services.record_section``.

    Everything is validated before anything is written, then the response is stored in one
    short write (``submit_whole``); only when the customer had started answering on the web
    page does it complete that response section by section."""
    answering = survey_services.invitation_to_answer(token)
    survey_services.check_answerable(answering)
    version = survey_services.answering_version(answering.version_key)
    formdata = _formdata(answers, version)
    values: dict = {}
    for section in _answered_sections(version, formdata, {}):
        values.update(section[1])
    response = survey_services.submit_whole(answering, version, values, language=language)
    if response is not None:
        return response
    return _complete_started(survey_services.answer_context(answering), answers, language)


def _answered_sections(version, formdata: MultiDict, so_far: dict[str, list], position: int = 0):
    """Validate the visible sections after ``position`` in order, yielding ``(section, values)``;
    which sections are visible follows from the answers given so far."""
    so_far = dict(so_far)
    while True:
        following = [
            s for s in survey_services.visible_sections(version, so_far) if s.position > position
        ]
        if not following:
            if position == 0:
                raise DomainError(_l("This survey has no questions yet."))
            return
        section = following[0]
        questions = survey_services.visible_questions(section, so_far)
        values, errors = check_answers(
            {
                name: formdata.getlist(name) if many else formdata.get(name)
                for name, many in answer_names(questions)
            },
            questions,
        )
        if errors:
            by_code = {field_name(q): q.code for q in questions}
            for q in questions:
                for item in q.items if q.type is QuestionType.MATRIX else ():
                    by_code[field_name(q, item)] = f"{q.code}.{item.code}"
            raise InvalidAnswers(
                _l("Some answers are missing or not valid."),
                {by_code[name]: [str(m) for m in messages] for name, messages in errors.items()},
            )
        yield section, values
        so_far.update(survey_services.answers_of(version, values))
        position = section.position


def _complete_started(context, answers: dict, language: str) -> Response:
    """The customer began on the web page: finish that response (its version, its answers so
    far) section by section."""
    response = context.find_response()
    version = response.version
    formdata = _formdata(answers, version)
    for section, values in _answered_sections(version, formdata, {}):
        response = survey_services.record_section(
            context, response, section, values, language=language
        )
        if response.complete:
            break
    return response


def _table(kind: str, records: list[dict]) -> tuple[importing.Table, dict[str, str]]:
    names = [column.name for column in importing.COLUMNS[kind]]
    rows = []
    for record in records:
        row = []
        for name in names:
            value = record.get(name)
            row.append(
                ""
                if value is None
                else value.isoformat()
                if isinstance(value, date)
                else str(value)
            )
        rows.append(row)
    return importing.Table(headers=names, rows=rows), {name: name for name in names}


class InvalidRecords(DomainError):
    status_code = 422

    def __init__(self, message, fields: dict[str, list[str]]):
        super().__init__(message)
        self.fields = fields


def import_records(actor, kind: str, records: list[dict]) -> importing.ImportResult:
    """Import a batch of customers or transactions, matched on their external id: a repeated
    batch changes nothing. Every record is checked as an uploaded file's rows are; a bad record
    rejects the whole batch with its index."""
    table, mapping = _table(kind, records)
    checked = customer_services.check_file(kind, table, mapping)
    if not checked.ok:
        raise InvalidRecords(
            _l("Some records are not valid: nothing was imported."),
            {f"{kind}[{error.line - 2}]": [error.message] for error in checked.errors[:100]},
        )
    return customer_services.import_file(actor, kind, table, mapping)


def customer_page(
    *, segment: str | None, region: str | None, after: str | None, limit: int
) -> tuple[list[tuple[Customer, str]], str | None]:
    """Customers ordered by code, ``limit`` after the cursor, with their value tier."""
    query = sa.select(Customer, CustomerValue.tier).outerjoin(
        CustomerValue, CustomerValue.customer_id == Customer.id
    )
    if segment:
        query = query.where(Customer.segment == segment)
    if region:
        query = query.where(Customer.region == region)
    if after:
        query = query.where(Customer.code > after)
    rows = db.session.execute(query.order_by(Customer.code).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = [(customer, tier or "minor") for customer, tier in rows[:limit]]
    return rows, (rows[-1][0].code if more and rows else None)


def customer_by_code(code: str) -> tuple[Customer, str]:
    row = db.session.execute(
        sa.select(Customer, CustomerValue.tier)
        .outerjoin(CustomerValue, CustomerValue.customer_id == Customer.id)
        .where(Customer.code == code)
    ).first()
    if row is None:
        raise NotFound(_l("No such customer."))
    return row[0], row[1] or "minor"


def customer_id_by_code(code: str) -> int:
    customer_id = db.session.scalar(sa.select(Customer.id).where(Customer.code == code))
    if customer_id is None:
        raise DomainError(_l("No customer with this code."), field="customer_code")
    return customer_id
