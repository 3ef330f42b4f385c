"""The base of every form: WTForms' own messages in the reader's language.

WTForms ships no Vietnamese catalogue (``wtforms/locale`` has none) and Flask-WTF looks
only there, so "This field is required." reached Vietnamese readers in English. Forms
here take their messages from the app's own catalogue instead (the current locale of
Flask-Babel); the messages WTForms and Flask-WTF use are listed below so that the
extraction finds them and ``tests/test_translations.py`` requires their translation.
"""

from __future__ import annotations

from typing import Any

from flask_babel import get_translations, ngettext
from flask_babel import gettext as _
from flask_wtf import FlaskForm


class Form(FlaskForm):
    """A Flask-WTF form whose validation messages follow the page's language."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form: Any) -> Any:
            return get_translations()


def _wtforms_messages() -> None:  # pragma: no cover - never called, read by the extraction
    """The messages of WTForms and Flask-WTF the app's forms can show."""
    _("This field is required.")
    _("Invalid input.")
    _("Not a valid choice.")
    _("Invalid Choice: could not coerce.")
    _("Not a valid integer value.")
    _("Not a valid decimal value.")
    _("Not a valid float value.")
    _("Not a valid date value.")
    _("Not a valid datetime value.")
    _("Field must be equal to %(other_name)s.")
    _("Field must be between %(min)d and %(max)d characters long.")
    _("Number must be at least %(min)s.")
    _("Number must be at most %(max)s.")
    _("Number must be between %(min)s and %(max)s.")
    _("Invalid value, must be one of: %(values)s.")
    _("File does not have an approved extension.")
    _("Invalid email address.")
    ngettext(
        "Field must be at least %(min)d character long.",
        "Field must be at least %(min)d characters long.",
        1,
    )
    ngettext(
        "Field cannot be longer than %(max)d character.",
        "Field cannot be longer than %(max)d characters.",
        1,
    )
    ngettext(
        "Field must be exactly %(max)d character long.",
        "Field must be exactly %(max)d characters long.",
        1,
    )
    ngettext(
        "'%(value)s' is not a valid choice for this field.",
        "'%(value)s' are not valid choices for this field.",
        1,
    )
