"""A set of answers checked in questionnaire order, with skip logic: an item hidden by
``show_if`` (given the valid earlier answers) must not be answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from survey_app.collection.questionnaire.answers import (
    AnswerError,
    InvalidAnswersError,
    check_answer,
    is_blank,
    kind_en,
)
from survey_app.collection.questionnaire.definition import Questionnaire
from survey_app.collection.questionnaire.model import Condition


def _walk(
    q: Questionnaire, answers: Mapping[str, Any], enforce_required: bool
) -> tuple[list[AnswerError], dict[str, Any]]:
    """Validate in questionnaire order; only valid answers steer later skip logic."""
    errors: list[AnswerError] = []
    clean: dict[str, Any] = {}
    for key in answers:
        if key not in q.items_by_code:
            errors.append(AnswerError(str(key), "unknown_item", f"no item {key!r} in '{q.slug}'"))
    for section in q.sections:
        section_shown = section.show_if is None or section.show_if.matches(
            clean.get(section.show_if.item)
        )
        for item in section.items:
            shown = section_shown and (
                item.show_if is None or item.show_if.matches(clean.get(item.show_if.item))
            )
            value = answers.get(item.code)
            if is_blank(value):
                if shown and item.required and enforce_required:
                    errors.append(AnswerError(item.code, "required", "an answer is required"))
                continue
            if not shown:
                cond = section.show_if if not section_shown else item.show_if
                errors.append(
                    AnswerError(
                        item.code,
                        "hidden_item_answered",
                        f"must not be answered: it is shown only if '{cond.item}' "  # type: ignore[union-attr]
                        f"{cond.op} {_fmt_values(cond)}",  # type: ignore[arg-type]
                    )
                )
                continue
            error, cleaned = check_answer(item, value)
            if error is not None:
                errors.append(error)
            else:
                clean[item.code] = cleaned
    return errors, clean


def _fmt_values(cond: Condition) -> str:
    if cond.op == "equals":
        return repr(cond.values[0])
    return "[" + ", ".join(repr(v) for v in cond.values) + "]"


def validate_answers(
    q: Questionnaire, answers: Any, *, enforce_required: bool = True
) -> list[AnswerError]:
    """Check a set of answers against a questionnaire.

    Parameters
    ----------
    q : Questionnaire
    answers : mapping of str to object
        Item code → value: an int level for ``likert5``/``smiley``, an option
        code for ``single``, a list of distinct option codes for ``multiple``,
        an int or float for ``number`` (never a bool), a str for ``text``.
        ``None``, ``""`` and ``[]`` mean "not answered".
    enforce_required : bool
        False skips the ``required`` check (e.g. paper forms entered as they are).

    Returns
    -------
    list of AnswerError
        Empty when the answers are valid.  Items are checked in questionnaire
        order; an item hidden by ``show_if`` (given the valid earlier answers)
        must not be answered.
    """
    if not isinstance(answers, Mapping):
        return [AnswerError("answers", "wrong_type", f"expected an object, got {kind_en(answers)}")]
    return _walk(q, answers, enforce_required)[0]


def clean_answers(
    q: Questionnaire, answers: Any, *, enforce_required: bool = True
) -> dict[str, Any]:
    """Return the canonical form of valid answers.

    Blank answers are dropped, text is stripped, whole floats of ``number``
    items become ints and ``multiple`` answers follow the option order; keys
    follow the questionnaire order.  Equal canonical forms mean equal content.

    Raises
    ------
    InvalidAnswersError
        If :func:`validate_answers` finds any problem.
    """
    if not isinstance(answers, Mapping):
        raise InvalidAnswersError(validate_answers(q, answers))
    errors, clean = _walk(q, answers, enforce_required)
    if errors:
        raise InvalidAnswersError(errors)
    return clean


def visible_items(q: Questionnaire, answers: Mapping[str, Any]) -> frozenset[str]:
    """Codes of the items shown given ``answers`` (invalid answers steer nothing)."""
    shown: set[str] = set()
    clean: dict[str, Any] = {}
    for section in q.sections:
        ok = section.show_if is None or section.show_if.matches(clean.get(section.show_if.item))
        for item in section.items:
            if ok and (item.show_if is None or item.show_if.matches(clean.get(item.show_if.item))):
                shown.add(item.code)
                value = answers.get(item.code)
                if not is_blank(value):
                    error, cleaned = check_answer(item, value)
                    if error is None:
                        clean[item.code] = cleaned
    return frozenset(shown)
