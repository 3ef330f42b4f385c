"""Parsing sections and items: the keys of each item type, scales, options, number
bounds and the skip-logic conditions (``show_if``) that refer to earlier items.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _

from survey_app.collection.questionnaire.model import (
    CHOICE_TYPES,
    DEFAULT_TEXT_LENGTH,
    DEFAULT_TEXT_WARNING,
    ITEM_CODE_RE,
    ITEM_TYPES,
    LIKERT5_LABELS,
    MAX_TEXT_LENGTH,
    OPTION_CODE_RE,
    SCALE_TYPES,
    SMILEY_DEFAULT_LABELS,
    Condition,
    Item,
    Label,
    Option,
    Section,
)
from survey_app.collection.questionnaire.parsing import PLACEHOLDER, DefinitionParser, sub_path
from survey_app.collection.questionnaire.values import (
    is_int,
    is_number,
    kind_of,
    norm_number,
    number_text,
)

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


class ItemParser(DefinitionParser):
    """Sections, items and their skip logic, on top of :class:`DefinitionParser`."""

    def sections(self, value: Any, path: str) -> tuple[Section, ...]:
        result = []
        seen: set[str] = set()
        for i, raw in enumerate(self.seq(value, path)):
            spath = sub_path(path, i)
            d = self.mapping(raw, spath, ("code", "title", "items"), ("description", "show_if"))
            if d is None:
                continue
            code = self.code(
                d.get("code"), sub_path(spath, "code"), ITEM_CODE_RE, _("section code")
            )
            if code is not None:
                if code in seen:
                    self.error(
                        sub_path(spath, "code"), _("duplicate section code '%(code)s'", code=code)
                    )
                seen.add(code)
            title = (
                self.label(d["title"], sub_path(spath, "title")) if "title" in d else PLACEHOLDER
            )
            description = self.opt_label(d, "description", spath)
            show_if = (
                self.condition(d["show_if"], sub_path(spath, "show_if")) if "show_if" in d else None
            )
            items = []
            for j, raw_item in enumerate(self.seq(d.get("items"), sub_path(spath, "items"))):
                item = self.item(raw_item, sub_path(sub_path(spath, "items"), j), code or "")
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
        code = self.code(d.get("code"), sub_path(path, "code"), ITEM_CODE_RE, _("item code"))
        if code is not None and code in self.items:
            self.error(sub_path(path, "code"), _("duplicate item code '%(code)s'", code=code))
            code = None
        if "type" in d and item_type not in ITEM_TYPES:
            self.error(
                sub_path(path, "type"),
                _(
                    "unknown item type %(type)s (allowed: %(allowed)s)",
                    type=repr(item_type),
                    allowed=", ".join(ITEM_TYPES),
                ),
            )
            if code is not None:
                self.broken.add(code)
            return None
        label = self.label(d["label"], sub_path(path, "label")) if "label" in d else PLACEHOLDER
        show_if = (
            self.condition(d["show_if"], sub_path(path, "show_if")) if "show_if" in d else None
        )
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
                sub_path(path, "demographic"),
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
        lpath = sub_path(path, "labels")
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
        return tuple(self.label(v, sub_path(lpath, i)) for i, v in enumerate(raw))

    def choice(self, d: dict[str, Any], path: str, item_type: str) -> dict[str, Any]:
        opath = sub_path(path, "options")
        options = []
        seen: set[str] = set()
        for i, raw in enumerate(self.seq(d.get("options"), opath, min_len=2)):
            p = sub_path(opath, i)
            od = self.mapping(raw, p, ("code", "label"))
            if od is None:
                continue
            code = self.code(od.get("code"), sub_path(p, "code"), OPTION_CODE_RE, _("option code"))
            if code is not None and code in seen:
                self.error(sub_path(p, "code"), _("duplicate option code '%(code)s'", code=code))
            label = self.label(od["label"], sub_path(p, "label")) if "label" in od else PLACEHOLDER
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
                    sub_path(path, "min_choices"),
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
            elif not is_number(value):
                self.error(
                    sub_path(path, key), _("must be a number, got %(kind)s", kind=kind_of(value))
                )
                bounds.append(None)
            elif integer and not float(value).is_integer():
                self.error(
                    sub_path(path, key),
                    _("must be a whole number for an integer item, got %(value)s", value=value),
                )
                bounds.append(None)
            else:
                bounds.append(norm_number(value))
        lo, hi = bounds
        if lo is not None and hi is not None and lo >= hi:
            self.error(
                sub_path(path, "max"),
                _("max (%(hi)s) must be greater than min (%(lo)s)", hi=hi, lo=lo),
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
                sub_path(path, "item"),
                _(
                    "refers to %(code)s, which is not an item defined earlier in the file",
                    code=repr(target_code),
                ),
            )
        op = "equals" if "equals" in d else "in"
        vpath = sub_path(path, op)
        raw_values = [d["equals"]] if op == "equals" else self.seq(d["in"], vpath)
        if op == "in" and len(set(map(repr, raw_values))) != len(raw_values):
            self.error(vpath, _("values must be distinct"))
        if target is None:
            return None
        if target.type == "text":
            self.error(
                sub_path(path, "item"),
                _("cannot depend on the free-text item '%(code)s'", code=target.code),
            )
            return None
        values = []
        for i, v in enumerate(raw_values):
            p = vpath if op == "equals" else sub_path(vpath, i)
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
                values.append(norm_number(v) if target.type == "number" else v)
        return Condition(target.code, op, tuple(values))


def _value_problem(item: Item, value: Any) -> str | None:
    """Why ``value`` is not a possible (single) answer of ``item``, or None."""
    if item.type in SCALE_TYPES:
        k = len(item.levels)
        if not is_int(value):
            return _("expected a level 1..%(k)s, got %(kind)s", k=k, kind=kind_of(value))
        if not 1 <= value <= k:
            return _("expected a level 1..%(k)s", k=k)
    elif item.type in CHOICE_TYPES:
        if not isinstance(value, str):
            return _("expected an option code, got %(kind)s", kind=kind_of(value))
        if value not in item.option_codes:
            return _("unknown option (options: %(options)s)", options=", ".join(item.option_codes))
    elif item.type == "number":
        if not is_number(value):
            return _("expected a number, got %(kind)s", kind=kind_of(value))
        lo, hi = item.min_value, item.max_value
        if lo is not None and hi is not None and not lo <= value <= hi:
            return _(
                "expected a number between %(lo)s and %(hi)s",
                lo=number_text(lo),
                hi=number_text(hi),
            )
    return None
