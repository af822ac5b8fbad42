from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DecimalField, FloatField, IntegerField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, NumberRange

from .importing import COLUMNS

KIND_CHOICES = [
    SelectChoice("customers", _l("Customers")),
    SelectChoice("transactions", _l("Transactions")),
    SelectChoice("contracts", _l("Contracts")),
]


class UploadForm(FlaskForm):
    kind = SelectField(_l("What the file holds"), choices=KIND_CHOICES, validators=[DataRequired()])
    file = FileField(
        _l("CSV or XLSX file"),
        validators=[FileRequired(_l("Choose a file."))],
        description=_l("The first row must hold the column names. At most 500,000 rows."),
    )


def mapping_form(kind: str, headers: list[str], formdata=None, guessed=None) -> FlaskForm:
    """A form with one column picker per field of ``kind``, preset to the guessed mapping."""

    class MappingForm(FlaskForm):
        pass

    choices = [SelectChoice("", _l("— not in the file —"))] + [SelectChoice(h, h) for h in headers]
    for column in COLUMNS[kind]:
        setattr(
            MappingForm,
            f"map_{column.name}",
            SelectField(
                column.label,
                choices=choices,
                default=(guessed or {}).get(column.name, ""),
                description=_l("required") if column.required else None,
            ),
        )
    return MappingForm(formdata=formdata)


def mapping_from(form, kind: str) -> dict[str, str]:
    return {c.name: getattr(form, f"map_{c.name}").data or "" for c in COLUMNS[kind]}


class ValueSettingsForm(FlaskForm):
    discount_rate = FloatField(
        _l("Discount rate per year"),
        validators=[InputRequired(), NumberRange(min=0, max=1)],
        description=_l("d in the CLV formula, e.g. 0.10 for 10%. Default 0.10."),
    )
    horizon_years = IntegerField(
        _l("Horizon (years)"),
        validators=[InputRequired(), NumberRange(min=1, max=30)],
        description=_l("How many years of future margin CLV counts. Default 5."),
    )
    acquisition_cost = DecimalField(
        _l("Acquisition cost per customer (¥)"),
        places=2,
        validators=[InputRequired(), NumberRange(min=0, max=10_000_000)],
        description=_l("Subtracted once from each customer's CLV. Default 0."),
    )
    default_retention = FloatField(
        _l("Default yearly retention"),
        validators=[InputRequired(), NumberRange(min=0, max=1)],
        description=_l(
            "r for a segment without a year of history; otherwise r is measured. Default 0.75."
        ),
    )
    key_share = FloatField(
        _l("Key customers: share of total value"),
        validators=[InputRequired(), NumberRange(min=0.05, max=0.99)],
        description=_l("The 80 of the 80/20 rule. Default 0.80."),
    )
    general_share = FloatField(
        _l("Key and general customers: share of total value"),
        validators=[InputRequired(), NumberRange(min=0.06, max=1)],
        description=_l("The rest are minor customers. Default 0.95."),
    )
