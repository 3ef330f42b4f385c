"""Form fields shared by the staff pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField

from survey_app.edge import DB_INT_MAX


class BoundedIntegerField(IntegerField):
    """A whole number typed in ASCII digits, within the database's integers.

    WTForms' ``IntegerField`` accepts any length of digits (and ``int()`` takes other
    scripts' digits too); ``NumberRange`` then turns a 400-digit number into a float
    and fails with an ``OverflowError`` (a 500). Such input is refused here as an
    ordinary field error.
    """

    def process_formdata(self, valuelist: list[str]) -> None:
        if valuelist:
            text = valuelist[0].strip()
            digits = text[1:] if text[:1] in "+-" else text
            if text and not (digits.isascii() and digits.isdigit() and len(digits) <= 10):
                self.data = None
                raise ValueError(_l("Enter a whole number."))
            if text and abs(int(text)) > DB_INT_MAX:
                self.data = None
                raise ValueError(_l("Enter a whole number."))
        super().process_formdata(valuelist)
