"""Weight trimming with equal redistribution of the excess, as R's ``trimWeights``."""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike

from analysis.i18n import _

from ._common import (
    WeightingConvergenceWarning,
    WeightingResult,
    check_weights,
    frozen,
    weight_diagnostics,
)

__all__ = ["trim_weights"]


def trim_weights(
    weights: ArrayLike,
    *,
    lower: float = -np.inf,
    upper: float = np.inf,
    strict: bool = False,
    max_passes: int = 10_000,
) -> WeightingResult:
    """Clip weights to ``[lower, upper]`` and spread the trimmed amount over the others.

    Parameters
    ----------
    weights : array_like
        Weights to trim, finite and positive.
    lower, upper : float
        Bounds on the weights themselves (not on ratios).
    strict : bool, default False
        One pass only (R's default): the redistribution may push some weights
        back outside the bounds. With ``strict=True`` the pass is repeated until
        every weight lies within the bounds.
    max_passes : int, default 10000
        Safety limit for ``strict``; reaching it warns and reports non-convergence.

    Returns
    -------
    WeightingResult
        Trimmed weights (same total as the input) and a report whose
        ``n_trimmed`` counts the units clipped in at least one pass; no
        variance adjustment (R keeps none for trimming).

    Raises
    ------
    ValueError
        ``lower > upper``; every weight outside the bounds; or, with ``strict``,
        bounds that cannot hold the total (``n lower > sum w`` or ``n upper < sum w``).

    Notes
    -----
    One pass (R ``survey`` 4.1, ``trimWeights``): with ``O`` the units outside the
    bounds, ``w_i^* = min(max(w_i, L), U)`` and every unit not in ``O`` receives
    ``sum_{j in O} (w_j - w_j^*) / #(not O)`` additively, so the total is unchanged
    (Potter 1990; Kalton & Flores-Cervantes 2003, sec. 3.4).
    """
    w = check_weights(weights)
    lower, upper = float(lower), float(upper)
    if lower > upper:
        raise ValueError(
            _("lower bound %(lower)s exceeds upper bound %(upper)s", lower=lower, upper=upper)
        )
    n = w.size
    total = w.sum()
    if strict and (n * lower > total * (1 + 1e-12) or n * upper < total * (1 - 1e-12)):
        raise ValueError(
            _(
                "bounds [%(lower)s, %(upper)s] cannot hold the weight total %(total)s "
                "of %(n)s units; strict trimming would never finish",
                lower=lower,
                upper=upper,
                total=format(total, ".10g"),
                n=n,
            )
        )
    trimmed = np.zeros(n, dtype=bool)
    passes = 0
    converged = True
    while True:
        outside = (w < lower) | (w > upper)
        if not outside.any():
            break
        if passes >= (max_passes if strict else 1):
            converged = not strict
            break
        inside = ~outside
        if not inside.any():
            raise ValueError(
                _(
                    "every weight lies outside [%(lower)s, %(upper)s]: nothing to trim to",
                    lower=lower,
                    upper=upper,
                )
            )
        clipped = np.clip(w, lower, upper)
        excess = float(np.sum(w - clipped))
        clipped[inside] += excess / int(inside.sum())
        trimmed |= outside
        w = clipped
        passes += 1
    messages: list[str] = []
    if not converged:
        msg = _(
            "strict trimming stopped after %(passes)s passes with weights outside the bounds",
            passes=passes,
        )
        warnings.warn(msg, WeightingConvergenceWarning, stacklevel=2)
        messages.append(msg)
    report = weight_diagnostics(
        w,
        method="trim",
        converged=converged,
        iterations=passes,
        n_trimmed=int(trimmed.sum()),
        messages=messages,
    )
    return WeightingResult(weights=frozen(w), report=report)
