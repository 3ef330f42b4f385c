"""Raw values in a definition or an answer: their kind in messages, integers and
numbers within range, the canonical form of a number and a number in a message.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from babel.numbers import format_decimal
from flask_babel import get_locale, lazy_gettext
from flask_babel import gettext as _

_KINDS: Mapping[type, Any] = {
    bool: lazy_gettext("a boolean"),
    int: lazy_gettext("an integer"),
    float: lazy_gettext("a number"),
    str: lazy_gettext("a string"),
    list: lazy_gettext("a list"),
    dict: lazy_gettext("a mapping"),
}


def kind_of(value: Any) -> str:
    """The kind of a value in a definition error, in the reader's language."""
    if value is None:
        return _("nothing")
    kind = _KINDS.get(type(value))
    return str(kind) if kind is not None else type(value).__name__


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


#: The largest magnitude a number (an answer or a bound) may have: beyond 2**53 a
#: float no longer holds every whole number, and a larger int (JSON allows any) would
#: overflow float arithmetic.
MAX_NUMBER = 2**53


def is_number(value: Any) -> bool:
    """An int or a float (never a bool) within ±:data:`MAX_NUMBER`."""
    if is_int(value):
        return -MAX_NUMBER <= value <= MAX_NUMBER
    return isinstance(value, float) and math.isfinite(value) and abs(value) <= MAX_NUMBER


def norm_number(value: float) -> float:
    """Integral floats become ints, so ``0`` and ``0.0`` have one canonical form."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def number_text(value: float) -> str:
    """A bound in a message: the reader's way inside an application (1.000.000 in
    Vietnamese), as Python writes it outside one."""
    locale = get_locale()
    return str(value) if locale is None else format_decimal(value, locale=locale)
