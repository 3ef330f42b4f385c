"""Shared pieces of the weighting methods: results, diagnostics and category coding.

Every weighting method of :mod:`analysis.weighting` returns a frozen
:class:`WeightingResult`: the new weights (a read-only array), a
:class:`WeightingReport` of diagnostics and, for the methods that R's ``survey``
package remembers in ``design$postStrata``, the adjustment that turns the
linearized scores of an estimator into calibration residuals (see
:mod:`analysis.weighting.adjustments`).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from analysis.i18n import _

__all__ = [
    "CalibrationConvergenceError",
    "CellCoding",
    "EmptyCellsError",
    "WeightingConvergenceWarning",
    "WeightingReport",
    "WeightingResult",
    "check_weights",
    "code_cells",
    "weight_diagnostics",
]


class WeightingConvergenceWarning(UserWarning):
    """Raking or calibration stopped at its iteration limit before converging."""


class CalibrationConvergenceError(ValueError):
    """Calibration did not meet the totals (a ``ValueError`` carrying the numbers).

    Attributes
    ----------
    eps : float
        Largest relative miss of a total at the last iteration.
    iterations : int
        Iterations performed.
    """

    def __init__(self, message: str, eps: float, iterations: int) -> None:
        super().__init__(message)
        self.eps = float(eps)
        self.iterations = int(iterations)


class EmptyCellsError(ValueError):
    """Post-stratification cells with a positive target and no sample unit (a
    ``ValueError``; ``partial=True`` ignores them).

    Attributes
    ----------
    cells : str
        The cells, described as in the message (``"stype=X; stype=Y"``).
    """

    def __init__(self, message: str, cells: str) -> None:
        super().__init__(message)
        self.cells = cells


@dataclass(frozen=True)
class WeightingReport:
    """Diagnostics of one weighting step.

    Attributes
    ----------
    method : str
        ``"design"``, ``"poststratify"``, ``"rake"``, ``"calibrate-linear"``,
        ``"calibrate-raking"``, ``"calibrate-logit"`` or ``"trim"``.
    converged : bool
        False when an iterative method stopped at its iteration limit.
    iterations : int
        Passes (raking, trimming) or Newton steps (calibration) performed.
    max_margin_error : float
        Largest relative error ``|sum_i w_i x_i - T| / |T|`` over the targets the
        method was asked to meet (absolute error where ``T = 0``); ``nan`` when the
        method has no targets (trimming).
    n : int
        Number of units.
    sum_weights, weight_min, weight_median, weight_max : float
        Total and distribution of the new weights.
    weight_cv : float
        Coefficient of variation of the weights, ``sd(w) / mean(w)`` with the
        population standard deviation (divisor ``n``).
    deff_weighting : float
        Kish's design effect due to unequal weighting, ``1 + CV^2``.
    n_eff : float
        Kish's effective sample size ``(sum w)^2 / sum w^2 = n / (1 + CV^2)``.
    n_trimmed : int
        Units whose weight was clipped to a bound (trimming only).
    messages : tuple of str
        Warnings raised on the way (non-convergence, ignored empty cells, ...).

    Notes
    -----
    ``1 + CV^2 = n sum w^2 / (sum w)^2`` is the variance inflation of a mean from
    unequal weights that are unrelated to the outcome (Kish 1965, sec. 11.7;
    Kalton & Flores-Cervantes 2003, sec. 4).
    """

    method: str
    converged: bool
    iterations: int
    max_margin_error: float
    n: int
    sum_weights: float
    weight_min: float
    weight_median: float
    weight_max: float
    weight_cv: float
    deff_weighting: float
    n_eff: float
    n_trimmed: int = 0
    messages: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary (``nan`` becomes ``None``)."""
        out = asdict(self)
        out["messages"] = list(self.messages)
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in out.items()}


@dataclass(frozen=True)
class WeightingResult:
    """New weights, their diagnostics and the variance adjustment they imply.

    Attributes
    ----------
    weights : ndarray
        Read-only array of the new weights, in the order of the input units.
    report : WeightingReport
        Diagnostics.
    adjustment : object or None
        For post-stratification, raking and calibration, the object that
        residualizes estimator scores as R's ``svyrecvar`` does for the
        ``postStrata`` entry R stores; ``None`` for design weights and trimming
        (R keeps no such entry for them).
    """

    weights: NDArray[np.float64]
    report: WeightingReport
    adjustment: Any = field(default=None, repr=False)


