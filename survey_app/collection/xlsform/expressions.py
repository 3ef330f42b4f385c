"""XLSForm expressions: ``relevant`` to and from our ``show_if`` conditions, and
``constraint`` to our bounds (numbers, text length, number of choices).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext

from survey_app.collection.questionnaire.model import (
    SCALE_TYPES,
    Condition,
    Item,
)
from survey_app.collection.xlsform.sheets import INT_RE, NUMBER_RE, parse_number

_REF = r"\$\{\s*(?P<item>[A-Za-z_][A-Za-z0-9_.-]*)\s*\}"
_LITERAL = r"(?P<value>'[^']*'|\"[^\"]*\"|-?\d+(?:\.\d+)?)"
_EQUALS_RE = re.compile(rf"^{_REF}\s*=\s*{_LITERAL}$")
_SELECTED_RE = re.compile(rf"^selected\(\s*{_REF}\s*,\s*{_LITERAL}\s*\)$")
_OR_RE = re.compile(r"\s+or\s+")
_AND_RE = re.compile(r"\s+and\s+")
_BOUND_RE = re.compile(r"^\.\s*(?P<op>>=|<=)\s*(?P<value>-?\d+(?:\.\d+)?)$")
_LENGTH_RE = re.compile(r"^string-length\(\s*\.\s*\)\s*<=\s*(?P<value>\d+)$")
_COUNT_RE = re.compile(r"^count-selected\(\s*\.\s*\)\s*(?P<op>>=|<=)\s*(?P<value>\d+)$")

_RELEVANT_HELP = lazy_gettext(
    "supported: ${q} = 'v', ${q} = n, selected(${q}, 'v'), and several of these on the "
    "same question joined by 'or'"
)


def _strip_parens(expr: str) -> str:
    """Remove parentheses wrapping the whole expression."""
    expr = expr.strip()
    while expr.startswith("(") and expr.endswith(")"):
        depth = 0
        for i, ch in enumerate(expr):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0 and i < len(expr) - 1:
                return expr
        expr = expr[1:-1].strip()
    return expr


def _unquote(literal: str) -> tuple[str, bool]:
    if literal[:1] in "'\"":
        return literal[1:-1], True
    return literal, False


class UnsupportedError(ValueError):
    """An expression outside the supported subset (message says why)."""


def parse_relevant(expr: str, types: Mapping[str, str]) -> dict[str, Any]:
    """Turn a ``relevant`` expression into a ``show_if`` mapping.

    Parameters
    ----------
    expr : str
        The XLSForm expression.
    types : mapping of str to str
        Our type of every item read so far (to type the values).

    Raises
    ------
    UnsupportedError
    """
    target: str | None = None
    values: list[Any] = []
    for part in _OR_RE.split(_strip_parens(expr)):
        atom = _strip_parens(part)
        equals = _EQUALS_RE.match(atom)
        selected = _SELECTED_RE.match(atom)
        match = equals or selected
        if match is None:
            raise UnsupportedError(
                _("cannot represent %(expr)s (%(help)s)", expr=repr(atom), help=str(_RELEVANT_HELP))
            )
        item = match.group("item")
        if target is not None and item != target:
            raise UnsupportedError(
                _(
                    "'or' joins tests of different questions (%(first)s and %(second)s); "
                    "a condition may test only one earlier question",
                    first=repr(target),
                    second=repr(item),
                )
            )
        target = item
        item_type = types.get(item)
        if equals and item_type == "multiple":
            raise UnsupportedError(
                _(
                    "%(ref)s = ... on the select_multiple question %(item)s means 'exactly "
                    "this choice'; write selected(%(ref)s, 'v') instead",
                    ref=f"${{{item}}}",
                    item=repr(item),
                )
            )
        if selected and item_type in ("number", "text"):
            raise UnsupportedError(
                _("selected() applies to select questions, not to %(item)s", item=repr(item))
            )
        raw, quoted = _unquote(match.group("value"))
        if item_type in SCALE_TYPES and INT_RE.match(raw):
            values.append(int(raw))
        elif item_type == "number" and NUMBER_RE.match(raw):
            values.append(parse_number(raw))
        elif item_type in ("single", "multiple") or quoted:
            values.append(raw)
        else:
            values.append(parse_number(raw))
    assert target is not None  # split() yields at least one part
    if len(values) == 1:
        return {"item": target, "equals": values[0]}
    return {"item": target, "in": values}


def condition_expr(cond: Condition, target: Item) -> str:
    """The XLSForm ``relevant`` expression of a condition."""
    parts = []
    for value in cond.values:
        if target.type == "multiple":
            parts.append(f"selected(${{{cond.item}}}, '{value}')")
        elif target.type == "number":
            parts.append(f"${{{cond.item}}} = {value}")
        else:
            parts.append(f"${{{cond.item}}} = '{value}'")
    return " or ".join(parts)


def parse_constraint(expr: str, item_type: str) -> dict[str, Any]:
    """Read a ``constraint`` into our keys (bounds, max_length, choice counts).

    Raises
    ------
    UnsupportedError
    """
    if item_type == "number":
        pattern, keys, form = _BOUND_RE, {">=": "min", "<=": "max"}, ". >= MIN and . <= MAX"
    elif item_type == "text":
        pattern, keys, form = _LENGTH_RE, {}, "string-length(.) <= N"
    elif item_type == "multiple":
        pattern, keys = _COUNT_RE, {">=": "min_choices", "<=": "max_choices"}
        form = "count-selected(.) >= N and count-selected(.) <= M"
    else:
        raise UnsupportedError(
            _("constraints on %(type)s items cannot be represented", type=item_type)
        )
    result: dict[str, Any] = {}
    for part in _AND_RE.split(_strip_parens(expr)):
        match = pattern.match(_strip_parens(part))
        if match is None:
            raise UnsupportedError(
                _(
                    "cannot represent %(expr)s (supported: %(form)s)",
                    expr=repr(part.strip()),
                    form=form,
                )
            )
        key = keys[match.group("op")] if keys else "max_length"
        if key in result:
            raise UnsupportedError(_("%(key)s is given twice", key=key))
        result[key] = parse_number(match.group("value"))
    return result
