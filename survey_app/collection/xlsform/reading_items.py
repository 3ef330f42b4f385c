"""Reading the questions of an XLSForm: their type (with the five-level satisfaction
scale recognised), required, ``relevant``, options, scales, constraints, units and
warnings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from pyxform.aliases import yes_no

from survey_app.collection.questionnaire.model import (
    LIKERT5_LABELS,
    SCALE_TYPES,
    SMILEY_DEFAULT_LABELS,
)
from survey_app.collection.xlsform.expressions import (
    UnsupportedError,
    parse_constraint,
    parse_relevant,
)
from survey_app.collection.xlsform.problems import Location
from survey_app.collection.xlsform.reading_base import BIND_COLUMNS, WorkbookReader
from survey_app.collection.xlsform.sheets import EXTRA_COLUMNS, cell_text, lang_code

_SUPPORTED_TYPES = (
    "select_one, select_multiple, integer, decimal, text, begin_group/end_group"
    " (metadata such as start and end are skipped)"
)
_QUESTION_KEYS = frozenset(
    {"type", "name", "label", "hint", "bind", "control", "parameters", "itemset", "list_name"}
    | {"choices", *EXTRA_COLUMNS}
)
#: bind keys we read; constraint and required messages are ignored (the platform
#: has its own bilingual messages).
_BIND_KEYS = frozenset({"relevant", "required", "constraint", "jr:constraintMsg", "jr:requiredMsg"})


class ItemReader(WorkbookReader):
    """The questions of the survey sheet and their choices."""

    def item(self, q: dict[str, Any], path: str) -> dict[str, Any]:
        name = str(q.get("name", ""))
        loc = self.at(name)
        raw_type = self.raw_types.get(name, str(q.get("type", "")))
        self.where[path] = loc
        self.where[f"{path}.code"] = loc.with_column("name")
        self.where[f"{path}.label"] = loc.with_column(self.survey.column("label", "vi"))
        d: dict[str, Any] = {"code": name}
        our_type = self.item_type(q, loc, raw_type)
        if our_type is None:
            return d
        d["type"] = our_type
        self.check_keys(q, _QUESTION_KEYS, loc)
        self.label_and_hint(q, loc, path, d, ("label", "help"))
        bind = q.get("bind", {})
        for key in bind:
            if key not in _BIND_KEYS:
                column = BIND_COLUMNS.get(key, key)
                self.problem(
                    loc.with_column(column), _("%(column)s cannot be represented", column=column)
                )
        if "required" in bind:
            self.where[f"{path}.required"] = loc.with_column("required")
            d["required"] = self.yes_no(bind["required"], loc.with_column("required"))
        if "x_demographic" in q:
            self.where[f"{path}.demographic"] = loc.with_column("x_demographic")
            d["demographic"] = self.yes_no(q["x_demographic"], loc.with_column("x_demographic"))
        if bind.get("relevant"):
            d["show_if"] = self.show_if(bind["relevant"], loc, f"{path}.show_if")
        if our_type in SCALE_TYPES:
            self.scale(q, d, loc, path)
        elif our_type in ("single", "multiple"):
            self.where[f"{path}.options"] = loc.with_column("type")
            d["options"] = self.options(q, path)
        if bind.get("constraint"):
            column = loc.with_column("constraint")
            for key in ("min", "max", "max_length", "min_choices", "max_choices"):
                self.where[f"{path}.{key}"] = column
            try:
                d.update(parse_constraint(str(bind["constraint"]), our_type))
            except UnsupportedError as exc:
                self.problem(column, str(exc))
        elif our_type == "number":
            self.where[path] = loc.with_column("constraint")
        if our_type == "number":
            d["integer"] = q["type"] == "integer"
        for key, base, owner in (("unit", "x_unit", "number"), ("warning", "x_warning", "text")):
            if base in q:
                if our_type != owner:
                    self.problem(
                        loc.with_column(base),
                        _("%(column)s is only for %(type)s questions", column=base, type=owner),
                    )
                    continue
                self.where[f"{path}.{key}"] = loc.with_column(self.survey.column(base, "vi"))
                d[key] = self.label(q[base], loc, self.survey, base)
        self.types[name] = our_type
        return d

    def item_type(self, q: Mapping[str, Any], loc: Location, raw_type: str) -> str | None:
        kind = q.get("type")
        column = loc.with_column("type")
        if "or_other" in raw_type.split():
            self.problem(column, _("'%(type)s': or_other cannot be represented", type=raw_type))
            return None
        explicit = q.get("x_type")
        if kind == "select one" and "choices" in q:
            if explicit is None:
                return "likert5" if _is_likert5(q["choices"]) else "single"
            if explicit in SCALE_TYPES:
                return str(explicit)
            self.problem(
                loc.with_column("x_type"),
                _(
                    "x_type %(value)s is not allowed (select_one: likert5 or smiley)",
                    value=repr(explicit),
                ),
            )
            return None
        base = {
            "select all that apply": "multiple",
            "integer": "number",
            "decimal": "number",
            "text": "text",
        }.get(str(kind))
        if base is None or (base == "multiple" and "choices" not in q):
            self.problem(
                column,
                _(
                    "type '%(type)s' cannot be represented (supported: %(supported)s)",
                    type=raw_type,
                    supported=_SUPPORTED_TYPES,
                ),
            )
            return None
        if explicit is not None:
            self.problem(
                loc.with_column("x_type"),
                _("%(column)s is only for %(type)s questions", column="x_type", type="select_one"),
            )
        return base

    def yes_no(self, value: Any, loc: Location) -> bool:
        result = yes_no.get(str(value).strip())
        if result is None:
            self.problem(
                loc,
                _(
                    "%(value)s is not yes or no (conditions here cannot be represented)",
                    value=repr(value),
                ),
            )
            return False
        return result

    def show_if(self, expr: Any, loc: Location, path: str) -> dict[str, Any] | None:
        column = loc.with_column("relevant")
        self.where[path] = column
        try:
            return parse_relevant(str(expr), self.types)
        except UnsupportedError as exc:
            self.problem(column, str(exc))
            return None

    def choice_loc(self, q: Mapping[str, Any], choice: Mapping[str, Any]) -> Location:
        key = (str(q.get("list_name", "")), str(choice.get("name", "")))
        return Location("choices", self.choice_rows.get(key))

    def options(self, q: Mapping[str, Any], path: str) -> list[dict[str, Any]]:
        result = []
        for k, choice in enumerate(q.get("choices", [])):
            loc = self.choice_loc(q, choice)
            self.where[f"{path}.options[{k}]"] = loc
            self.where[f"{path}.options[{k}].code"] = loc.with_column("name")
            self.check_keys(choice, frozenset({"name", "label"}), loc)
            result.append(
                {
                    "code": str(choice.get("name", "")),
                    "label": self.label(choice.get("label"), loc, self.choices, "label"),
                }
            )
        return result

    def scale(self, q: Mapping[str, Any], d: dict[str, Any], loc: Location, path: str) -> None:
        choices = q.get("choices", [])
        names = [str(c.get("name", "")) for c in choices]
        k = len(names)
        column = loc.with_column("x_type" if "x_type" in q else "type")
        self.where[f"{path}.faces"] = column
        self.where[f"{path}.labels"] = column
        if d["type"] == "likert5" and names != [str(v) for v in range(1, 6)]:
            self.problem(
                column,
                _("likert5 needs the choices 1 2 3 4 5 in order, got %(names)s", names=names),
            )
            return
        if d["type"] == "smiley" and names != [str(v) for v in range(1, k + 1)]:
            self.problem(
                column, _("smiley needs the choices 1 … k in order, got %(names)s", names=names)
            )
            return
        labels = []
        for v, choice in enumerate(choices):
            loc_v = self.choice_loc(q, choice)
            self.where[f"{path}.labels[{v}]"] = loc_v
            self.check_keys(choice, frozenset({"name", "label"}), loc_v)
            labels.append(self.label(choice.get("label"), loc_v, self.choices, "label"))
        if d["type"] == "smiley":
            d["faces"] = k
        default = LIKERT5_LABELS if d["type"] == "likert5" else SMILEY_DEFAULT_LABELS.get(k, ())
        if labels != [lab.to_dict() for lab in default]:
            d["labels"] = labels


def _norm(text: str) -> str:
    """Comparison form: NFC, case-folded, single spaces, no final full stop."""
    return " ".join(cell_text(text).casefold().split()).rstrip(".")


def _is_likert5(choices: list[Mapping[str, Any]]) -> bool:
    """Whether a select_one list is the five-level satisfaction scale.

    True when the choice names are ``1`` … ``5`` in this order and the
    Vietnamese labels are the standard levels (Rất không hài lòng … Rất hài
    lòng), compared without case, extra spaces or a final full stop.
    """
    if [str(c.get("name", "")) for c in choices] != ["1", "2", "3", "4", "5"]:
        return False
    for choice, level in zip(choices, LIKERT5_LABELS, strict=True):
        label = choice.get("label")
        texts = (
            [t for lang, t in label.items() if lang_code(str(lang)) == "vi"]
            if isinstance(label, dict)
            else []
        )
        if not texts or _norm(str(texts[0])) != _norm(level.vi):
            return False
    return True
