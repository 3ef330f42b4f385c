"""The definition objects of a questionnaire: labels, options, skip-logic conditions,
items and sections (frozen dataclasses), with the item types and code rules.

The whole questionnaire (:class:`~.definition.Questionnaire`) is in
:mod:`.definition`, its satisfaction index in :mod:`.index`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

LANGUAGES: tuple[str, ...] = ("vi", "en")
SCALE_TYPES: frozenset[str] = frozenset({"likert5", "smiley"})
CHOICE_TYPES: frozenset[str] = frozenset({"single", "multiple"})
ITEM_TYPES: tuple[str, ...] = ("likert5", "smiley", "single", "multiple", "number", "text")

ITEM_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
OPTION_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_]{0,31}$")
SLUG_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")

MAX_TEXT_LENGTH = 5000
DEFAULT_TEXT_LENGTH = 500


@dataclass(frozen=True)
class Label:
    """A text in Vietnamese and English.

    Attributes
    ----------
    vi, en : str
        The Vietnamese and English texts, both non-empty and stripped.
    """

    vi: str
    en: str

    def get(self, lang: str = "vi") -> str:
        """Return the text in ``lang`` (``"vi"`` or ``"en"``), Vietnamese otherwise."""
        return self.en if lang == "en" else self.vi

    def to_dict(self) -> dict[str, str]:
        """Return ``{"vi": ..., "en": ...}``."""
        return {"vi": self.vi, "en": self.en}


def _labels(*pairs: tuple[str, str]) -> tuple[Label, ...]:
    return tuple(Label(vi, en) for vi, en in pairs)


#: The five levels of the satisfaction scale, value 1 first.
LIKERT5_LABELS: tuple[Label, ...] = _labels(
    ("Rất không hài lòng", "Very dissatisfied"),
    ("Không hài lòng", "Dissatisfied"),
    ("Bình thường", "Neither satisfied nor dissatisfied"),
    ("Hài lòng", "Satisfied"),
    ("Rất hài lòng", "Very satisfied"),
)

#: Default face labels of a ``smiley`` item by number of faces, value 1 first.
SMILEY_DEFAULT_LABELS: Mapping[int, tuple[Label, ...]] = MappingProxyType(
    {
        2: _labels(("Không hài lòng", "Dissatisfied"), ("Hài lòng", "Satisfied")),
        3: _labels(
            ("Không hài lòng", "Dissatisfied"),
            ("Bình thường", "Neither satisfied nor dissatisfied"),
            ("Hài lòng", "Satisfied"),
        ),
        4: _labels(
            ("Rất không hài lòng", "Very dissatisfied"),
            ("Không hài lòng", "Dissatisfied"),
            ("Hài lòng", "Satisfied"),
            ("Rất hài lòng", "Very satisfied"),
        ),
        5: LIKERT5_LABELS,
    }
)

#: Privacy warning shown under every free-text item that declares none.
DEFAULT_TEXT_WARNING = Label(
    "Không ghi họ tên, số điện thoại, địa chỉ hay số giấy tờ tùy thân của Ông/Bà "
    "hoặc của người khác.",
    "Do not write names, phone numbers, addresses or ID numbers, yours or anyone else's.",
)


@dataclass(frozen=True)
class Option:
    """One option of a ``single`` or ``multiple`` item.

    Attributes
    ----------
    code : str
        Stable code stored with the answer (``^[a-z0-9][a-z0-9_]*$``).
    label : Label
    """

    code: str
    label: Label


@dataclass(frozen=True)
class Condition:
    """Skip logic: show the item (or section) only if an earlier item matches.

    Attributes
    ----------
    item : str
        Code of an earlier item.
    op : str
        ``"equals"`` or ``"in"`` (as written in the file).
    values : tuple
        Accepted values: option codes for choice items, levels for scales,
        numbers for ``number`` items.  ``equals`` has exactly one value.
    """

    item: str
    op: str
    values: tuple[Any, ...]

    def matches(self, value: Any) -> bool:
        """Return whether a (valid) answer to :attr:`item` satisfies the condition.

        For a ``multiple`` item the condition holds when any selected option is
        among :attr:`values`.
        """
        if isinstance(value, list | tuple):
            return any(self.matches(v) for v in value)
        if value is None or isinstance(value, bool):
            return False
        return value in self.values

    def to_dict(self) -> dict[str, Any]:
        """Return the file form ``{"item": ..., "equals": v}`` or ``{"item": ..., "in": [...]}``."""
        if self.op == "equals":
            return {"item": self.item, "equals": self.values[0]}
        return {"item": self.item, "in": list(self.values)}


@dataclass(frozen=True)
class Item:
    """One question.

    Attributes
    ----------
    code : str
        Unique item code in the questionnaire (``^[a-z][a-z0-9_]{0,31}$``, usable
        as a variable name in SPSS, Stata and R).
    type : str
        One of :data:`ITEM_TYPES`.
    label : Label
        The question (or, for a criterion of a satisfaction grid, the statement).
    section : str
        Code of the section holding the item.
    required : bool
        Whether an answer is needed when the item is shown.
    demographic : bool
        Usable as a weighting variable (only ``single`` items).
    help : Label or None
        Optional hint shown under the question.
    show_if : Condition or None
        Skip logic; the item is hidden unless it holds.
    levels : tuple of Label
        Scale labels of ``likert5`` / ``smiley`` items, value 1 first.
    options : tuple of Option
        Options of ``single`` / ``multiple`` items.
    min_choices, max_choices : int or None
        Bounds on the number of options chosen (``multiple`` only).
    min_value, max_value : float or None
        Bounds of ``number`` items (written ``min`` / ``max`` in the file).
    integer : bool or None
        ``number`` items: whether only whole numbers are accepted.
    unit : Label or None
        ``number`` items: optional unit shown next to the input.
    max_length : int or None
        ``text`` items: maximum number of characters.
    warning : Label or None
        ``text`` items: privacy warning shown with the input.
    """

    code: str
    type: str
    label: Label
    section: str = ""
    required: bool = False
    demographic: bool = False
    help: Label | None = None
    show_if: Condition | None = None
    levels: tuple[Label, ...] = ()
    options: tuple[Option, ...] = ()
    min_choices: int | None = None
    max_choices: int | None = None
    min_value: float | None = None
    max_value: float | None = None
    integer: bool | None = None
    unit: Label | None = None
    max_length: int | None = None
    warning: Label | None = None

    @property
    def scale_size(self) -> int | None:
        """Number of levels of a scale item (5 for ``likert5``), else None."""
        return len(self.levels) if self.type in SCALE_TYPES else None

    @property
    def option_codes(self) -> tuple[str, ...]:
        """Option codes in declared order."""
        return tuple(o.code for o in self.options)

    def option_position(self, code: str) -> int:
        """Return the 1-based position of option ``code`` (its numeric code).

        Raises
        ------
        KeyError
            If the item has no such option.
        """
        for i, option in enumerate(self.options, start=1):
            if option.code == code:
                return i
        raise KeyError(f"item {self.code!r} has no option {code!r}")

    def value_labels(self, lang: str = "vi") -> dict[int, str]:
        """Numeric code → label, for export value labels (empty for number/text)."""
        if self.type in SCALE_TYPES:
            return {i: lab.get(lang) for i, lab in enumerate(self.levels, start=1)}
        if self.type in CHOICE_TYPES:
            return {i: o.label.get(lang) for i, o in enumerate(self.options, start=1)}
        return {}

    def to_dict(self) -> dict[str, Any]:
        """Return the canonical file form of the item (defaults written out)."""
        d: dict[str, Any] = {"code": self.code, "type": self.type, "label": self.label.to_dict()}
        if self.help is not None:
            d["help"] = self.help.to_dict()
        d["required"] = self.required
        d["demographic"] = self.demographic
        if self.show_if is not None:
            d["show_if"] = self.show_if.to_dict()
        if self.type == "smiley":
            d["faces"] = len(self.levels)
        if self.type in SCALE_TYPES:
            d["labels"] = [lab.to_dict() for lab in self.levels]
        if self.type in CHOICE_TYPES:
            d["options"] = [{"code": o.code, "label": o.label.to_dict()} for o in self.options]
        if self.type == "multiple":
            d["min_choices"] = self.min_choices
            d["max_choices"] = self.max_choices
        if self.type == "number":
            d["min"] = self.min_value
            d["max"] = self.max_value
            d["integer"] = self.integer
            if self.unit is not None:
                d["unit"] = self.unit.to_dict()
        if self.type == "text":
            d["max_length"] = self.max_length
            d["warning"] = self.warning.to_dict() if self.warning else None
        return d


@dataclass(frozen=True)
class Section:
    """A group of items shown together (one screen of the phone form).

    Attributes
    ----------
    code : str
    title : Label
    description : Label or None
    show_if : Condition or None
        Applies to every item of the section, in addition to the item's own.
    items : tuple of Item
    """

    code: str
    title: Label
    items: tuple[Item, ...]
    description: Label | None = None
    show_if: Condition | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the canonical file form of the section."""
        d: dict[str, Any] = {"code": self.code, "title": self.title.to_dict()}
        if self.description is not None:
            d["description"] = self.description.to_dict()
        if self.show_if is not None:
            d["show_if"] = self.show_if.to_dict()
        d["items"] = [item.to_dict() for item in self.items]
        return d
