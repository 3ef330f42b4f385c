"""Declarative, bilingual, versioned questionnaires and answer validation.

A questionnaire is a YAML (or JSON) file in ``questionnaires/``; its format is
documented in ``questionnaires/README.md``.  This module needs no Flask application:
it imports the standard library, PyYAML and Flask-Babel (gettext and Babel's number
format), so the CLI, the service layer, the paper import and the tests can all use it
without one. Its messages are in the current language inside an application
(Vietnamese unless chosen otherwise, ``extensions.select_locale``) and in English (the
msgids) outside one.

Public API
----------
load_questionnaire(path) -> Questionnaire
load_directory(directory) -> list[Questionnaire]
Questionnaire.from_dict(data) / Questionnaire.to_dict() / Questionnaire.checksum
assert_same_version_unchanged(old_checksum, new)
validate_answers(q, answers) -> list[AnswerError]
clean_answers(q, answers) -> dict        (raises InvalidAnswersError)
encode_answers(q, answers) -> list[tuple[str, int]]
decode_answers(q, rows) -> dict
visible_items(q, answers) -> frozenset[str]
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

import yaml
from babel.numbers import format_decimal
from flask_babel import get_locale, lazy_gettext, ngettext
from flask_babel import gettext as _

__all__ = [
    "ANSWER_ERROR_CODES",
    "DEFAULT_TEXT_WARNING",
    "ITEM_TYPES",
    "LIKERT5_LABELS",
    "AnswerError",
    "Aspect",
    "Condition",
    "ErrorDetail",
    "IndexDefinition",
    "InvalidAnswersError",
    "Item",
    "Label",
    "MeanScoreRule",
    "Option",
    "OverallRule",
    "Questionnaire",
    "QuestionnaireError",
    "Section",
    "assert_same_version_unchanged",
    "clean_answers",
    "decode_answers",
    "encode_answers",
    "load_directory",
    "load_questionnaire",
    "validate_answers",
    "visible_items",
]

LANGUAGES: tuple[str, ...] = ("vi", "en")
SCALE_TYPES: frozenset[str] = frozenset({"likert5", "smiley"})
CHOICE_TYPES: frozenset[str] = frozenset({"single", "multiple"})
ITEM_TYPES: tuple[str, ...] = ("likert5", "smiley", "single", "multiple", "number", "text")

ASPECT_METHODS: tuple[str, ...] = ("pooled", "mean_of_items")
OVERALL_METHODS: tuple[str, ...] = (
    "mean_of_aspects",
    "weighted_mean_of_aspects",
    "pooled_items",
    "item",
)
MEAN_SCORE_RULES: tuple[str, ...] = ("linear_0_100", "points")

ITEM_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
OPTION_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_]{0,31}$")
SLUG_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")

MAX_TEXT_LENGTH = 5000
DEFAULT_TEXT_LENGTH = 500
QUESTIONNAIRE_SUFFIXES: tuple[str, ...] = (".yaml", ".yml", ".json")


# ---------------------------------------------------------------------------
# Definition objects
# ---------------------------------------------------------------------------


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

DEFAULT_OVERALL_LABEL = Label("Chỉ số hài lòng chung", "Overall satisfaction index")


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


@dataclass(frozen=True)
class Aspect:
    """One aspect of the index: a group of ``likert5`` criteria.

    Attributes
    ----------
    code : str
    label : Label
    items : tuple of str
        Codes of ``likert5`` items; an item belongs to at most one aspect.
    weight : float or None
        Only with the overall method ``weighted_mean_of_aspects`` (then required).
    """

    code: str
    label: Label
    items: tuple[str, ...]
    weight: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the canonical file form of the aspect."""
        d: dict[str, Any] = {
            "code": self.code,
            "label": self.label.to_dict(),
            "items": list(self.items),
        }
        if self.weight is not None:
            d["weight"] = self.weight
        return d


