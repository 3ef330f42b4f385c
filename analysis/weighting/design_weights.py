"""Design (base) weights from a sampling plan."""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import numpy as np
from numpy.typing import ArrayLike

from analysis.i18n import _

from ._common import WeightingResult, code_cells, frozen, relative_errors, weight_diagnostics

__all__ = ["stage_weights", "stratum_weights"]


def stratum_weights(
    strata: ArrayLike, population_sizes: Mapping[Hashable, float], *, name: str = "stratum"
) -> WeightingResult:
    """Design weights ``N_h / n_h`` of a stratified simple random sample.

    Parameters
    ----------
    strata : array_like
        Stratum of each sampled unit.
    population_sizes : mapping
        Population size ``N_h`` of each stratum.
    name : str, default "stratum"
        Name of the stratum variable in error messages.

    Returns
    -------
    WeightingResult
        ``w_i = N_h / n_h`` for unit ``i`` of stratum ``h`` (``n_h`` its sample
        size); no variance adjustment.

    Raises
    ------
    ValueError
        A sampled stratum without a population size, or ``N_h < n_h``.

    Notes
    -----
    The inclusion probability of a unit of stratum ``h`` under stratified simple
    random sampling without replacement is ``n_h / N_h``; its inverse is the
    Horvitz-Thompson weight (Kish 1965, sec. 3.2; Lumley 2010, sec. 2.3).
    Strata of the population that were not sampled are allowed: their units are
    simply not represented.

    Examples
    --------
    >>> stratum_weights(["a", "a", "b"], {"a": 10, "b": 5}).weights.tolist()
    [5.0, 5.0, 5.0]
    """
    cells = code_cells({name: strata}, name, population_sizes)
    k = len(cells.labels)
    n_h = np.bincount(cells.codes, minlength=k)
    sampled = n_h > 0
    small = sampled & (cells.targets < n_h)
    if small.any():
        bad = "; ".join(
            f"{cells.describe(j)} (N={cells.targets[j]:g}, n={n_h[j]})"
            for j in np.flatnonzero(small)
        )
        raise ValueError(_("population size below the sample size: %(strata)s", strata=bad))
    per_stratum = np.divide(cells.targets, n_h, out=np.zeros(k), where=sampled)
    w = per_stratum[cells.codes]
    achieved = np.bincount(cells.codes, weights=w, minlength=k)
    report = weight_diagnostics(
        w,
        method="design",
        max_margin_error=relative_errors(achieved[sampled], cells.targets[sampled]),
    )
    return WeightingResult(weights=frozen(w), report=report)


def stage_weights(*probabilities: ArrayLike) -> WeightingResult:
    """Design weights from the selection probability of each unit at every stage.

    Parameters
    ----------
    *probabilities : array_like
        One array per stage: the conditional probability that the unit (or the
        cluster containing it) was selected at that stage, given the earlier
        stages; each in ``(0, 1]``.

    Returns
    -------
    WeightingResult
        ``w_i = 1 / prod_s pi_{s,i}``; no variance adjustment.

    Raises
    ------
    ValueError
        No stage, arrays of different lengths, or a probability outside ``(0, 1]``.

    Notes
    -----
    The unconditional inclusion probability in a multistage design is the product
    of the conditional ones (Kish 1965, sec. 5.3; Lumley 2010, sec. 3.2, as
    ``svydesign(probs = ~p1 + p2)``).

    Examples
    --------
    >>> stage_weights([0.5, 0.5], [0.1, 0.2]).weights.tolist()
    [20.0, 10.0]
    """
    if not probabilities:
        raise ValueError(_("give the selection probabilities of at least one stage"))
    arrays = [np.asarray(p, dtype=np.float64) for p in probabilities]
    n = arrays[0].size
    for s, p in enumerate(arrays, start=1):
        if p.ndim != 1 or p.size != n:
            raise ValueError(
                _(
                    "stage %(stage)s: probabilities must be a vector of length %(n)s",
                    stage=s,
                    n=n,
                )
            )
        bad = ~np.isfinite(p) | (p <= 0) | (p > 1)
        if bad.any():
            raise ValueError(
                _(
                    "stage %(stage)s: %(count)s probability(ies) missing or outside (0, 1]",
                    stage=s,
                    count=int(bad.sum()),
                )
            )
    prob = np.prod(np.stack(arrays), axis=0)
    w = 1.0 / prob
    return WeightingResult(weights=frozen(w), report=weight_diagnostics(w, method="design"))
