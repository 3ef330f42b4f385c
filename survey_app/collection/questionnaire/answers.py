"""One answer checked against its item: the stable error codes, :class:`AnswerError`,
:class:`InvalidAnswersError` and the cleaned value of a valid answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from survey_app.collection.questionnaire.model import SCALE_TYPES, Item, Label
from survey_app.collection.questionnaire.values import is_int, is_number, norm_number

ANSWER_ERROR_CODES: Mapping[str, Label] = MappingProxyType(
    {
        "wrong_type": Label("Giá trị không đúng kiểu.", "The value has the wrong type."),
        "unknown_item": Label("Câu hỏi không có trong phiếu.", "No such question in the form."),
        "required": Label("Vui lòng trả lời câu hỏi này.", "Please answer this question."),
        "out_of_range": Label("Giá trị nằm ngoài khoảng cho phép.", "The value is out of range."),
        "not_integer": Label("Vui lòng nhập số nguyên.", "Please enter a whole number."),
        "unknown_option": Label("Lựa chọn không hợp lệ.", "This choice is not available."),
        "duplicate_option": Label("Một lựa chọn bị lặp lại.", "A choice was given twice."),
        "too_few_choices": Label("Vui lòng chọn thêm.", "Please choose more options."),
        "too_many_choices": Label("Đã chọn quá nhiều.", "Too many options were chosen."),
        "too_long": Label("Nội dung quá dài.", "The text is too long."),
        "invalid_characters": Label(
            "Nội dung có ký tự không hợp lệ.", "The text contains invalid characters."
        ),
        "hidden_item_answered": Label(
            "Câu hỏi này không áp dụng với các câu trả lời trước.",
            "This question does not apply given the earlier answers.",
        ),
    }
)


@dataclass(frozen=True)
class AnswerError:
    """One problem with a set of answers.

    Attributes
    ----------
    field : str
        The item code, or ``"answers"`` for the whole set.
    code : str
        A key of :data:`ANSWER_ERROR_CODES` (stable; translate with it).
    message : str
        An English explanation naming the expected values.
    """

    field: str
    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """Return ``{"field", "code", "message"}`` for a JSON error body."""
        return {"field": self.field, "code": self.code, "message": self.message}


class InvalidAnswersError(ValueError):
    """Answers failed validation; :attr:`errors` lists every problem."""

    def __init__(self, errors: list[AnswerError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


# Control characters (tab, newline and CR aside) and lone surrogates, which JSON can
# carry ("\ud800") but no database driver can encode.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def is_blank(value: Any) -> bool:
    """None, an empty or blank string and an empty list count as "not answered"."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list | tuple) and len(value) == 0


def check_answer(item: Item, value: Any) -> tuple[AnswerError | None, Any]:
    """Validate a non-blank answer; return (error, cleaned value)."""

    def err(code: str, message: str) -> tuple[AnswerError, None]:
        return AnswerError(item.code, code, message), None

    if item.type in SCALE_TYPES:
        k = len(item.levels)
        if not is_int(value):
            return err("wrong_type", f"expected an integer level 1..{k}, got {kind_en(value)}")
        if not 1 <= value <= k:
            return err("out_of_range", f"expected a level 1..{k}, got {value}")
        return None, value
    if item.type == "single":
        if not isinstance(value, str):
            return err("wrong_type", f"expected an option code (string), got {kind_en(value)}")
        if value not in item.option_codes:
            return err(
                "unknown_option",
                f"unknown option {value!r}; options: {', '.join(item.option_codes)}",
            )
        return None, value
    if item.type == "multiple":
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            return err("wrong_type", f"expected a list of option codes, got {kind_en(value)}")
        unknown = [v for v in value if v not in item.option_codes]
        if unknown:
            return err(
                "unknown_option",
                f"unknown option {unknown[0]!r}; options: {', '.join(item.option_codes)}",
            )
        if len(set(value)) != len(value):
            return err("duplicate_option", "each option may be chosen only once")
        if item.min_choices is not None and len(value) < item.min_choices:
            return err("too_few_choices", f"choose at least {item.min_choices} options")
        if item.max_choices is not None and len(value) > item.max_choices:
            return err("too_many_choices", f"choose at most {item.max_choices} options")
        return None, sorted(value, key=item.option_position)
    if item.type == "number":
        numeric = is_int(value) or isinstance(value, float)
        if not numeric or value != value:  # NaN is not equal to itself
            return err("wrong_type", f"expected a number, got {kind_en(value)}")
        if not is_number(value):  # ±inf (JSON 1e400) or a huge int: not echoed
            return err(
                "out_of_range",
                f"expected a number between {item.min_value} and {item.max_value}",
            )
        if item.integer and not float(value).is_integer():
            return err("not_integer", f"expected a whole number, got {value}")
        if not item.min_value <= value <= item.max_value:  # type: ignore[operator]
            return err(
                "out_of_range",
                f"expected a number between {item.min_value} and {item.max_value}, got {value}",
            )
        return None, norm_number(value)
    # text
    if not isinstance(value, str):
        return err("wrong_type", f"expected text, got {kind_en(value)}")
    text = value.strip()
    if _CONTROL_RE.search(text):
        return err("invalid_characters", "the text contains control characters")
    if item.max_length is not None and len(text) > item.max_length:
        return err("too_long", f"at most {item.max_length} characters, got {len(text)}")
    return None, text


def kind_en(value: Any) -> str:
    """The kind of a value in an answer error's English detail (the API's ``detail``;
    its ``message`` comes from :data:`ANSWER_ERROR_CODES` in the reader's language)."""
    if value is None:
        return "nothing"
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    names.update({list: "a list", dict: "a mapping"})
    return names.get(type(value), type(value).__name__)
