"""The small-area console's form: the model to fit."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, SelectField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from survey_app.forms.base import Form
from survey_app.reporting.small_area.results import COVARIATE_LIMITS

METHOD_LABELS = {
    "reml": _l("REML (MSE by Prasad–Rao)"),
    "ml": _l("ML (MSE by Datta–Lahiri)"),
}


class FitForm(Form):
    """Covariates, method and variance smoothing; an optional per-commune file.

    ``uploaded`` carries the values of a file uploaded earlier (JSON), so the model can
    be refitted or switched on without uploading it again. The covariate choices are
    set by the view from :func:`survey_app.reporting.small_area.covariates.covariate_options`.
    """

    covariates = SelectMultipleField(
        _l("Covariates"), choices=[], option_widget=CheckboxInput(), widget=ListWidget()
    )
    method = SelectField(
        _l("Estimation method"),
        choices=[SelectChoice(k, v) for k, v in METHOD_LABELS.items()],
        default="reml",
    )
    smooth = BooleanField(
        _l("Smooth the variances that rest on few PSUs (generalized variance function)"),
        default=True,
    )
    covariate_file = FileField(
        _l("Per-commune covariates (CSV or XLSX: unit_code and one column per covariate)"),
        description=COVARIATE_LIMITS.description(),
    )
    uploaded = HiddenField()
