"""Forms of the weighting console and the sample-size planner."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    Field,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import TextInput

from survey_app import formatting
from survey_app.forms.base import Form
from survey_app.forms.fields import BoundedIntegerField
from survey_app.numbers import AmbiguousNumberError, NumberError, parse_number
from survey_app.weighting.spec import METHODS
from survey_app.weighting.targets import LIMITS as TARGET_LIMITS


class NumberField(Field):
    """A decimal number, empty allowed, read by the one rule of
    :func:`survey_app.numbers.parse_number` (``0,5`` and ``0.5``, ``1.500`` and ``1 500``;
    ``5,000`` is refused with its two readings), and shown the reader's way."""

    widget = TextInput()

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("render_kw", {"inputmode": "decimal"})
        super().__init__(label, validators, **kwargs)

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return "" if self.data is None else formatting.editable(self.data)

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = None
        if not valuelist or not valuelist[0].strip():
            return
        try:
            self.data = parse_number(valuelist[0])
        except AmbiguousNumberError as error:
            raise ValueError(str(error)) from None
        except NumberError:
            raise ValueError(_l("Enter a number, for example 0.5 or 0,5.")) from None


def _positive(form: FlaskForm, field: Field) -> None:
    if field.data is not None and field.data <= 0:
        raise ValidationError(_l("Must be greater than 0."))


class PreviewForm(Form):
    """Upload targets, choose the method and trimming; the page shows a preview."""

    method = SelectField(
        _l("Method"),
        choices=[SelectChoice(value, label) for value, label in METHODS.items()],
        default="rake",
    )
    targets = FileField(
        _l("Targets, margins or totals (CSV or XLSX)"),
        validators=[FileRequired(_l("Choose a file."))],
        description=TARGET_LIMITS.description(),
    )
    max_iter = BoundedIntegerField(
        _l("Largest number of raking passes"),
        default=10,
        validators=[
            Optional(),
            NumberRange(1, 1000, _l("Between %(min)s and %(max)s.")),
        ],
    )
    epsilon = NumberField(
        _l("Raking tolerance (weighted units; below 1: relative to the weight total)"),
        default=1.0,
        validators=[Optional(), _positive],
    )
    bound_lower = NumberField(_l("Lower bound of the calibration factor"), validators=[Optional()])
    bound_upper = NumberField(_l("Upper bound of the calibration factor"), validators=[Optional()])
    trim_lower = NumberField(_l("Lowest weight"), validators=[Optional()])
    trim_upper = NumberField(_l("Highest weight"), validators=[Optional()])
    strict = BooleanField(_l("Repeat until every weight lies within the bounds (strict)"))

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if (self.bound_lower.data is None) != (self.bound_upper.data is None):
            message = _l("Give both bounds, or neither.")
            self.bound_upper.errors = [*self.bound_upper.errors, message]
            valid = False
        return valid


class SaveForm(Form):
    """Save the previewed scheme under a name (the inputs travel in ``spec``)."""

    name = StringField(
        _l("Scheme name"),
        validators=[
            DataRequired(_l("Give the scheme a name.")),
            Length(max=120, message=_l("At most %(max)d characters.")),
        ],
    )
    spec = HiddenField(validators=[DataRequired()])


class PlannerForm(Form):
    """Sample-size planner (read only, so it travels in the query string)."""

    class Meta:
        csrf = False

    margin = NumberField(
        _l("Target margin of error (percentage points)"),
        default=5.0,
        validators=[InputRequired(_l("Enter the margin of error.")), _positive],
    )
    proportion = NumberField(
        _l("Expected satisfaction rate (%)"),
        default=50.0,
        validators=[InputRequired(_l("Enter the expected rate."))],
    )
    deff = NumberField(
        _l("Design effect"),
        default=1.5,
        validators=[InputRequired(_l("Enter the design effect.")), _positive],
    )
    level = SelectField(
        _l("Confidence level"),
        choices=[SelectChoice(v, f"{float(v):.0%}") for v in ("0.9", "0.95", "0.99")],
        default="0.95",
    )
    units = TextAreaField(
        _l("Units: one per line, as name, population, planned interviews"),
        render_kw={"rows": 8},
    )

    def validate_proportion(self, field: Field) -> None:
        if field.data is not None and not 0 < field.data < 100:
            raise ValidationError(_l("Between 0 and 100, exclusive."))

    def validate_margin(self, field: Field) -> None:
        if field.data is not None and not 0 < field.data < 100:
            raise ValidationError(_l("Between 0 and 100, exclusive."))
