"""Raking (iterative proportional fitting) to population margins, as R's ``rake``."""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from analysis.i18n import _

from ._common import (
    CellCoding,
    WeightingConvergenceWarning,
    WeightingResult,
    check_weights,
    code_cells,
    frozen,
    relative_errors,
    weight_diagnostics,
)
from .adjustments import Raking

__all__ = ["rake"]

MarginKey = str | tuple[str, ...]

#: Cross-classifications with at most this many cells are indexed densely.
_DENSE_CELLS = 1 << 16


def rake(
    weights: ArrayLike,
    data: Mapping[str, ArrayLike],
    margins: Mapping[MarginKey, Mapping[Hashable, float]],
    *,
    maxit: int = 10,
    epsilon: float = 1.0,
    total_rtol: float = 1e-6,
) -> WeightingResult:
    """Rake weights to two or more population margins by iterative proportional fitting.

    Parameters
    ----------
    weights : array_like
        Current (design) weights, finite and positive.
    data : mapping of str to array_like
        Classification variables aligned with ``weights``.
    margins : mapping
        One entry per margin, in raking order: the key is a variable name (or a
        tuple of names for a crossed margin), the value maps each level (or tuple
        of levels) to its population count.
    maxit : int, default 10
        Largest number of passes over all margins (R's ``control$maxit``).
    epsilon : float, default 1
        Convergence tolerance on the largest change, between two passes, of a
        weighted count in the cross-classification of all margin variables. In
        weighted units when ``epsilon >= 1``; otherwise relative to the sum of the
        input weights (R's ``control$epsilon``).
    total_rtol : float, default 1e-6
        Margins whose totals differ by more than this relative amount are an error
        (they can never all be met).

    Returns
    -------
    WeightingResult
        Raked weights, report (passes, convergence, largest relative margin error)
        and a :class:`Raking` variance adjustment.

    Warns
    -----
    WeightingConvergenceWarning
        When ``maxit`` passes end before the change falls below ``epsilon``, or when
        the passes stop changing while a margin is still missed by more than
        ``epsilon`` and by more than ``total_rtol`` relatively (margins that
        contradict each other, e.g. a crossed margin whose sub-totals disagree with
        another margin); the report then has
        ``converged=False`` and the largest margin error. In the second case R's
        ``rake()`` returns the same weights silently.

    Raises
    ------
    ValueError
        Fewer than one margin; margin totals that disagree; units in a category
        absent from a margin; a margin category with a positive target and no
        respondents.

    Notes
    -----
    One pass post-stratifies to each margin in turn, ``w_i <- w_i T_{mc} / hat T_{mc}``
    for the cell ``c`` of unit ``i`` in margin ``m`` (Deming & Stephan 1940;
    Kalton & Flores-Cervantes 2003, sec. 2.3; Lumley 2010, sec. 7.3). Since every
    unit's factor depends only on its cell of the cross-classification of the
    margins, the passes run on that table (one weighted count per occupied cell)
    and the weights are expanded once at the end: the cost is one pass over the
    data, whatever the number of iterations. After each
    pass the weighted counts of the full cross-classification are compared with
    those after the previous pass (before the first pass: the input weights); the
    algorithm stops when the largest absolute change is below ``epsilon``, as R.
    ``iterations`` counts the passes performed.
    """
    w0 = check_weights(weights)
    w = w0
    if not margins:
        raise ValueError(_("rake needs at least one margin"))
    if maxit < 1:
        raise ValueError(_("maxit must be >= 1, got %(maxit)s", maxit=maxit))
    if not (epsilon > 0 and np.isfinite(epsilon)):
        raise ValueError(_("epsilon must be a positive number, got %(epsilon)s", epsilon=epsilon))
    coded: list[CellCoding] = []
    for key, targets in margins.items():
        cells = code_cells(data, key, targets)
        if cells.codes.size != w.size:
            raise ValueError(
                _(
                    "data has %(rows)s rows but weights has %(n)s",
                    rows=cells.codes.size,
                    n=w.size,
                )
            )
        counts = np.bincount(cells.codes, minlength=len(cells.labels))
        empty = (counts == 0) & (cells.targets > 0)
        if empty.any():
            names = "; ".join(cells.describe(j) for j in np.flatnonzero(empty))
            raise ValueError(_("margin category with no respondents: %(cells)s", cells=names))
        zero = (counts > 0) & (cells.targets == 0)
        if zero.any():
            names = "; ".join(cells.describe(j) for j in np.flatnonzero(zero))
            raise ValueError(
                _("respondents in a margin category with target 0: %(cells)s", cells=names)
            )
        coded.append(cells)
    totals = np.array([c.targets.sum() for c in coded])
    if np.ptp(totals) > total_rtol * np.abs(totals).max():
        listing = "; ".join(
            f"{'*'.join(c.variables)}: {t:.10g}" for c, t in zip(coded, totals, strict=True)
        )
        raise ValueError(_("margin totals disagree: %(listing)s", listing=listing))

    tol = epsilon * w.sum() if epsilon < 1 else epsilon
    # A unit's raking factor is a product of margin-cell ratios, so it depends only on
    # its cell of the cross-classification: iterate on that table, then expand once.
    joint, njoint = _joint_codes(coded)
    base = np.bincount(joint, weights=w, minlength=njoint)
    cell_of = []
    for cells in coded:
        m = np.zeros(njoint, dtype=np.int64)
        m[joint] = cells.codes
        cell_of.append(m)
    factor = np.ones(njoint)
    old = base
    passes = 0
    converged = False
    delta = np.inf
    step_factors: list[np.ndarray] = []
    while passes < maxit:
        step_factors = []
        for cells, m in zip(coded, cell_of, strict=True):
            k = len(cells.labels)
            achieved = np.bincount(m, weights=base * factor, minlength=k)
            ratio = np.divide(cells.targets, achieved, out=np.ones(k), where=achieved > 0)
            factor = factor * ratio[m]
            step_factors.append(factor)
        passes += 1
        new = base * factor
        delta = float(np.max(np.abs(old - new)))
        if delta < tol:
            converged = True
            break
        old = new
    w = w * factor[joint]
    last = [
        (c.codes, w if f is factor else w0 * f[joint])
        for c, f in zip(coded, step_factors, strict=True)
    ]

    messages: list[str] = []
    table = base * factor
    achieved = [
        np.bincount(m, weights=table, minlength=len(c.labels))
        for c, m in zip(coded, cell_of, strict=True)
    ]
    err = max(relative_errors(a, c.targets) for a, c in zip(achieved, coded, strict=True))
    abs_err = max(
        float(np.max(np.abs(a - c.targets))) for a, c in zip(achieved, coded, strict=True)
    )
    if not converged:
        msg = _(
            "raking did not converge after %(passes)s passes: largest change of a "
            "cell total in the last pass %(delta)s >= epsilon %(epsilon)s; "
            "largest margin error %(error)s weighted units (%(percent)s%%)",
            passes=passes,
            delta=format(delta, ".6g"),
            epsilon=format(tol, ".6g"),
            error=_plain(abs_err),
            percent=_plain(100 * err),
        )
        warnings.warn(msg, WeightingConvergenceWarning, stacklevel=2)
        messages.append(msg)
    elif abs_err > tol and err > total_rtol:
        # the passes stopped changing but the margins are not met: they contradict
        # each other (e.g. a crossed margin whose sub-totals disagree with another
        # margin). R's rake() returns these weights without a warning; we warn.
        converged = False
        worst = max(
            (
                (c, j, float(a[j] - c.targets[j]))
                for a, c in zip(achieved, coded, strict=True)
                for j in [int(np.argmax(np.abs(a - c.targets)))]
            ),
            key=lambda item: abs(item[2]),
        )
        msg = _(
            "raking did not converge: the margins contradict each other and cannot all "
            "be met; largest margin error %(error)s weighted units "
            "(%(percent)s%%) in %(cell)s",
            error=_plain(abs_err),
            percent=_plain(100 * err),
            cell=worst[0].describe(worst[1]),
        )
        warnings.warn(msg, WeightingConvergenceWarning, stacklevel=2)
        messages.append(msg)
    report = weight_diagnostics(
        w,
        method="rake",
        converged=converged,
        iterations=passes,
        max_margin_error=err,
        messages=messages,
    )
    adjustment = Raking(margins=tuple((frozen(c), frozen(pw)) for c, pw in last))
    return WeightingResult(weights=frozen(w), report=report, adjustment=adjustment)


def _plain(x: float) -> str:
    """A number for a message: plain digits, no numpy repr."""
    return f"{float(x):.6g}"


def _joint_codes(coded: list[CellCoding]) -> tuple[np.ndarray, int]:
    """Cell of each unit in the cross-classification of all margins.

    The cross-classification of the margins is the partition R's ``rake`` tabulates
    (``svytable`` over all margin variables); empty cells never change, so only the
    partition matters. Small tables are indexed densely, large ones by occupied cell.
    """
    n = coded[0].codes.size
    radix = [len(c.labels) for c in coded]
    ncells = float(np.prod(radix, dtype=np.float64))
    if ncells < 2.0**62:
        code = np.zeros(n, dtype=np.int64)
        for c, r in zip(coded, radix, strict=True):
            code = code * r + c.codes
        if ncells <= _DENSE_CELLS:
            return code, int(ncells)
        joint, uniq = pd.factorize(code, sort=False)
        return joint.astype(np.int64), len(uniq)
    stacked = np.stack([c.codes for c in coded], axis=1)
    _unused, joint = np.unique(stacked, axis=0, return_inverse=True)
    joint = joint.reshape(-1)
    return joint, int(joint.max()) + 1
