"""Numbers, percentages and dates the reader's way: one module, Babel, the current locale.

Vietnamese writes ``44.606`` (thousands), ``78,0%`` and ``02/12/2026``; English
``44,606``, ``78.0%`` and ``Dec 2, 2026``. Every page, message and chart label formats
through these functions (templates through the filters ``number``, ``pct``,
``date_short``, ``datetime_short`` and ``value``), never with ``str()``, ``{:,}`` or
its own Babel pattern; an index's figure through :func:`index_value`, its interval
through :func:`interval`, a difference through :func:`signed`.
Outside a request the locale is Vietnamese (``extensions.select_locale``).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from numbers import Real

from babel.numbers import get_decimal_symbol
from flask import Flask
from flask_babel import format_date, format_datetime, format_decimal, format_percent, get_locale
from flask_babel import gettext as _

from survey_app.i18n import current_lang

#: The minus sign of every number shown: U+2212, as plotly.js writes it on the charts'
#: axes (a hyphen-minus is narrower than the plus sign, and a screen reader may read it
#: as a dash). :func:`survey_app.numbers.parse_number` reads it back, so a figure
#: copied from a page can be typed into a form.
MINUS = "\u2212"


def _minus(text: str) -> str:
    """A formatted number with :data:`MINUS` for its minus sign."""
    return MINUS + text[1:] if text.startswith("-") else text


def number(value: float | int | None, digits: int | None = None) -> str:
    """``44.606`` / ``44,606``; with ``digits`` exactly that many decimals (``1,5``);
    a negative number with :data:`MINUS` (``−0,5``)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if digits is None:
        return _minus(format_decimal(value))
    return _minus(format_decimal(value, format="#,##0." + "0" * digits if digits else "#,##0"))


def editable(value: float) -> str:
    """A number to be typed back into a form field: the reader's decimal sign, no
    thousands separator and no rounding (``1,5`` / ``1.5``, ``5000``, ``0,0000001``).

    :func:`survey_app.numbers.parse_number` must read it back as ``value``: a lone
    separator before exactly three digits means thousands there (or is refused), so
    such a fraction gets a fourth digit (``1,1250``, not ``1,125``).
    """
    text = format(Decimal(repr(float(value))), "f")  # every digit of the float, no more
    whole, _point, fraction = text.partition(".")
    fraction = fraction.rstrip("0")
    if len(fraction) == 3 and whole.lstrip("-") != "0":
        fraction += "0"
    return whole + (get_decimal_symbol(get_locale() or "vi") + fraction if fraction else "")


def chart_separators(lang: str) -> str:
    """Plotly's ``layout.separators`` (decimal sign, then thousands): plotly.js writes a
    chart's ticks and hover figures itself, so each figure carries the reader's way
    (``0,5`` and ``1.200`` in Vietnamese)."""
    return ",." if lang == "vi" else ".,"


def percent(value: float | None, digits: int = 1) -> str:
    """A proportion as a percentage: 0.78 → ``78,0%`` / ``78.0%``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return _minus(
        format_percent(value, format="#,##0." + "0" * digits + "%" if digits else "#,##0%")
    )


def signed(value: float | None, digits: int = 1) -> str:
    """A difference with its sign: ``+12,9`` / ``−3,0`` (``+12.9`` / ``−3.0``), the
    minus being :data:`MINUS`, as on the charts."""
    if value is None or math.isnan(value):
        return "—"
    pattern = "#,##0." + "0" * digits if digits else "#,##0"
    return _minus(format_decimal(value, format=f"+{pattern};-{pattern}"))


def index_value(value: float | None, kind: str, digits: int = 1) -> str:
    """A figure of an index: a rate as a percentage (``78,0%``), a mean score as a
    number (``68,4``), both with ``digits`` decimals."""
    return percent(value, digits) if kind == "rate" else number(value, digits)


def interval(low: float | None, high: float | None, kind: str = "rate") -> str:
    """A confidence interval of an index: ``75,5% – 80,2%`` (a rate), ``68,4 – 71,0``."""
    return f"{index_value(low, kind)} – {index_value(high, kind)}"


def day(value: object) -> str:
    """``02/12/2026`` in Vietnamese; ``Dec 2, 2026`` in English."""
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        return "—" if value is None else str(value)
    return format_date(value, "dd/MM/yyyy" if current_lang() == "vi" else "medium")


def month(value: date) -> str:
    """A month: ``12/2026`` in Vietnamese; ``Dec 2026`` in English (chart axes)."""
    return format_date(value, "MM/yyyy" if current_lang() == "vi" else "MMM yyyy")


def moment(value: object) -> str:
    """``02/12/2026 14:05`` in Vietnamese; the locale's short form in English."""
    if not isinstance(value, datetime):
        return day(value)
    return format_datetime(value, "dd/MM/yyyy HH:mm" if current_lang() == "vi" else "short")


def value(item: object) -> str:
    """Any value a message or log entry shows: no ``None``/``True`` reprs, numbers and
    dates formatted, lists joined."""
    if item is None or item == "":
        return "—"
    if isinstance(item, bool):
        return _("yes") if item else _("no")
    if isinstance(item, int):
        return number(item)
    if isinstance(item, Real):
        as_float = float(item)
        if math.isnan(as_float):
            return "—"
        return format_decimal(as_float, format="#,##0.####")
    if isinstance(item, (date, datetime)):
        return moment(item)
    if isinstance(item, str):
        try:
            return day(date.fromisoformat(item)) if len(item) == 10 else item
        except ValueError:
            return item
    if isinstance(item, (list, tuple, set)):
        return ", ".join(value(i) for i in item) or "—"
    if isinstance(item, dict):
        return "; ".join(f"{k}: {value(v)}" for k, v in item.items())
    return str(item)


def register_filters(app: Flask) -> None:
    """The template filters: numbers and dates through this module."""
    app.jinja_env.filters["pct"] = percent
    app.jinja_env.filters["number"] = number
    app.jinja_env.filters["datetime_short"] = moment
    app.jinja_env.filters["date_short"] = day
    app.jinja_env.filters["value"] = value
    app.jinja_env.filters["editable"] = editable
