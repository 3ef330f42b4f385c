"""Reading an uploaded file within its bounds, and one cell as the value it stands for
(a level, an option code, a number in Vietnamese or English notation, a date)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _

from survey_app import spreadsheets
from survey_app.collection import questionnaire as spec
from survey_app.collection.paper_import.template import FIRST_DATA_ROW
from survey_app.numbers import NumberError, parse_number

# Bounds of one uploaded file (stated on the upload form): the rows are stored in one
# transaction, and a text answer holds at most spec.MAX_TEXT_LENGTH characters.
# openpyxl parses about 25,000 cells a second on a busy 2-core server: the unpacked size
# (16 MB, some 400,000 cells) bounds that work whatever the file declares.
LIMITS = spreadsheets.Limits(
    rows=10_000,
    columns=200,
    cell_chars=spec.MAX_TEXT_LENGTH,
    header_rows=FIRST_DATA_ROW - 1,
    unpacked_bytes=16 * 1024 * 1024,
)


def read_rows(filename: str, content: bytes) -> list[list[Any]]:
    """The cells of the first sheet (XLSX) or of the CSV file, as lists of values,
    within :data:`LIMITS` (:func:`survey_app.spreadsheets.read_sheet`)."""
    return spreadsheets.read_sheet(content, filename, LIMITS)


def blank_cell(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def cell_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def cell_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        # Vietnamese or English separators; an ambiguous "36,800" is no number here
        # and is reported as an invalid answer.
        return parse_number(str(value))
    except NumberError:
        return None


def cell_answer(item: spec.Item, value: Any) -> Any:
    """A cell as the answer the questionnaire expects (invalid values pass through)."""
    if item.type in spec.SCALE_TYPES:
        number = cell_number(value)
        return int(number) if number is not None and number.is_integer() else cell_text(value)
    if item.type == "single":
        return cell_text(value)
    if item.type == "multiple":
        return [code for code in re.split(r"[;,\s]+", cell_text(value)) if code]
    if item.type == "number":
        number = cell_number(value)
        if number is None:
            return cell_text(value)
        return int(number) if number.is_integer() else number
    return cell_text(value)


def cell_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = cell_text(value)
    for pattern in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def answer_message(error: spec.AnswerError, item: spec.Item | None, lang: str) -> str:
    """An answer error in the user's language, with the allowed values."""
    described = spec.ANSWER_ERROR_CODES.get(error.code)
    text = described.get(lang) if described else error.message
    if item is None:
        return text
    if item.type in spec.SCALE_TYPES:
        hint = _("Allowed values: %(values)s.", values=f"1–{item.scale_size}")
    elif item.type in spec.CHOICE_TYPES:
        hint = _("Allowed values: %(values)s.", values=", ".join(item.option_codes))
    elif item.type == "number":
        hint = _(
            "Allowed values: %(values)s.",
            values=f"{cell_text(item.min_value)}–{cell_text(item.max_value)}",
        )
    else:
        return text
    return f"{text} {hint}"
