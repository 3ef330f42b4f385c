"""Post-stratification to known population cell counts, as R's ``postStratify``."""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from analysis.i18n import _

from ._common import (
    EmptyCellsError,
    WeightingResult,
    check_weights,
    code_cells,
    frozen,
    relative_errors,
    weight_diagnostics,
)
from .adjustments import PostStratification

__all__ = ["poststratify"]


def poststratify(
    weights: ArrayLike,
    data: Mapping[str, ArrayLike],
    by: str | Sequence[str],
    targets: Mapping[Hashable, float],
    *,
    partial: bool = False,
) -> WeightingResult:
    """Post-stratify weights to known population counts of one or more crossed variables.

    Parameters
    ----------
    weights : array_like
        Current (design) weights, finite and positive.
    data : mapping of str to array_like
        Classification variables, one array per name, aligned with ``weights``.
    by : str or sequence of str
        The post-stratification variable, or several variables whose cross
        classification defines the cells.
    targets : mapping
        Population count ``N_c`` of each cell: keys are levels, or tuples of levels
        (in the order of ``by``) for crossed variables.
    partial : bool, default False
        Cells with a positive target but no sample units are an error unless
        ``partial`` is true; then they are ignored with a warning (the weights no
        longer add up to the population total), as R's ``partial=TRUE``.

    Returns
    -------
    WeightingResult
        Weights ``w_i N_c / hat N_c`` and a :class:`PostStratification` adjustment.

    Raises
    ------
    ValueError
        Units in a cell without a target (or with target 0), an empty sample cell
        with a positive target (unless ``partial``); the message names the cell.

    Notes
    -----
    With ``hat N_c = sum_{i in c} w_i`` the weighted sample count of cell ``c``,
    every unit of ``c`` gets ``w_i^* = w_i N_c / hat N_c`` (Holt & Smith 1979;
    Lumley 2010, sec. 7.2; Kalton & Flores-Cervantes 2003, sec. 2.2). Cells with
    target 0 and no sample units are dropped, as R does. The variance of an
    estimator after post-stratification is computed from scores centred within
    cells (see :class:`PostStratification`).

    Examples
    --------
    >>> r = poststratify([1.0, 1.0, 1.0], {"g": ["a", "a", "b"]}, "g", {"a": 4, "b": 6})
    >>> r.weights.tolist()
    [2.0, 2.0, 6.0]
    """
    w = check_weights(weights)
    cells = code_cells(data, by, targets)
    if cells.codes.size != w.size:
        raise ValueError(
            _(
                "data has %(rows)s rows but weights has %(n)s",
                rows=cells.codes.size,
                n=w.size,
            )
        )
    k = len(cells.labels)
    sample = np.bincount(cells.codes, weights=w, minlength=k)
    sample_zero = sample == 0
    pop_zero = cells.targets == 0
    only_sample = pop_zero & ~sample_zero
    if only_sample.any():
        names = "; ".join(cells.describe(j) for j in np.flatnonzero(only_sample))
        raise ValueError(
            _("cells with sample units but a population target of 0: %(cells)s", cells=names)
        )
    messages: list[str] = []
    only_pop = sample_zero & ~pop_zero
    if only_pop.any():
        names = "; ".join(cells.describe(j) for j in np.flatnonzero(only_pop))
        if not partial:
            raise EmptyCellsError(
                _(
                    "empty sample cell(s) with a positive target: %(cells)s "
                    "(use partial=True to ignore them)",
                    cells=names,
                ),
                names,
            )
        msg = _("empty sample cell(s) ignored (partial=True): %(cells)s", cells=names)
        warnings.warn(msg, UserWarning, stacklevel=2)
        messages.append(msg)
    ratio = np.divide(cells.targets, sample, out=np.ones(k), where=~sample_zero)
    new = w * ratio[cells.codes]
    achieved = np.bincount(cells.codes, weights=new, minlength=k)
    report = weight_diagnostics(
        new,
        method="poststratify",
        converged=True,
        iterations=1,
        max_margin_error=relative_errors(achieved, cells.targets),
        messages=messages,
    )
    adjustment = PostStratification(
        codes=frozen(cells.codes), old_weights=frozen(w.copy()), weights=frozen(new.copy())
    )
    return WeightingResult(weights=frozen(new), report=report, adjustment=adjustment)
