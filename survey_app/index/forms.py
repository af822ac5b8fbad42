from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField
from wtforms.validators import InputRequired, NumberRange


def _weight(label):
    return DecimalField(
        label,
        places=3,
        validators=[
            InputRequired(_l("Enter a weight.")),
            NumberRange(0, 1, _l("A weight is between 0 and 1.")),
        ],
    )


class WeightsForm(FlaskForm):
    weight_s = _weight(_l("Satisfaction (S)"))
    weight_c = _weight(_l("Complaint handling (C)"))
    weight_r = _weight(_l("Retention (R)"))

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        total = self.weight_s.data + self.weight_c.data + self.weight_r.data
        if abs(float(total) - 1.0) > 1e-6:
            self.weight_r.errors.append(_l("The three weights must add up to 1."))
            return False
        return True
