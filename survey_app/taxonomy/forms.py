from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class ReasonForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=40)],
        description=_l("A short key such as late_delivery; it cannot change later."),
    )
    name_zh = StringField(_l("Name (Chinese)"), validators=[Length(max=80)])
    name_en = StringField(_l("Name (English)"), validators=[Length(max=80)])
    for_complaints = BooleanField(_l("Offer as a complaint category"), default=True)
    for_losses = BooleanField(_l("Offer as a reason for leaving"), default=True)
    active = BooleanField(_l("Active"), default=True)
    position = IntegerField(
        _l("Position in lists"), validators=[Optional(), NumberRange(min=0, max=10000)]
    )
