"""Reading numbers typed the Vietnamese or the English way, refusing the ambiguous ones.

Uploaded files (weighting targets, paper questionnaires, sample frames) come from
spreadsheets kept in either convention: Vietnamese writes ``36.800`` for thirty-six
thousand eight hundred and ``36,8`` for 36.8; English writes ``36,800`` and ``36.8``.
:func:`parse_number` reads every spelling that means one number and refuses, with both
readings, the one that means two:

==============  =========  ===============================================
text            value      why
==============  =========  ===============================================
``36800``       36800      digits only
``36 800``      36800      spaces group thousands in both conventions
``36.800``      36800      a point before exactly three digits: Vietnamese
                           thousands (English would not write 36.8 so)
``1.234.567``   1234567    repeated separator: thousands
``1,234,567``   1234567
``1.234,5``     1234.5     both separators: the last one is the decimal
``1,234.5``     1234.5
``36,8``        36.8       a comma before other than three digits: decimal
``36.8``        36.8
``0,065``       0.065      a zero before the separator: decimal
``36,800``      refused    English 36800 or Vietnamese 36.8
``−2,5``        -2.5       the minus sign the pages show (U+2212),
                           as well as ``-2,5``
==============  =========  ===============================================

A lone comma before exactly three digits is the only ambiguous spelling: the message
shows both readings (:class:`AmbiguousNumberError`) so the analyst can write the number
without the separator.
"""

from __future__ import annotations

import math
import re

from flask_babel import gettext as _

#: A minus: the hyphen-minus typed, and U+2212, the one the app's pages show
#: (``survey_app.formatting.MINUS``).
_MINUS_SIGNS = ("-", "\u2212")

_DIGITS = re.compile(r"\d+")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")


class NumberError(ValueError):
    """The text is not a number; ``str()`` is the message for the reader."""


class AmbiguousNumberError(NumberError):
    """The text means two numbers; ``readings`` are (thousands, decimal)."""

    def __init__(self, text: str, readings: tuple[float, float]) -> None:
        self.text = text
        self.readings = readings
        super().__init__(
            _(
                "“%(text)s” can be read two ways: %(thousands)s (comma as thousands "
                "separator) or %(decimal)s (decimal comma). Write it without the "
                "thousands separator, e.g. %(plain)s.",
                text=text,
                thousands=_plain(readings[0]),
                decimal=_decimal(readings[1]),
                plain=_plain(readings[0]),
            )
        )


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _decimal(value: float) -> str:
    """A decimal number (below 1000 here) with the reader's decimal sign: 36,8 / 36.8."""
    from survey_app import formatting

    return formatting.number(value)


def _grouped(body: str, separator: str) -> bool:
    """1.234.567: one to three digits, then groups of three after each separator."""
    pattern = r"\d{1,3}(?:" + re.escape(separator) + r"\d{3})+"
    return re.fullmatch(pattern, body) is not None


def parse_number(text: str) -> float:
    """The number ``text`` means, in either convention (see the module's table).

    Raises :class:`AmbiguousNumberError` for a lone comma before three digits ("36,800")
    and :class:`NumberError` for anything else that is not a finite number.
    """
    raw = str(text)
    body = _SPACES.sub("", raw.strip())
    sign = ""
    if body[:1] == "+" or body[:1] in _MINUS_SIGNS:
        sign, body = body[0], body[1:]
    value = _read(body, raw)
    if value is None:
        raise NumberError(_("“%(text)s” is not a number.", text=raw.strip()))
    return -value if sign in _MINUS_SIGNS else value


def _read(body: str, raw: str) -> float | None:
    if not body:
        return None
    if _DIGITS.fullmatch(body):
        return float(body)
    points, commas = body.count("."), body.count(",")
    if points and commas:
        decimal_sign = "." if body.rfind(".") > body.rfind(",") else ","
        thousands = "," if decimal_sign == "." else "."
        whole, _sep, fraction = body.rpartition(decimal_sign)
        if not (_grouped(whole, thousands) and _DIGITS.fullmatch(fraction)):
            return None
        return float(whole.replace(thousands, "") + "." + fraction)
    separator = "." if points else ","
    count = points or commas
    if count == 0:
        return _scientific(body)
    if count > 1:
        return float(body.replace(separator, "")) if _grouped(body, separator) else None
    whole, _sep, fraction = body.partition(separator)
    if not (_DIGITS.fullmatch(whole or "0") and _DIGITS.fullmatch(fraction)):
        return _scientific(body) if separator == "." else None
    decimal = float((whole or "0") + "." + fraction)
    if len(fraction) != 3 or not whole or whole.startswith("0"):
        return decimal
    thousands = float(whole + fraction)
    if separator == ".":
        return thousands  # Vietnamese thousands: 36.800
    raise AmbiguousNumberError(raw.strip(), (thousands, decimal))


def _scientific(body: str) -> float | None:
    """1e3, 2.5E-4: what a spreadsheet writes for very large or small numbers."""
    if not re.fullmatch(r"\d+(?:\.\d+)?[eE][+-]?\d+", body):
        return None
    value = float(body)
    return value if math.isfinite(value) else None
