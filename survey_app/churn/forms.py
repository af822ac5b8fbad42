from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    FloatField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

LEARNT_CHOICES_PAIRS = [
    ("", _l("— not known yet —")),
    ("exit_survey", _l("Exit survey")),
    ("interview", _l("Interview")),
    ("staff_judgement", _l("Staff judgement")),
]
CHANNEL_CHOICES_PAIRS = [
    ("phone", _l("Phone")),
    ("email", _l("E-mail")),
    ("visit", _l("Visit")),
    ("message", _l("Message")),
]
OUTCOME_CHOICES_PAIRS = [
    ("no_answer", _l("No answer")),
    ("declined", _l("Declined")),
    ("considering", _l("Considering")),
    ("agreed", _l("Agreed to come back")),
]


LEARNT_CHOICES = dict(LEARNT_CHOICES_PAIRS)
CHANNEL_CHOICES = dict(CHANNEL_CHOICES_PAIRS)
OUTCOME_CHOICES = dict(OUTCOME_CHOICES_PAIRS)


def select_choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of check boxes (easier than a multiple select on a phone)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ReasonsForm(FlaskForm):
    reasons = CheckboxesField(_l("Reasons for leaving"), coerce=int, validators=[Optional()])
    learnt_how = SelectField(
        _l("How the reason was learnt"), choices=select_choices(LEARNT_CHOICES_PAIRS)
    )
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])


class AttemptForm(FlaskForm):
    attempted_on = DateField(_l("Date of contact"), validators=[DataRequired()])
    channel = SelectField(_l("Channel"), choices=select_choices(CHANNEL_CHOICES_PAIRS))
    outcome = SelectField(_l("Outcome"), choices=select_choices(OUTCOME_CHOICES_PAIRS))
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])


class ChurnSettingsForm(FlaskForm):
    rhythm_multiplier = FloatField(
        _l("Lost after this many times the usual gap"),
        validators=[InputRequired(), NumberRange(min=1, max=20)],
        description=_l("k: no order for k × the customer's median gap between orders. Default 4."),
    )
    floor_days = IntegerField(
        _l("But never before (days)"),
        validators=[InputRequired(), NumberRange(min=1, max=3650)],
        description=_l("Default 90."),
    )
    default_days = IntegerField(
        _l("Days without an order for customers with no rhythm yet"),
        validators=[InputRequired(), NumberRange(min=1, max=3650)],
        description=_l("Used below three orders. Default 180."),
    )
    at_risk_share = FloatField(
        _l("At risk after this share of the threshold"),
        validators=[InputRequired(), NumberRange(min=0.05, max=0.95)],
        description=_l("Default 0.6."),
    )
    renewal_grace_days = IntegerField(
        _l("Contract renewal grace (days)"),
        validators=[InputRequired(), NumberRange(min=0, max=365)],
        description=_l("A new contract within this many days of the end renews it. Default 30."),
    )
    renewal_warning_days = IntegerField(
        _l("Contract at risk this many days before its end"),
        validators=[InputRequired(), NumberRange(min=0, max=365)],
        description=_l("Default 60."),
    )
    won_back_days = IntegerField(
        _l("Show as won back for (days)"),
        validators=[InputRequired(), NumberRange(min=1, max=3650)],
        description=_l("Default 365."),
    )
