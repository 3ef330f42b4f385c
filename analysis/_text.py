"""Plain formatting of values inside error and warning messages.

``repr`` of a numpy scalar reads ``np.float64(0.0)`` (numpy >= 2), and a tuple or
dict of them prints the same way; messages are read by survey teams, so values are
converted to Python scalars before they are quoted.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def plain(value: Any) -> Any:
    """``value`` with numpy scalars (also inside tuples, lists and dicts) as Python ones."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    return value


def show(value: Any) -> str:
    """``repr`` of :func:`plain` ``(value)``: strings quoted, numbers as digits."""
    return repr(plain(value))