def check_weights(weights: ArrayLike, name: str = "weights") -> NDArray[np.float64]:
    """Return a float copy of ``weights`` after checking they are finite and positive."""
    w = np.array(weights, dtype=np.float64, copy=True)
    if w.ndim != 1:
        raise ValueError(
            _(
                "%(name)s must be one-dimensional, got shape %(shape)s",
                name=name,
                shape=str(w.shape),
            )
        )
    if w.size == 0:
        raise ValueError(_("%(name)s is empty", name=name))
    bad = ~np.isfinite(w)
    if bad.any():
        raise ValueError(
            _(
                "%(name)s: %(count)s missing or infinite value(s)",
                name=name,
                count=int(bad.sum()),
            )
        )
    if (w <= 0).any():
        raise ValueError(
            _(
                "%(name)s: %(count)s value(s) are zero or negative",
                name=name,
                count=int((w <= 0).sum()),
            )
        )
    return w


def weight_diagnostics(
    weights: NDArray[np.float64],
    *,
    method: str,
    converged: bool = True,
    iterations: int = 0,
    max_margin_error: float = math.nan,
    n_trimmed: int = 0,
    messages: Sequence[str] = (),
) -> WeightingReport:
    """Build the :class:`WeightingReport` of ``weights``.

    Notes
    -----
    ``CV = sqrt(mean((w - mean w)^2)) / mean w``; ``deff = 1 + CV^2``;
    ``n_eff = (sum w)^2 / sum w^2`` (Kish 1965, sec. 11.7).
    """
    n = int(weights.size)
    total = float(weights.sum())
    mean = total / n
    cv = float(np.sqrt(np.mean((weights - mean) ** 2)) / mean)
    return WeightingReport(
        method=method,
        converged=bool(converged),
        iterations=int(iterations),
        max_margin_error=float(max_margin_error),
        n=n,
        sum_weights=total,
        weight_min=float(weights.min()),
        weight_median=float(np.median(weights)),
        weight_max=float(weights.max()),
        weight_cv=cv,
        deff_weighting=1.0 + cv * cv,
        n_eff=total * total / float(np.dot(weights, weights)),
        n_trimmed=int(n_trimmed),
        messages=tuple(messages),
    )


def frozen(a: NDArray[np.float64]) -> NDArray[np.float64]:
    """Mark an array read-only and return it."""
    a.setflags(write=False)
    return a


def relative_errors(achieved: NDArray[np.float64], target: NDArray[np.float64]) -> float:
    """Largest ``|achieved - target| / |target|`` (absolute where ``target == 0``)."""
    if target.size == 0:
        return 0.0
    scale = np.where(target != 0, np.abs(target), 1.0)
    return float(np.max(np.abs(achieved - target) / scale))


