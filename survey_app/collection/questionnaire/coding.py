"""Answers as ``(item code, integer code)`` rows and back (the numeric codes of exports
and of the stored answer rows).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from survey_app.collection.questionnaire.definition import Questionnaire
from survey_app.collection.questionnaire.model import SCALE_TYPES
from survey_app.collection.questionnaire.validation import clean_answers
from survey_app.collection.questionnaire.values import is_int


def encode_answers(
    q: Questionnaire, answers: Any, *, enforce_required: bool = True
) -> list[tuple[str, int]]:
    """Turn valid answers into ``(item code, integer code)`` rows.

    Scale items give their level, ``single`` items the 1-based position of the
    option, ``multiple`` items one row per chosen option (its position), and
    ``number`` items their value when it is whole.  Text and non-whole numbers
    give no row (they stay in the stored JSON).  Rows follow questionnaire order.

    Raises
    ------
    InvalidAnswersError
    """
    return encode_clean_answers(q, clean_answers(q, answers, enforce_required=enforce_required))


def encode_clean_answers(q: Questionnaire, clean: Mapping[str, Any]) -> list[tuple[str, int]]:
    """:func:`encode_answers` of answers that :func:`clean_answers` returned (not
    validated again: the caller has just validated them)."""
    rows: list[tuple[str, int]] = []
    for code, value in clean.items():
        item = q.items_by_code[code]
        if item.type in SCALE_TYPES:
            rows.append((code, value))
        elif item.type == "single":
            rows.append((code, item.option_position(value)))
        elif item.type == "multiple":
            rows.extend((code, item.option_position(v)) for v in value)
        elif item.type == "number" and is_int(value):
            rows.append((code, value))
    return rows


def decode_answers(q: Questionnaire, rows: Iterable[tuple[str, int]]) -> dict[str, Any]:
    """Inverse of :func:`encode_answers` (text and non-whole numbers are not recoverable).

    Raises
    ------
    ValueError
        For an unknown item, an item that is not encoded, or a code out of range.
    """
    result: dict[str, Any] = {}
    for code, value in rows:
        item = q.items_by_code.get(code)
        if item is None or item.type == "text":
            raise ValueError(f"item {code!r} has no numeric code in '{q.slug}'")
        labels = item.value_labels()
        if item.type != "number" and value not in labels:
            raise ValueError(f"code {value!r} is out of range for item {code!r}")
        if item.type in SCALE_TYPES or item.type == "number":
            result[code] = value
        elif item.type == "single":
            result[code] = item.options[value - 1].code
        else:
            result.setdefault(code, []).append(item.options[value - 1].code)
    for code, value in result.items():
        if isinstance(value, list):
            value.sort(key=q.items_by_code[code].option_position)
    return result
