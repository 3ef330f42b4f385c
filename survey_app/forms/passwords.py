"""The new-password pair shared by the account forms (own change, admin reset, new user)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from survey_app.admin import accounts
from survey_app.forms.base import Form


class PasswordForm(Form):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=accounts.MIN_PASSWORD_LENGTH, max=256)],
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", _l("The passwords do not match."))],
    )
