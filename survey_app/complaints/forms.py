from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from .models import Channel, Severity

SEVERITY_LABELS = {
    Severity.LOW: _l("Low"),
    Severity.MEDIUM: _l("Medium"),
    Severity.HIGH: _l("High"),
    Severity.CRITICAL: _l("Critical"),
}
CHANNEL_LABELS = {
    Channel.WEB: _l("Web form"),
    Channel.PHONE: _l("Phone"),
    Channel.EMAIL: _l("E-mail"),
    Channel.LETTER: _l("Letter"),
    Channel.IN_PERSON: _l("In person"),
    Channel.SURVEY: _l("Survey follow-up"),
}
TIER_LABELS = {"key": _l("Key customer"), "general": _l("General customer")}


def sc(pairs) -> list[SelectChoice]:
    """(value, label) pairs as the SelectChoice objects WTForms wants."""
    return [SelectChoice(value, label) for value, label in pairs]


def _coerce_int(value):
    return int(value) if value not in (None, "") else None


class PublicComplaintForm(FlaskForm):
    class Meta:
        # CSRFProtect checks every post before the view runs; a per-form token would only sign
        # a fresh token on every post, for a page that is then not shown
        csrf = False

    contact_name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=120)])
    contact_email = StringField(
        _l("E-mail"), validators=[Optional(), Email(check_deliverability=False), Length(max=254)]
    )
    contact_phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    #: the choices are the active categories, set by the view for showing the form; the
    #: service checks a posted one, so a post need not read the list
    category_id = SelectField(
        _l("What is it about?"),
        coerce=_coerce_int,
        validators=[DataRequired()],
        validate_choice=False,
    )
    description = TextAreaField(_l("What happened?"), validators=[DataRequired(), Length(max=5000)])
    occurred_on = DateField(_l("When did it happen?"), validators=[Optional()])
    order_ref = StringField(
        _l("Order or product reference"), validators=[Optional(), Length(max=80)]
    )
    desired_outcome = TextAreaField(
        _l("What would you like us to do?"), validators=[Optional(), Length(max=2000)]
    )
    attachments = MultipleFileField(
        _l("Photos or PDF (optional)"),
        description=_l("Up to 5 files, 5 MB each: PNG, JPEG, GIF or PDF."),
    )


class StaffComplaintForm(PublicComplaintForm):
    channel = SelectField(
        _l("Received by"),
        choices=sc(
            (c.value, CHANNEL_LABELS[c]) for c in Channel if c not in (Channel.WEB, Channel.SURVEY)
        ),
    )
    severity = SelectField(
        _l("Severity"),
        choices=sc((s.value, SEVERITY_LABELS[s]) for s in Severity),
        default="medium",
    )


class ActionForm(FlaskForm):
    action = HiddenField(validators=[DataRequired()])
    version = HiddenField()
    text = TextAreaField(_l("Message"), validators=[Optional(), Length(max=5000)])
    root_cause_id = SelectField(_l("Root cause"), coerce=_coerce_int, validators=[Optional()])
    root_cause_text = TextAreaField(
        _l("Root cause details"), validators=[Optional(), Length(max=5000)]
    )
    corrective_action = TextAreaField(
        _l("Corrective action taken"), validators=[Optional(), Length(max=5000)]
    )
    merge_code = StringField(
        _l("Tracking code of the surviving complaint"), validators=[Optional(), Length(max=16)]
    )


class CustomerActionForm(FlaskForm):
    action = HiddenField(validators=[DataRequired()])
    text = TextAreaField(_l("Message"), validators=[Optional(), Length(max=5000)])
    attachments = MultipleFileField(_l("Photos or PDF (optional)"))


class NoteForm(FlaskForm):
    body = TextAreaField(_l("Text"), validators=[DataRequired(), Length(max=5000)])
    to_customer = BooleanField(_l("Send to the customer (visible on the tracking page)"))
    attachment = FileField(_l("Attach a file"))


class AssignForm(FlaskForm):
    version = HiddenField()
    assignee_id = SelectField(_l("Assignee"), coerce=_coerce_int, validators=[Optional()])
    queue_id = SelectField(_l("Queue"), coerce=_coerce_int, validators=[Optional()])


class EditForm(FlaskForm):
    version = HiddenField()
    severity = SelectField(
        _l("Severity"), choices=sc((s.value, SEVERITY_LABELS[s]) for s in Severity)
    )
    category_id = SelectField(_l("Category"), coerce=_coerce_int, validators=[DataRequired()])
    contact_name = StringField(_l("Contact name"), validators=[DataRequired(), Length(max=120)])
    contact_email = StringField(
        _l("E-mail"), validators=[Optional(), Email(check_deliverability=False), Length(max=254)]
    )
    contact_phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    order_ref = StringField(
        _l("Order or product reference"), validators=[Optional(), Length(max=80)]
    )
    desired_outcome = TextAreaField(
        _l("Desired outcome"), validators=[Optional(), Length(max=2000)]
    )


class LinkCustomerForm(FlaskForm):
    version = HiddenField()
    customer_id = IntegerField(validators=[Optional()])


class RootCauseForm(FlaskForm):
    name_zh = StringField(_l("Name (Chinese)"), validators=[Length(max=80)])
    name_en = StringField(_l("Name (English)"), validators=[Length(max=80)])
    active = BooleanField(_l("Active"), default=True)


class QueueForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    member_ids = SelectMultipleField(_l("Members"), coerce=int)
    category_ids = SelectMultipleField(_l("Categories routed here"), coerce=int)


WEEKDAY_CHOICES = [
    (1, _l("Monday")),
    (2, _l("Tuesday")),
    (3, _l("Wednesday")),
    (4, _l("Thursday")),
    (5, _l("Friday")),
    (6, _l("Saturday")),
    (7, _l("Sunday")),
]


class CalendarForm(FlaskForm):
    enabled = BooleanField(_l("Count only working hours"))
    start = StringField(
        _l("Working day starts (HH:MM)"), validators=[DataRequired(), Length(max=5)]
    )
    end = StringField(_l("Working day ends (HH:MM)"), validators=[DataRequired(), Length(max=5)])
    weekdays = SelectMultipleField(_l("Working days"), coerce=int, choices=sc(WEEKDAY_CHOICES))
    timezone = StringField(_l("Time zone"), validators=[DataRequired(), Length(max=40)])
    holidays = TextAreaField(
        _l("Holidays"), description=_l("One date per line, YYYY-MM-DD."), validators=[Optional()]
    )


def sla_field_name(severity: Severity, tier: str, kind: str) -> str:
    return f"{kind}_{severity.value}_{tier}"


class SlaForm(FlaskForm):
    """Hours per severity and tier; fields are added by ``sla_form()``."""


def sla_form(targets, formdata=None):
    from survey_app.complaints.services import TIERS

    class _Form(SlaForm):
        pass

    for severity in Severity:
        for tier in TIERS:
            for kind in ("ack", "resolve"):
                setattr(
                    _Form,
                    sla_field_name(severity, tier, kind),
                    IntegerField(
                        validators=[DataRequired(), NumberRange(min=1, max=24 * 365 * 60)],
                        default=targets[(severity, tier)][0 if kind == "ack" else 1],
                    ),
                )
    return _Form(formdata=formdata)