def _as_labels(values: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(
            _(
                "variable %(name)s must be one-dimensional, got shape %(shape)s",
                name=repr(name),
                shape=str(arr.shape),
            )
        )
    if arr.dtype.kind == "f":
        missing = np.isnan(arr)
    elif arr.dtype.kind == "O":
        missing = pd.isna(arr)
    else:
        missing = np.zeros(arr.shape, dtype=bool)
    if missing.any():
        raise ValueError(
            _(
                "variable %(name)s has %(count)s missing value(s)",
                name=repr(name),
                count=int(missing.sum()),
            )
        )
    return arr


def _codes(values: np.ndarray, levels: Sequence[Hashable]) -> NDArray[np.int64]:
    """Integer code of each value in ``levels`` (``-1`` when absent).

    One hash pass (:func:`pandas.factorize`), then a loop over the distinct values only.
    """
    inverse, uniq = pd.factorize(values, sort=False)
    lookup = {level: k for k, level in enumerate(levels)}
    uniq_codes = np.array([lookup.get(u, -1) for u in np.asarray(uniq).tolist()], dtype=np.int64)
    return uniq_codes[inverse]


@dataclass(frozen=True)
class CellCoding:
    """Units coded into the cells of a (possibly crossed) classification.

    Attributes
    ----------
    variables : tuple of str
        Names of the crossed variables.
    labels : tuple
        One label per cell (a level, or a tuple of levels for crossed variables).
    codes : ndarray of int
        Cell of each unit, ``0 .. len(labels) - 1``.
    targets : ndarray of float
        Target (population count) of each cell.
    """

    variables: tuple[str, ...]
    labels: tuple[Hashable, ...]
    codes: NDArray[np.int64]
    targets: NDArray[np.float64]

    def describe(self, k: int) -> str:
        """Human-readable name of cell ``k``, e.g. ``stype=E, sch.wide=Yes``."""
        label = self.labels[k]
        parts = label if len(self.variables) > 1 else (label,)
        return ", ".join(f"{v}={p}" for v, p in zip(self.variables, parts, strict=True))


def code_cells(
    data: Mapping[str, ArrayLike],
    variables: str | Sequence[str],
    targets: Mapping[Hashable, float],
) -> CellCoding:
    """Code units into the cells that ``targets`` names.

    Parameters
    ----------
    data : mapping of str to array_like
        The classification variables, one array per name.
    variables : str or sequence of str
        One variable, or several crossed variables.
    targets : mapping
        Population count per cell; keys are levels, or tuples of levels (one per
        variable, in the order of ``variables``) for crossed variables.

    Raises
    ------
    ValueError
        When a variable is missing from ``data`` or has missing values, when a
        target is negative or not finite, or when units fall in a cell that has no
        target (R's ``postStratify``: "Strata in sample absent from population").
    """
    names = (variables,) if isinstance(variables, str) else tuple(variables)
    if not names:
        raise ValueError(_("no cell variables given"))
    if not targets:
        raise ValueError(_("no targets given for %(names)s", names=", ".join(names)))
    labels = tuple(targets.keys())
    values = np.array([float(targets[k]) for k in labels], dtype=np.float64)
    for label, value in zip(labels, values, strict=True):
        if not np.isfinite(value) or value < 0:
            raise ValueError(
                _(
                    "target for %(cell)s is %(value)s: must be >= 0",
                    cell=_describe(names, label),
                    value=str(value),
                )
            )
    arrays = []
    for name in names:
        if name not in data:
            raise ValueError(_("variable %(name)s is not in the data", name=repr(name)))
        arrays.append(_as_labels(data[name], name))
    n = arrays[0].size
    if any(a.size != n for a in arrays):
        raise ValueError(_("variables %(names)s have different lengths", names=", ".join(names)))
    if len(names) == 1:
        codes = _codes(arrays[0], labels)
    else:
        for label in labels:
            if not isinstance(label, tuple) or len(label) != len(names):
                raise ValueError(
                    _(
                        "target key %(key)s must be a tuple of %(count)s levels (%(names)s)",
                        key=repr(label),
                        count=len(names),
                        names=", ".join(names),
                    )
                )
        # mixed-radix code over the levels each variable takes in the targets
        per_var = [list(dict.fromkeys(lab[j] for lab in labels)) for j in range(len(names))]
        grid = np.zeros(n, dtype=np.int64)
        absent = np.zeros(n, dtype=bool)
        for arr, lv in zip(arrays, per_var, strict=True):
            c = _codes(arr, lv)
            absent |= c < 0
            grid = grid * len(lv) + np.where(c < 0, 0, c)
        cell_of_grid = np.full(int(np.prod([len(lv) for lv in per_var])), -1, dtype=np.int64)
        for k, label in enumerate(labels):
            g = 0
            for j, lv in enumerate(per_var):
                g = g * len(lv) + lv.index(label[j])
            cell_of_grid[g] = k
        codes = np.where(absent, -1, cell_of_grid[grid])
    if (codes < 0).any():
        bad = np.flatnonzero(codes < 0)
        first = tuple(a[bad[0]].item() if hasattr(a[bad[0]], "item") else a[bad[0]] for a in arrays)
        cell = first if len(names) > 1 else first[0]
        raise ValueError(
            _(
                "%(count)s unit(s) fall in cells with no population target, e.g. %(cell)s",
                count=bad.size,
                cell=_describe(names, cell),
            )
        )
    return CellCoding(variables=names, labels=labels, codes=codes, targets=values)


def _describe(names: tuple[str, ...], label: Hashable) -> str:
    parts = label if len(names) > 1 and isinstance(label, tuple) else (label,)
    return ", ".join(f"{v}={p}" for v, p in zip(names, parts, strict=False))
