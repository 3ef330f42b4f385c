"""The sentences leaders read: sizes in points, p-values, significance, a change's and
two units' difference in words."""

from __future__ import annotations

from flask_babel import gettext as _

from analysis.indices import Difference, points
from survey_app import formatting

SIGNIFICANCE = 0.05


def format_p(p_value: float) -> str:
    if p_value < 0.001:
        return "p < " + formatting.number(0.001, 3)
    return "p = " + formatting.number(p_value, 3)


def significance(p_value: float) -> str:
    """Whether a difference or a trend is significant at ``SIGNIFICANCE``, with its p."""
    if p_value < SIGNIFICANCE:
        return _("statistically significant (%(p)s)", p=format_p(p_value))
    return _("not statistically significant (%(p)s)", p=format_p(p_value))


def change_sentence(diff: Difference, kind: str) -> str:
    """A plain-language description: direction, size and significance."""
    size = formatting.number(abs(points(diff.value, kind)), 1)
    if kind == "rate":
        if diff.value > 0:
            text = _("rose by %(size)s percentage points", size=size)
        elif diff.value < 0:
            text = _("fell by %(size)s percentage points", size=size)
        else:
            text = _("did not change")
    elif diff.value > 0:
        text = _("rose by %(size)s points", size=size)
    elif diff.value < 0:
        text = _("fell by %(size)s points", size=size)
    else:
        text = _("did not change")
    return f"{text}, {significance(diff.p_value)}"


def units_sentence(first: str, second: str, diff: Difference, kind: str) -> str:
    """ "A is 3.1 percentage points higher than B, not statistically significant (p = …)"."""
    size = formatting.number(abs(points(diff.value, kind)), 1)
    if diff.value > 0:
        text = _(
            "%(a)s is %(size)s percentage points higher than %(b)s", a=first, b=second, size=size
        )
    elif diff.value < 0:
        text = _(
            "%(a)s is %(size)s percentage points lower than %(b)s", a=first, b=second, size=size
        )
    else:
        text = _("%(a)s and %(b)s are equal", a=first, b=second)
    return f"{text}, {significance(diff.p_value)}."