@dataclass(frozen=True)
class OverallRule:
    """How the overall index is formed.

    Attributes
    ----------
    method : str
        ``mean_of_aspects`` (SIPAS: unweighted mean of the aspect indices),
        ``weighted_mean_of_aspects`` (Σ w_a·I_a / Σ w_a with the aspects'
        weights), ``pooled_items`` (satisfied answers over all answers to all
        aspect criteria) or ``item`` (the satisfied share of one item).
    label : Label
    item : str or None
        The item of method ``item`` (a ``likert5`` or ``smiley`` item).
    satisfied_levels : tuple of int or None
        Method ``item`` only: levels of that item counting as satisfied.
    """

    method: str
    label: Label = DEFAULT_OVERALL_LABEL
    item: str | None = None
    satisfied_levels: tuple[int, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the canonical file form."""
        d: dict[str, Any] = {"method": self.method, "label": self.label.to_dict()}
        if self.item is not None:
            d["item"] = self.item
            d["satisfied_levels"] = list(self.satisfied_levels or ())
        return d


@dataclass(frozen=True)
class MeanScoreRule:
    """How an answer is turned into a 0–100 score for the mean-score index.

    Attributes
    ----------
    rule : str
        ``linear_0_100``: level v of a k-level scale scores (v − 1)/(k − 1)·100;
        ``points``: level v scores ``points[v - 1]`` (5-level items only).
    points : tuple of float
        Only for rule ``points``.
    """

    rule: str = "linear_0_100"
    points: tuple[float, ...] = ()

    def points_for(self, levels: int) -> tuple[float, ...]:
        """Return the score of each level 1..``levels``.

        Notes
        -----
        The linear rule is (v − 1)/(k − 1)·100, so 1 → 0 and k → 100.
        """
        if self.rule == "points":
            if len(self.points) != levels:
                raise ValueError(f"the points rule has {len(self.points)} points, not {levels}")
            return self.points
        return tuple((v - 1) / (levels - 1) * 100.0 for v in range(1, levels + 1))

    def score(self, value: int, levels: int = 5) -> float:
        """Return the score of level ``value`` on a ``levels``-level scale."""
        if not 1 <= value <= levels:
            raise ValueError(f"level {value} is outside 1..{levels}")
        return self.points_for(levels)[value - 1]

    def to_dict(self) -> dict[str, Any]:
        """Return the canonical file form."""
        d: dict[str, Any] = {"rule": self.rule}
        if self.rule == "points":
            d["points"] = list(self.points)
        return d


@dataclass(frozen=True)
class IndexDefinition:
    """The satisfaction index declared by a questionnaire.

    Attributes
    ----------
    satisfied_levels : tuple of int
        Levels of the ``likert5`` criteria counting as satisfied (default (4, 5)).
    aspect_method : str
        ``pooled`` (default): an aspect's index is the satisfied answers over all
        answers to its criteria; ``mean_of_items``: the unweighted mean of its
        criteria's satisfied shares.
    aspects : tuple of Aspect
    overall : OverallRule
    mean_score : MeanScoreRule
    """

    satisfied_levels: tuple[int, ...] = (4, 5)
    aspect_method: str = "pooled"
    aspects: tuple[Aspect, ...] = ()
    overall: OverallRule = OverallRule("mean_of_aspects")
    mean_score: MeanScoreRule = MeanScoreRule()

    def aspect(self, code: str) -> Aspect:
        """Return the aspect with ``code`` (KeyError if absent)."""
        for a in self.aspects:
            if a.code == code:
                return a
        raise KeyError(code)

    def to_dict(self) -> dict[str, Any]:
        """Return the canonical file form."""
        return {
            "satisfied_levels": list(self.satisfied_levels),
            "aspect_method": self.aspect_method,
            "aspects": [a.to_dict() for a in self.aspects],
            "overall": self.overall.to_dict(),
            "mean_score": self.mean_score.to_dict(),
        }


@dataclass(frozen=True)
class Questionnaire:
    """A validated questionnaire definition.

    Attributes
    ----------
    slug : str
    version : int
        Bumped whenever the content changes once responses exist.
    title : Label
    sections : tuple of Section
    description : Label or None
    index : IndexDefinition or None
    source : str
        File it was loaded from (not part of the definition, equality or checksum).
    """

    slug: str
    version: int
    title: Label
    sections: tuple[Section, ...]
    description: Label | None = None
    index: IndexDefinition | None = None
    source: str = field(default="", compare=False, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle (and deepcopy) the fields only, not the cached lookups."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @cached_property
    def items(self) -> tuple[Item, ...]:
        """All items in order."""
        return tuple(item for section in self.sections for item in section.items)

    @cached_property
    def items_by_code(self) -> Mapping[str, Item]:
        """Read-only mapping item code → item."""
        return MappingProxyType({item.code: item for item in self.items})

    @property
    def item_codes(self) -> tuple[str, ...]:
        """Item codes in order."""
        return tuple(item.code for item in self.items)

    @property
    def demographic_items(self) -> tuple[Item, ...]:
        """Items flagged ``demographic: true`` (weighting variables)."""
        return tuple(item for item in self.items if item.demographic)

    def item(self, code: str) -> Item:
        """Return the item with ``code`` (KeyError if absent)."""
        return self.items_by_code[code]

    def to_dict(self) -> dict[str, Any]:
        """Return the canonical definition: the file format with every default written out.

        ``Questionnaire.from_dict(q.to_dict()) == q``; the result is JSON-serialisable.
        """
        d: dict[str, Any] = {
            "slug": self.slug,
            "version": self.version,
            "title": self.title.to_dict(),
        }
        if self.description is not None:
            d["description"] = self.description.to_dict()
        d["sections"] = [s.to_dict() for s in self.sections]
        if self.index is not None:
            d["index"] = self.index.to_dict()
        return d

    @cached_property
    def canonical_json(self) -> str:
        """Canonical JSON of :meth:`to_dict` (sorted keys, no spaces, UTF-8 text)."""
        return json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    @cached_property
    def checksum(self) -> str:
        """SHA-256 (hex) of :attr:`canonical_json`.

        Comments, key order, quoting, layout and defaults written out or left
        implicit do not change it; any change of code, label, rule or order does.
        """
        return hashlib.sha256(self.canonical_json.encode("utf-8")).hexdigest()

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> Questionnaire:
        """Validate a parsed definition (file content or :meth:`to_dict` output).

        Raises
        ------
        QuestionnaireError
            With every problem found.
        """
        return _Parser(source).questionnaire(data)


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


class ErrorDetail(NamedTuple):
    """One problem in a questionnaire file: ``(file, path, reason)``."""

    file: str
    path: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.reason}"


class QuestionnaireError(ValueError):
    """A questionnaire definition is invalid.

    Attributes
    ----------
    errors : list of ErrorDetail
        Every problem found, as ``(file, path, reason)`` tuples; ``path`` looks
        like ``sections[2].items[0].options`` (empty for the whole file).
    """

    def __init__(self, errors: Iterable[tuple[str, str, str]]) -> None:
        self.errors: list[ErrorDetail] = [ErrorDetail(*e) for e in errors]
        super().__init__(str(self))

    def __str__(self) -> str:
        n = len(self.errors)
        head = ngettext(
            "%(num)d error in questionnaire definition",
            "%(num)d errors in questionnaire definition",
            n,
        )
        return head + ":\n" + "\n".join(f"  {e}" for e in self.errors)


def assert_same_version_unchanged(old_checksum: str, new: Questionnaire) -> None:
    """Refuse a changed definition stored under an existing slug and version.

    Parameters
    ----------
    old_checksum : str
        :attr:`Questionnaire.checksum` of the definition already stored for
        ``(new.slug, new.version)``.
    new : Questionnaire
        The definition just loaded.

    Raises
    ------
    QuestionnaireError
        If the checksums differ.
    """
    if old_checksum != new.checksum:
        raise QuestionnaireError(
            [
                (
                    new.source or new.slug,
                    "version",
                    _(
                        "questionnaire '%(slug)s' version %(version)s is already stored with "
                        "different content (stored checksum %(stored)s…, file %(file)s…); "
                        "answers may refer to it, so do not edit it: save the changes under a "
                        "new version (version: %(next)s)",
                        slug=new.slug,
                        version=new.version,
                        stored=old_checksum[:12],
                        file=new.checksum[:12],
                        next=new.version + 1,
                    ),
                )
            ]
        )


# ---------------------------------------------------------------------------
# Reading files
# ---------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and reads only true/false as booleans.

    YAML 1.1 reads ``yes``, ``no``, ``on`` and ``off`` as booleans, which would
    silently turn an option code ``no`` into ``False``.
    """


_StrictLoader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _read(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text, object_pairs_hook=_json_object)
    return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: safe


#: The parsed content of a questionnaire file (YAML or JSON), before validation.
read_file = _read


def _load(path: Path) -> tuple[Questionnaire | None, list[ErrorDetail]]:
    name = str(path)
    try:
        data = _read(path)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        reason = " ".join(str(exc).split())
        return None, [ErrorDetail(name, "", _("cannot read the file: %(reason)s", reason=reason))]
    try:
        return _Parser(name).questionnaire(data), []
    except QuestionnaireError as exc:
        return None, exc.errors


def load_questionnaire(path: str | Path) -> Questionnaire:
    """Load and validate one questionnaire file (``.yaml``, ``.yml`` or ``.json``).

    Raises
    ------
    QuestionnaireError
        Listing every problem as (file, path, reason).
    """
    q, errors = _load(Path(path))
    if errors or q is None:
        raise QuestionnaireError(errors)
    return q


def load_directory(directory: str | Path) -> list[Questionnaire]:
    """Load every questionnaire file of ``directory`` (not recursive).

    Returns the questionnaires sorted by (slug, version).  Errors of all files,
    and any (slug, version) declared by two files, are reported together.

    Raises
    ------
    QuestionnaireError
    """
    directory = Path(directory)
    errors: list[ErrorDetail] = []
    found: dict[tuple[str, int], Questionnaire] = {}
    if not directory.is_dir():
        raise QuestionnaireError([(str(directory), "", _("not a directory"))])
    for path in sorted(directory.iterdir()):
        if path.suffix not in QUESTIONNAIRE_SUFFIXES or not path.is_file():
            continue
        q, file_errors = _load(path)
        errors.extend(file_errors)
        if q is None:
            continue
        key = (q.slug, q.version)
        if key in found:
            errors.append(
                ErrorDetail(
                    str(path),
                    "version",
                    _(
                        "'%(slug)s' version %(version)s is also defined in %(other)s",
                        slug=q.slug,
                        version=q.version,
                        other=found[key].source,
                    ),
                )
            )
        else:
            found[key] = q
    if errors:
        raise QuestionnaireError(errors)
    return [found[key] for key in sorted(found)]


# ---------------------------------------------------------------------------
# Validation of definitions
# ---------------------------------------------------------------------------

_COMMON_ITEM_KEYS = frozenset(
    {"code", "type", "label", "help", "required", "demographic", "show_if"}
)
_TYPE_KEYS: Mapping[str, frozenset[str]] = {
    "likert5": frozenset({"labels"}),
    "smiley": frozenset({"faces", "labels"}),
    "single": frozenset({"options"}),
    "multiple": frozenset({"options", "min_choices", "max_choices"}),
    "number": frozenset({"min", "max", "integer", "unit"}),
    "text": frozenset({"max_length", "warning"}),
}
_PLACEHOLDER = Label("?", "?")
# Lazy: translated when a message is made, in the language of that moment.
_COMMA_HINT = lazy_gettext(
    "; a comma inside {vi: ..., en: ...} ends the text there: put texts with commas in quotes"
)
_CODE_RULES: Mapping[re.Pattern[str], Any] = {
    ITEM_CODE_RE: lazy_gettext(
        "use lowercase letters, digits and _, starting with a letter, at most 32 long"
    ),
    OPTION_CODE_RE: lazy_gettext("use lowercase letters, digits and _, at most 32 long"),
    SLUG_RE: lazy_gettext(
        "use lowercase letters, digits, _ and -, starting with a letter, at most 64 long"
    ),
}
_KINDS: Mapping[type, Any] = {
    bool: lazy_gettext("a boolean"),
    int: lazy_gettext("an integer"),
    float: lazy_gettext("a number"),
    str: lazy_gettext("a string"),
    list: lazy_gettext("a list"),
    dict: lazy_gettext("a mapping"),
}


def _kind(value: Any) -> str:
    """The kind of a value in a definition error, in the reader's language."""
    if value is None:
        return _("nothing")
    kind = _KINDS.get(type(value))
    return str(kind) if kind is not None else type(value).__name__


def _kind_en(value: Any) -> str:
    """The kind of a value in an answer error's English detail (the API's ``detail``;
    its ``message`` comes from :data:`ANSWER_ERROR_CODES` in the reader's language)."""
    if value is None:
        return "nothing"
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    names.update({list: "a list", dict: "a mapping"})
    return names.get(type(value), type(value).__name__)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


#: The largest magnitude a number (an answer or a bound) may have: beyond 2**53 a
#: float no longer holds every whole number, and a larger int (JSON allows any) would
#: overflow float arithmetic.
MAX_NUMBER = 2**53


def _is_number(value: Any) -> bool:
    """An int or a float (never a bool) within ±:data:`MAX_NUMBER`."""
    if _is_int(value):
        return -MAX_NUMBER <= value <= MAX_NUMBER
    return isinstance(value, float) and math.isfinite(value) and abs(value) <= MAX_NUMBER


def _norm_number(value: float) -> float:
    """Integral floats become ints, so ``0`` and ``0.0`` have one canonical form."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _number(value: float) -> str:
    """A bound in a message: the reader's way inside an application (1.000.000 in
    Vietnamese), as Python writes it outside one."""
    locale = get_locale()
    return str(value) if locale is None else format_decimal(value, locale=locale)


def _sub(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class _Parser:
    """Turns raw data into a :class:`Questionnaire`, collecting every error."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[ErrorDetail] = []
        self.items: dict[str, Item] = {}
        # Codes of items too broken to build (unknown type): references to them are
        # not reported again.
        self.broken: set[str] = set()

    def error(self, path: str, reason: str) -> None:
        self.errors.append(ErrorDetail(self.file, path, reason))

    # -- generic helpers ------------------------------------------------------

    def mapping(
        self,
        value: Any,
        path: str,
        required: Iterable[str],
        optional: Iterable[str] = (),
        hint: Any = "",
    ) -> dict[str, Any] | None:
        required = tuple(required)
        allowed = set(required) | set(optional)
        if not isinstance(value, dict):
            self.error(path, _("must be a mapping, got %(kind)s", kind=_kind(value)))
            return None
        for key in value:
            if key not in allowed:
                self.error(
                    _sub(path, str(key)),
                    _(
                        "unknown key '%(key)s' (allowed: %(allowed)s)%(hint)s",
                        key=key,
                        allowed=", ".join(sorted(allowed)),
                        hint=str(hint),
                    ),
                )
        for key in required:
            if key not in value:
                self.error(path, _("missing required key '%(key)s'", key=key))
        return value

    def seq(self, value: Any, path: str, *, min_len: int = 1) -> list[Any]:
        if not isinstance(value, list):
            self.error(path, _("must be a list, got %(kind)s", kind=_kind(value)))
            return []
        if len(value) < min_len:
            self.error(
                path,
                ngettext(
                    "must have at least %(num)d entry",
                    "must have at least %(num)d entries",
                    min_len,
                ),
            )
        return value

    def label(self, value: Any, path: str) -> Label:
        d = self.mapping(value, path, LANGUAGES, hint=_COMMA_HINT)
        if d is None:
            return _PLACEHOLDER
        texts = []
        for lang in LANGUAGES:
            text = d.get(lang)
            if lang in d and not (isinstance(text, str) and text.strip()):
                self.error(
                    _sub(path, lang),
                    _("must be a non-empty string, got %(kind)s", kind=_kind(text)),
                )
            texts.append(text.strip() if isinstance(text, str) and text.strip() else "?")
        return Label(*texts)

    def opt_label(self, d: dict[str, Any], key: str, path: str) -> Label | None:
        return self.label(d[key], _sub(path, key)) if key in d else None

    def code(self, value: Any, path: str, pattern: re.Pattern[str], what: str) -> str | None:
        if not isinstance(value, str):
            self.error(
                path,
                _(
                    "%(what)s must be a string, got %(kind)s; quote it",
                    what=what,
                    kind=_kind(value),
                ),
            )
            return None
        if not pattern.match(value):
            self.error(
                path,
                _(
                    "%(what)s '%(value)s' is invalid: %(rule)s",
                    what=what,
                    value=value,
                    rule=str(_CODE_RULES[pattern]),
                ),
            )
            return None
        return value

    def boolean(self, d: dict[str, Any], key: str, path: str, default: bool) -> bool:
        value = d.get(key, default)
        if not isinstance(value, bool):
            self.error(_sub(path, key), _("must be true or false, got %(kind)s", kind=_kind(value)))
            return default
        return value

    def integer(self, d: dict[str, Any], key: str, path: str, lo: int, hi: int) -> int | None:
        value = d[key]
        if not _is_int(value):
            self.error(_sub(path, key), _("must be an integer, got %(kind)s", kind=_kind(value)))
            return None
        if not lo <= value <= hi:
            self.error(
                _sub(path, key),
                _(
                    "must be between %(lo)s and %(hi)s, got %(value)s",
                    lo=_number(lo),
                    hi=_number(hi),
                    value=_number(value),
                ),
            )
            return None
        return value

    def levels(self, value: Any, path: str, lo: int, hi: int) -> tuple[int, ...] | None:
        """A non-empty list of distinct levels within lo..hi, not all of them."""
        values = self.seq(value, path)
        ok = True
        for i, v in enumerate(values):
            if not _is_int(v) or not lo <= v <= hi:
                self.error(
                    _sub(path, i),
                    _(
                        "must be a level between %(lo)s and %(hi)s, got %(value)s",
                        lo=lo,
                        hi=hi,
                        value=repr(v),
                    ),
                )
                ok = False
        if not ok or not values:
            return None
        if len(set(values)) != len(values):
            self.error(path, _("levels must be distinct"))
            return None
        if len(values) == hi - lo + 1:
            self.error(path, _("cannot count every level as satisfied"))
            return None
        return tuple(sorted(values))

    # -- questionnaire --------------------------------------------------------

    def questionnaire(self, data: Any) -> Questionnaire:
        d = self.mapping(
            data,
            "",
            ("slug", "version", "title", "sections"),
            # audio: recorded voices, read by collection/audio.py; not part of the definition.
            ("description", "index", "audio"),
        )
        if d is None:
            raise QuestionnaireError(self.errors)
        slug = self.code(d.get("slug"), "slug", SLUG_RE, _("slug")) if "slug" in d else None
        version = None
        if "version" in d:
            version = self.integer(d, "version", "", 1, 1_000_000)
        title = self.label(d["title"], "title") if "title" in d else _PLACEHOLDER
        description = self.opt_label(d, "description", "")
        sections = self.sections(d.get("sections"), "sections") if "sections" in d else ()
        index = self.index(d["index"], "index") if "index" in d else None
        if self.errors or slug is None or version is None:
            raise QuestionnaireError(self.errors)
        return Questionnaire(
            slug=slug,
            version=version,
            title=title,
            sections=sections,
            description=description,
            index=index,
            source=self.file,
        )

    def sections(self, value: Any, path: str) -> tuple[Section, ...]:
        result = []
        seen: set[str] = set()
        for i, raw in enumerate(self.seq(value, path)):
            spath = _sub(path, i)
            d = self.mapping(raw, spath, ("code", "title", "items"), ("description", "show_if"))
            if d is None:
                continue
            code = self.code(d.get("code"), _sub(spath, "code"), ITEM_CODE_RE, _("section code"))
            if code is not None:
                if code in seen:
                    self.error(
                        _sub(spath, "code"), _("duplicate section code '%(code)s'", code=code)
                    )
                seen.add(code)
            title = self.label(d["title"], _sub(spath, "title")) if "title" in d else _PLACEHOLDER
            description = self.opt_label(d, "description", spath)
            show_if = (
                self.condition(d["show_if"], _sub(spath, "show_if")) if "show_if" in d else None
            )
            items = []
            for j, raw_item in enumerate(self.seq(d.get("items"), _sub(spath, "items"))):
                item = self.item(raw_item, _sub(_sub(spath, "items"), j), code or "")
                if item is not None:
                    items.append(item)
            result.append(Section(code or "", title, tuple(items), description, show_if))
        return tuple(result)

    def item(self, raw: Any, path: str, section: str) -> Item | None:
        item_type = raw.get("type") if isinstance(raw, dict) else None
        if item_type in ITEM_TYPES:
            extra = _TYPE_KEYS[item_type]
        else:  # the type itself is reported below; do not also reject its keys
            extra = frozenset().union(*_TYPE_KEYS.values())
        d = self.mapping(
            raw,
            path,
            ("code", "type", "label"),
            (_COMMON_ITEM_KEYS | extra) - {"code", "type", "label"},
        )
        if d is None:
            return None
        code = self.code(d.get("code"), _sub(path, "code"), ITEM_CODE_RE, _("item code"))
        if code is not None and code in self.items:
            self.error(_sub(path, "code"), _("duplicate item code '%(code)s'", code=code))
            code = None
        if "type" in d and item_type not in ITEM_TYPES:
            self.error(
                _sub(path, "type"),
                _(
                    "unknown item type %(type)s (allowed: %(allowed)s)",
                    type=repr(item_type),
                    allowed=", ".join(ITEM_TYPES),
                ),
            )
            if code is not None:
                self.broken.add(code)
            return None
        label = self.label(d["label"], _sub(path, "label")) if "label" in d else _PLACEHOLDER
        show_if = self.condition(d["show_if"], _sub(path, "show_if")) if "show_if" in d else None
        fields: dict[str, Any] = {
            "code": code or "",
            "type": item_type,
            "label": label,
            "section": section,
            "required": self.boolean(d, "required", path, False),
            "demographic": self.boolean(d, "demographic", path, False),
            "help": self.opt_label(d, "help", path),
            "show_if": show_if,
        }
        if fields["demographic"] and item_type != "single":
            self.error(
                _sub(path, "demographic"),
                _("only single-choice items can be demographic (weighting) variables"),
            )
        if item_type in SCALE_TYPES:
            fields["levels"] = self.scale(d, path, item_type)
        elif item_type in CHOICE_TYPES:
            fields.update(self.choice(d, path, item_type))
        elif item_type == "number":
            fields.update(self.number(d, path))
        elif item_type == "text":
            fields["max_length"] = DEFAULT_TEXT_LENGTH
            if "max_length" in d:
                fields["max_length"] = self.integer(d, "max_length", path, 1, MAX_TEXT_LENGTH)
            fields["warning"] = self.opt_label(d, "warning", path) or DEFAULT_TEXT_WARNING
        if item_type is None or code is None:
            return None
        item = Item(**fields)
        self.items[code] = item
        return item

    def scale(self, d: dict[str, Any], path: str, item_type: str) -> tuple[Label, ...]:
        size = 5
        if item_type == "smiley" and "faces" in d:
            size = self.integer(d, "faces", path, 2, 5) or 5
        if "labels" not in d:
            return LIKERT5_LABELS if item_type == "likert5" else SMILEY_DEFAULT_LABELS[size]
        lpath = _sub(path, "labels")
        raw = self.seq(d["labels"], lpath)
        if raw and len(raw) != size:
            self.error(
                lpath,
                _(
                    "must have one label per level: %(size)s, got %(count)s",
                    size=size,
                    count=len(raw),
                ),
            )
        return tuple(self.label(v, _sub(lpath, i)) for i, v in enumerate(raw))

    def choice(self, d: dict[str, Any], path: str, item_type: str) -> dict[str, Any]:
        opath = _sub(path, "options")
        options = []
        seen: set[str] = set()
        for i, raw in enumerate(self.seq(d.get("options"), opath, min_len=2)):
            p = _sub(opath, i)
            od = self.mapping(raw, p, ("code", "label"))
            if od is None:
                continue
            code = self.code(od.get("code"), _sub(p, "code"), OPTION_CODE_RE, _("option code"))
            if code is not None and code in seen:
                self.error(_sub(p, "code"), _("duplicate option code '%(code)s'", code=code))
            label = self.label(od["label"], _sub(p, "label")) if "label" in od else _PLACEHOLDER
            if code is not None:
                seen.add(code)
                options.append(Option(code, label))
        result: dict[str, Any] = {"options": tuple(options)}
        if item_type == "multiple":
            n = max(len(options), 1)
            lo = self.integer(d, "min_choices", path, 1, n) if "min_choices" in d else 1
            hi = self.integer(d, "max_choices", path, 1, n) if "max_choices" in d else len(options)
            if lo is not None and hi is not None and lo > hi:
                self.error(
                    _sub(path, "min_choices"),
                    _("min_choices %(lo)s exceeds max_choices %(hi)s", lo=lo, hi=hi),
                )
            result.update(min_choices=lo, max_choices=hi)
        return result

    def number(self, d: dict[str, Any], path: str) -> dict[str, Any]:
        integer = self.boolean(d, "integer", path, True)
        bounds: list[float | None] = []
        for key in ("min", "max"):
            value = d.get(key)
            if key not in d:
                bounds.append(None)  # reported below
            elif not _is_number(value):
                self.error(_sub(path, key), _("must be a number, got %(kind)s", kind=_kind(value)))
                bounds.append(None)
            elif integer and not float(value).is_integer():
                self.error(
                    _sub(path, key),
                    _("must be a whole number for an integer item, got %(value)s", value=value),
                )
                bounds.append(None)
            else:
                bounds.append(_norm_number(value))
        lo, hi = bounds
        if lo is not None and hi is not None and lo >= hi:
            self.error(
                _sub(path, "max"), _("max (%(hi)s) must be greater than min (%(lo)s)", hi=hi, lo=lo)
            )
        if "min" not in d or "max" not in d:
            missing = [k for k in ("min", "max") if k not in d]
            if len(missing) == 2:
                self.error(path, _("number items need min and max"))
            else:
                self.error(path, _("number items need %(key)s", key=missing[0]))
        return {
            "min_value": lo,
            "max_value": hi,
            "integer": integer,
            "unit": self.opt_label(d, "unit", path),
        }

    def condition(self, raw: Any, path: str) -> Condition | None:
        d = self.mapping(raw, path, ("item",), ("equals", "in"))
        if d is None:
            return None
        if ("equals" in d) == ("in" in d):
            self.error(path, _("needs exactly one of 'equals' or 'in'"))
            return None
        target_code = d.get("item")
        target = self.items.get(target_code) if isinstance(target_code, str) else None
        if "item" in d and target is None and target_code not in self.broken:
            self.error(
                _sub(path, "item"),
                _(
                    "refers to %(code)s, which is not an item defined earlier in the file",
                    code=repr(target_code),
                ),
            )
        op = "equals" if "equals" in d else "in"
        vpath = _sub(path, op)
        raw_values = [d["equals"]] if op == "equals" else self.seq(d["in"], vpath)
        if op == "in" and len(set(map(repr, raw_values))) != len(raw_values):
            self.error(vpath, _("values must be distinct"))
        if target is None:
            return None
        if target.type == "text":
            self.error(
                _sub(path, "item"),
                _("cannot depend on the free-text item '%(code)s'", code=target.code),
            )
            return None
        values = []
        for i, v in enumerate(raw_values):
            p = vpath if op == "equals" else _sub(vpath, i)
            reason = _value_problem(target, v)
            if reason:
                self.error(
                    p,
                    _(
                        "%(value)s is not a possible answer of '%(code)s': %(reason)s",
                        value=repr(v),
                        code=target.code,
                        reason=reason,
                    ),
                )
            else:
                values.append(_norm_number(v) if target.type == "number" else v)
        return Condition(target.code, op, tuple(values))

    # -- index ----------------------------------------------------------------

    def index(self, raw: Any, path: str) -> IndexDefinition | None:
        d = self.mapping(
            raw, path, (), ("satisfied_levels", "aspect_method", "aspects", "overall", "mean_score")
        )
        if d is None:
            return None
        satisfied: tuple[int, ...] | None = (4, 5)
        if "satisfied_levels" in d:
            satisfied = self.levels(d["satisfied_levels"], _sub(path, "satisfied_levels"), 1, 5)
        aspect_method = d.get("aspect_method", "pooled")
        if aspect_method not in ASPECT_METHODS:
            self.error(
                _sub(path, "aspect_method"),
                _(
                    "unknown method %(method)s (allowed: %(allowed)s)",
                    method=repr(aspect_method),
                    allowed=", ".join(ASPECT_METHODS),
                ),
            )
        overall = self.overall(d.get("overall", {}), _sub(path, "overall"), satisfied)
        weighted = overall is not None and overall.method == "weighted_mean_of_aspects"
        aspects = self.aspects(d.get("aspects", []), _sub(path, "aspects"), weighted)
        if overall is not None and overall.method != "item" and not aspects:
            self.error(
                _sub(path, "aspects"),
                _("the overall method '%(method)s' needs aspects", method=overall.method),
            )
        mean_score = self.mean_score(d.get("mean_score", {}), _sub(path, "mean_score"), overall)
        if satisfied is None or overall is None or mean_score is None:
            return None
        return IndexDefinition(satisfied, aspect_method, aspects, overall, mean_score)

    def aspects(self, raw: Any, path: str, weighted: bool) -> tuple[Aspect, ...]:
        result = []
        codes: set[str] = set()
        owner: dict[str, str] = {}
        for i, raw_aspect in enumerate(self.seq(raw, path, min_len=0)):
            p = _sub(path, i)
            d = self.mapping(raw_aspect, p, ("code", "label", "items"), ("weight",))
            if d is None:
                continue
            code = self.code(d.get("code"), _sub(p, "code"), ITEM_CODE_RE, _("aspect code")) or ""
            if code in codes:
                self.error(_sub(p, "code"), _("duplicate aspect code '%(code)s'", code=code))
            codes.add(code)
            label = self.label(d["label"], _sub(p, "label")) if "label" in d else _PLACEHOLDER
            ipath = _sub(p, "items")
            items = self.seq(d.get("items"), ipath) if "items" in d else []
            for j, item_code in enumerate(items):
                item = self.items.get(item_code) if isinstance(item_code, str) else None
                if item is None:
                    if item_code not in self.broken:
                        self.error(_sub(ipath, j), _("unknown item %(code)s", code=repr(item_code)))
                elif item.type != "likert5":
                    self.error(
                        _sub(ipath, j),
                        _(
                            "item '%(code)s' is %(type)s; aspects take likert5 items",
                            code=item_code,
                            type=item.type,
                        ),
                    )
                elif item_code in owner:
                    self.error(
                        _sub(ipath, j),
                        _(
                            "item '%(code)s' is already in aspect '%(aspect)s'",
                            code=item_code,
                            aspect=owner[item_code],
                        ),
                    )
                else:
                    owner[item_code] = code
            weight = None
            if "weight" in d:
                weight = d["weight"]
                if not weighted:
                    self.error(
                        _sub(p, "weight"),
                        _("weights are used only with overall method 'weighted_mean_of_aspects'"),
                    )
                elif not _is_number(weight) or weight <= 0:
                    self.error(
                        _sub(p, "weight"),
                        _("must be a positive number, got %(value)s", value=repr(weight)),
                    )
                else:
                    weight = _norm_number(weight)
            elif weighted:
                self.error(
                    p, _("missing 'weight' (the overall method is 'weighted_mean_of_aspects')")
                )
            result.append(
                Aspect(code, label, tuple(c for c in items if isinstance(c, str)), weight)
            )
        return tuple(result)

    def overall(self, raw: Any, path: str, satisfied: tuple[int, ...] | None) -> OverallRule | None:
        d = self.mapping(raw, path, (), ("method", "label", "item", "satisfied_levels"))
        if d is None:
            return None
        method = d.get("method", "mean_of_aspects")
        if method not in OVERALL_METHODS:
            self.error(
                _sub(path, "method"),
                _(
                    "unknown method %(method)s (allowed: %(allowed)s)",
                    method=repr(method),
                    allowed=", ".join(OVERALL_METHODS),
                ),
            )
            return None
        label = self.opt_label(d, "label", path) or DEFAULT_OVERALL_LABEL
        if method != "item":
            for key in ("item", "satisfied_levels"):
                if key in d:
                    self.error(_sub(path, key), _("used only with method 'item'"))
            return OverallRule(method, label)
        if "item" not in d:
            self.error(path, _("method 'item' needs 'item'"))
            return None
        item = self.items.get(d["item"]) if isinstance(d["item"], str) else None
        if item is None or item.type not in SCALE_TYPES:
            self.error(
                _sub(path, "item"),
                _(
                    "must be the code of a likert5 or smiley item, got %(value)s",
                    value=repr(d["item"]),
                ),
            )
            return None
        k = len(item.levels)
        if "satisfied_levels" in d:
            levels = self.levels(d["satisfied_levels"], _sub(path, "satisfied_levels"), 1, k)
        elif k == 5:
            levels = satisfied  # the index's satisfied levels
        else:  # the levels above the midpoint
            levels = tuple(range(k - k // 2 + 1, k + 1))
        if levels is None:
            return None
        return OverallRule("item", label, item.code, levels)

    def mean_score(self, raw: Any, path: str, overall: OverallRule | None) -> MeanScoreRule | None:
        d = self.mapping(raw, path, (), ("rule", "points"))
        if d is None:
            return None
        rule = d.get("rule", "linear_0_100")
        if rule not in MEAN_SCORE_RULES:
            self.error(
                _sub(path, "rule"),
                _(
                    "unknown rule %(rule)s (allowed: %(allowed)s)",
                    rule=repr(rule),
                    allowed=", ".join(MEAN_SCORE_RULES),
                ),
            )
            return None
        if rule == "linear_0_100":
            if "points" in d:
                self.error(_sub(path, "points"), _("used only with rule 'points'"))
            return MeanScoreRule()
        ppath = _sub(path, "points")
        points = self.seq(d.get("points"), ppath) if "points" in d else []
        if "points" not in d:
            self.error(path, _("rule 'points' needs 'points'"))
        bad = [p for p in points if not _is_number(p)]
        if bad:
            self.error(ppath, _("must be numbers, got %(value)s", value=repr(bad[0])))
        elif points and len(points) != 5:
            self.error(
                ppath,
                _(
                    "needs one score per level of the 5-level scale, got %(count)s",
                    count=len(points),
                ),
            )
        elif points and any(a > b for a, b in itertools.pairwise(points)):
            self.error(ppath, _("scores must not decrease from level 1 to level 5"))
        if overall is not None and overall.item is not None:
            k = len(self.items[overall.item].levels)
            if k != 5:
                self.error(
                    ppath,
                    _(
                        "rule 'points' needs 5-level items; '%(code)s' has %(count)s",
                        code=overall.item,
                        count=k,
                    ),
                )
        return MeanScoreRule("points", tuple(_norm_number(p) for p in points if _is_number(p)))


def _value_problem(item: Item, value: Any) -> str | None:
    """Why ``value`` is not a possible (single) answer of ``item``, or None."""
    if item.type in SCALE_TYPES:
        k = len(item.levels)
        if not _is_int(value):
            return _("expected a level 1..%(k)s, got %(kind)s", k=k, kind=_kind(value))
        if not 1 <= value <= k:
            return _("expected a level 1..%(k)s", k=k)
    elif item.type in CHOICE_TYPES:
        if not isinstance(value, str):
            return _("expected an option code, got %(kind)s", kind=_kind(value))
        if value not in item.option_codes:
            return _("unknown option (options: %(options)s)", options=", ".join(item.option_codes))
    elif item.type == "number":
        if not _is_number(value):
            return _("expected a number, got %(kind)s", kind=_kind(value))
        lo, hi = item.min_value, item.max_value
        if lo is not None and hi is not None and not lo <= value <= hi:
            return _("expected a number between %(lo)s and %(hi)s", lo=_number(lo), hi=_number(hi))
    return None


# ---------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------

#: Stable answer-error codes with a generic bilingual description for the UI.
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


def _is_blank(value: Any) -> bool:
    """None, an empty or blank string and an empty list count as "not answered"."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list | tuple) and len(value) == 0


def _check(item: Item, value: Any) -> tuple[AnswerError | None, Any]:
    """Validate a non-blank answer; return (error, cleaned value)."""

    def err(code: str, message: str) -> tuple[AnswerError, None]:
        return AnswerError(item.code, code, message), None

    if item.type in SCALE_TYPES:
        k = len(item.levels)
        if not _is_int(value):
            return err("wrong_type", f"expected an integer level 1..{k}, got {_kind_en(value)}")
        if not 1 <= value <= k:
            return err("out_of_range", f"expected a level 1..{k}, got {value}")
        return None, value
    if item.type == "single":
        if not isinstance(value, str):
            return err("wrong_type", f"expected an option code (string), got {_kind_en(value)}")
        if value not in item.option_codes:
            return err(
                "unknown_option",
                f"unknown option {value!r}; options: {', '.join(item.option_codes)}",
            )
        return None, value
    if item.type == "multiple":
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            return err("wrong_type", f"expected a list of option codes, got {_kind_en(value)}")
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
        numeric = _is_int(value) or isinstance(value, float)
        if not numeric or value != value:  # NaN is not equal to itself
            return err("wrong_type", f"expected a number, got {_kind_en(value)}")
        if not _is_number(value):  # ±inf (JSON 1e400) or a huge int: not echoed
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
        return None, _norm_number(value)
    # text
    if not isinstance(value, str):
        return err("wrong_type", f"expected text, got {_kind_en(value)}")
    text = value.strip()
    if _CONTROL_RE.search(text):
        return err("invalid_characters", "the text contains control characters")
    if item.max_length is not None and len(text) > item.max_length:
        return err("too_long", f"at most {item.max_length} characters, got {len(text)}")
    return None, text


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
            if _is_blank(value):
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
            error, cleaned = _check(item, value)
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
        return [
            AnswerError("answers", "wrong_type", f"expected an object, got {_kind_en(answers)}")
        ]
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
                if not _is_blank(value):
                    error, cleaned = _check(item, value)
                    if error is None:
                        clean[item.code] = cleaned
    return frozenset(shown)


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
    clean = clean_answers(q, answers, enforce_required=enforce_required)
    rows: list[tuple[str, int]] = []
    for code, value in clean.items():
        item = q.items_by_code[code]
        if item.type in SCALE_TYPES:
            rows.append((code, value))
        elif item.type == "single":
            rows.append((code, item.option_position(value)))
        elif item.type == "multiple":
            rows.extend((code, item.option_position(v)) for v in value)
        elif item.type == "number" and _is_int(value):
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
