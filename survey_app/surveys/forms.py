"""Forms of the survey designer, the invitation picker, and the respondent's answer form (built
from a section's questions by ``build_answer_form``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from .models import FOLLOWUP_NOTE_MAX, Construct, Operator, Question, QuestionType

SHORT_TEXT_MAX = 300
LONG_TEXT_MAX = 4000


def choices_of(pairs) -> list[SelectChoice]:
    """WTForms 3.3 wants ``SelectChoice`` objects, not tuples."""
    return [SelectChoice(str(value), label) for value, label in pairs]


def type_choices():
    return choices_of(
        [
            (QuestionType.LIKERT.value, _l("Rating scale (Likert, labelled ends)")),
            (QuestionType.NPS.value, _l("Net Promoter Score (0-10)")),
            (QuestionType.SINGLE.value, _l("Single choice")),
            (QuestionType.MULTIPLE.value, _l("Multiple choice")),
            (QuestionType.SHORT_TEXT.value, _l("Short text")),
            (QuestionType.LONG_TEXT.value, _l("Long text")),
            (QuestionType.MATRIX.value, _l("Rating matrix (several items, one scale)")),
        ]
    )


def construct_labels():
    return {
        Construct.IMAGE: _l("Image"),
        Construct.EXPECTATIONS: _l("Expectations"),
        Construct.QUALITY: _l("Perceived quality"),
        Construct.VALUE: _l("Perceived value"),
        Construct.SATISFACTION: _l("Satisfaction"),
        Construct.LOYALTY: _l("Loyalty"),
    }


def construct_choices():
    return choices_of(
        [("", _l("(none)"))] + [(c.value, label) for c, label in construct_labels().items()]
    )


def operator_choices():
    return choices_of(
        [
            ("", _l("(always shown)")),
            (Operator.LTE.value, _l("is at most")),
            (Operator.GTE.value, _l("is at least")),
            (Operator.EQ.value, _l("is / includes")),
            (Operator.NE.value, _l("is not")),
        ]
    )


class QuestionnaireForm(FlaskForm):
    title_zh = StringField(_l("Title (中文)"), validators=[Length(max=200)])
    title_en = StringField(_l("Title (English)"), validators=[Length(max=200)])
    intro_zh = TextAreaField(_l("Introduction (中文)"), validators=[Length(max=4000)])
    intro_en = TextAreaField(_l("Introduction (English)"), validators=[Length(max=4000)])
    thanks_zh = TextAreaField(_l("Thank-you text (中文)"), validators=[Length(max=4000)])
    thanks_en = TextAreaField(_l("Thank-you text (English)"), validators=[Length(max=4000)])
    anonymous = BooleanField(_l("Anonymous: never link a response to a customer"))
    one_per_browser = BooleanField(_l("Public link: one response per browser"))

    def settings(self) -> dict:
        return {
            name: getattr(self, name).data or ""
            for name in ("title_zh", "title_en", "intro_zh", "intro_en", "thanks_zh", "thanks_en")
        } | {
            "anonymous": bool(self.anonymous.data),
            "one_per_browser": bool(self.one_per_browser.data),
        }


class ConditionFields:
    cond_question_code = SelectField(
        _l("Show only when the answer to"), choices=[], validate_choice=False
    )
    cond_operator = SelectField(
        _l("Comparison"), choices=operator_choices, default="", validate_choice=False
    )
    cond_value = StringField(_l("Value"), validators=[Length(max=80)])


class SectionForm(ConditionFields, FlaskForm):
    title_zh = StringField(_l("Title (中文)"), validators=[Length(max=200)])
    title_en = StringField(_l("Title (English)"), validators=[Length(max=200)])
    description_zh = TextAreaField(_l("Description (中文)"), validators=[Length(max=4000)])
    description_en = TextAreaField(_l("Description (English)"), validators=[Length(max=4000)])


class QuestionForm(ConditionFields, FlaskForm):
    type = SelectField(_l("Type"), choices=type_choices)
    code = StringField(
        _l("Code"),
        validators=[Length(max=40)],
        description=_l("Short name for exports and conditions, e.g. csat (left empty: q1, q2, …)."),
    )
    text_zh = TextAreaField(_l("Question (中文)"), validators=[Length(max=2000)])
    text_en = TextAreaField(_l("Question (English)"), validators=[Length(max=2000)])
    help_zh = StringField(_l("Help text (中文)"), validators=[Length(max=500)])
    help_en = StringField(_l("Help text (English)"), validators=[Length(max=500)])
    required = BooleanField(_l("Required"))
    points = SelectField(
        _l("Scale points (rating and matrix)"),
        choices=choices_of([("5", "5"), ("7", "7"), ("10", "10")]),
        default="5",
    )
    low_label_zh = StringField(_l("Label of the lowest point (中文)"), validators=[Length(max=80)])
    low_label_en = StringField(
        _l("Label of the lowest point (English)"), validators=[Length(max=80)]
    )
    high_label_zh = StringField(
        _l("Label of the highest point (中文)"), validators=[Length(max=80)]
    )
    high_label_en = StringField(
        _l("Label of the highest point (English)"), validators=[Length(max=80)]
    )
    options = TextAreaField(
        _l("Choices (single/multiple)"),
        validators=[Length(max=4000)],
        description=_l("One per line: value | 中文 | English (the value may be left out)."),
    )
    items = TextAreaField(
        _l("Matrix rows"),
        validators=[Length(max=4000)],
        description=_l("One per line: 中文 | English | dimension code (optional)."),
    )
    dimension_id = SelectField(_l("Dimension"), choices=[], validate_choice=False)
    construct = SelectField(
        _l("Construct of the index model"),
        choices=construct_choices,
        default="",
        validate_choice=False,
    )


class DimensionForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    name_zh = StringField(_l("Name (中文)"), validators=[Length(max=80)])
    name_en = StringField(_l("Name (English)"), validators=[Length(max=80)])


class InvitationForm(FlaskForm):
    customers = SelectMultipleField(
        _l("Customers"),
        choices=[],
        coerce=int,
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    whole_selection = BooleanField(_l("Invite every customer matching the filter"))
    codes = TextAreaField(
        _l("Or paste customer codes"),
        validators=[Length(max=200_000)],
        description=_l("One per line, or separated by commas: e.g. a list exported from the CRM."),
    )
    valid_days = IntegerField(
        _l("Valid for (days)"), default=30, validators=[DataRequired(), NumberRange(1, 365)]
    )


class ResultsFilterForm(FlaskForm):
    class Meta:
        csrf = False

    start = StringField(_l("From"), validators=[Optional()])
    end = StringField(_l("To"), validators=[Optional()])


# --------------------------------------------------------------------------------------------
# The respondent's form


def field_name(question: Question, item=None) -> str:
    return f"q_{question.code}" + (f"__{item.code}" if item is not None else "")


class AnswerForm(FlaskForm):
    """Fields are added per question by ``build_answer_form``."""


def build_answer_form(questions: list[Question], prefill: dict[str, list], formdata=None):
    """The answer form of one section: a field per visible question (per row for a matrix).

    ``prefill`` holds earlier answers (``code`` or ``code.item`` -> values), so a resumed or
    re-shown section keeps what the respondent gave. Validation is ``validate_answers``."""

    class SectionAnswerForm(AnswerForm):
        pass

    defaults = {}
    for question in questions:
        if question.type is QuestionType.MATRIX:
            for item in question.items:
                name = field_name(question, item)
                setattr(
                    SectionAnswerForm,
                    name,
                    RadioField(
                        item.text,
                        choices=choices_of((v, v) for v in question.scale()),
                        validate_choice=False,
                    ),
                )
                value = prefill.get(f"{question.code}.{item.code}")
                defaults[name] = _scored_default(value)
            continue
        name = field_name(question)
        value = prefill.get(question.code)
        if question.type.scored:
            field = RadioField(
                question.text,
                choices=choices_of((v, v) for v in question.scale()),
                validate_choice=False,
            )
            defaults[name] = _scored_default(value)
        elif question.type is QuestionType.SINGLE:
            field = RadioField(
                question.text, choices=choices_of(question.choices()), validate_choice=False
            )
            defaults[name] = str(value[0]) if value else None
        elif question.type is QuestionType.MULTIPLE:
            field = SelectMultipleField(
                question.text,
                choices=choices_of(question.choices()),
                validate_choice=False,
                widget=ListWidget(prefix_label=False),
                option_widget=CheckboxInput(),
            )
            defaults[name] = [str(v) for v in value or []]
        elif question.type is QuestionType.SHORT_TEXT:
            field = StringField(question.text)
            defaults[name] = str(value[0]) if value else ""
        else:
            field = TextAreaField(question.text)
            defaults[name] = str(value[0]) if value else ""
        setattr(SectionAnswerForm, name, field)
    if formdata is not None:
        return SectionAnswerForm(formdata=formdata)
    return SectionAnswerForm(formdata=None, data=defaults)


def _scored_default(value):
    if not value:
        return None
    number = value[0]
    return str(int(number)) if isinstance(number, float) and number.is_integer() else str(number)


def answer_names(questions: list[Question]) -> list[tuple[str, bool]]:
    """``(field name, several values)`` of every answer field of ``questions``."""
    names = []
    for question in questions:
        if question.type is QuestionType.MATRIX:
            names += [(field_name(question, item), False) for item in question.items]
        else:
            names.append((field_name(question), question.type is QuestionType.MULTIPLE))
    return names


def check_answers(
    data: Mapping[str, Any], questions: list[Question]
) -> tuple[dict, dict[str, list]]:
    """Check the answers to ``questions``: ``data`` maps each field name (``field_name``) to
    what was posted, a value or None (a list for a multiple-choice question). Returns the
    values, ``{(question id, item id or None): [values]}`` for ``services.record_section``, and
    the messages by field name (empty when everything is right). The web form and the API
    share it."""
    values: dict = {}
    errors: dict[str, list] = {}

    def fail(name: str, message) -> None:
        errors.setdefault(name, []).append(message)

    for question in questions:
        if question.type is QuestionType.MATRIX:
            missing = False
            for item in question.items:
                name = field_name(question, item)
                raw = data.get(name)
                number = _score(raw, question)
                if raw not in (None, "") and number is None:
                    fail(name, _l("Pick a point on the scale."))
                elif number is None:
                    missing = True
                else:
                    values[(question.id, item.id)] = [number]
            if missing and question.required:
                fail(field_name(question, question.items[0]), _l("Please rate every row."))
            continue
        name = field_name(question)
        raw = data.get(name)
        if question.type.scored:
            number = _score(raw, question)
            if raw not in (None, "") and number is None:
                fail(name, _l("Pick a point on the scale."))
            elif number is not None:
                values[(question.id, None)] = [number]
            elif question.required:
                fail(name, _l("Please answer this question."))
        elif question.type is QuestionType.SINGLE:
            allowed = {v for v, _label in question.choices()}
            if raw not in (None, "") and raw not in allowed:
                fail(name, _l("Pick one of the choices."))
            elif raw:
                values[(question.id, None)] = [raw]
            elif question.required:
                fail(name, _l("Please choose an answer."))
        elif question.type is QuestionType.MULTIPLE:
            allowed = [v for v, _label in question.choices()]
            chosen = [v for v in allowed if v in set(raw or [])]
            if set(raw or []) - set(allowed):
                fail(name, _l("Pick among the choices shown."))
            elif chosen:
                values[(question.id, None)] = chosen
            elif question.required:
                fail(name, _l("Please choose at least one answer."))
        else:
            text = (raw or "").strip()
            limit = SHORT_TEXT_MAX if question.type is QuestionType.SHORT_TEXT else LONG_TEXT_MAX
            if len(text) > limit:
                fail(name, _l("At most %(num)d characters, please.", num=limit))
            elif text:
                values[(question.id, None)] = [text]
            elif question.required:
                fail(name, _l("Please answer this question."))
    return values, errors


def validate_answers(form, questions: list[Question]) -> dict | None:
    """Check the posted answer form (``check_answers``); put messages on the fields and return
    None when something is wrong, else the values for ``services.record_section``."""
    values, errors = check_answers(
        {name: form[name].data for name, _many in answer_names(questions)}, questions
    )
    for name, messages in errors.items():
        form[name].errors = [*form[name].errors, *messages]
    return None if errors else values


def _score(data, question: Question):
    if data in (None, ""):
        return None
    try:
        number = int(str(data))
    except ValueError:
        return None
    if question.scale_min is None or not question.scale_min <= number <= question.scale_max:
        return None
    return number


class FollowupForm(FlaskForm):
    """What came of contacting a detractor, when no complaint case is needed."""

    note = TextAreaField(
        _l("What the customer said"),
        validators=[DataRequired(), Length(max=FOLLOWUP_NOTE_MAX)],
        description=_l("For example: spoke on the phone, delivery now fixed, no case needed."),
    )
    #: also for the customer's other low-scoring responses waiting (the page says how many)
    include_others = BooleanField(default=True)
