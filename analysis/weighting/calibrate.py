"""Calibration to auxiliary totals (GREG, raking ratio, logit), as R's ``calibrate``."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analysis.i18n import _

from ._common import (
    CalibrationConvergenceError,
    WeightingConvergenceWarning,
    WeightingResult,
    check_weights,
    code_cells,
    frozen,
    relative_errors,
    weight_diagnostics,
)
from .adjustments import Calibration

__all__ = ["CALIBRATION_FUNCTIONS", "AuxiliaryMatrix", "calibrate", "calibrate_matrix"]

Bounds = tuple[float, float]
_Fn = Callable[[NDArray[np.float64], float, float], NDArray[np.float64]]

#: Threshold of R's ``grake`` for rescaling weights that are far below the totals.
_PRESCALE_THRESHOLD = 20.0
#: R's ``MASS::ginv`` tolerance in ``grake``.
_GINV_TOL = 256 * np.finfo(np.float64).eps
#: Tolerance of R's ``qr`` (LINPACK ``dqrdc2``) used to decide the rank.
_QR_TOL = 1e-7


def _linear_fm1(u: NDArray[np.float64], lo: float, hi: float) -> NDArray[np.float64]:
    return np.clip(u + 1.0, lo, hi) - 1.0


def _linear_df(u: NDArray[np.float64], lo: float, hi: float) -> NDArray[np.float64]:
    return ((u < hi - 1.0) & (u > lo - 1.0)).astype(np.float64)


def _raking_fm1(u: NDArray[np.float64], lo: float, hi: float) -> NDArray[np.float64]:
    with np.errstate(over="ignore"):
        return np.clip(np.exp(u), lo, hi) - 1.0


def _raking_df(u: NDArray[np.float64], lo: float, hi: float) -> NDArray[np.float64]:
    # R's cal.raking compares u (not exp(u)) with the bounds minus one; kept for parity
    with np.errstate(over="ignore"):
        return np.where((u < hi - 1.0) & (u > lo - 1.0), np.exp(u), 0.0)


def _logit_parts(u: NDArray[np.float64], lo: float, hi: float) -> tuple[np.ndarray, ...]:
    a = (hi - lo) / ((hi - 1.0) * (1.0 - lo))
    with np.errstate(over="ignore", invalid="ignore"):
        eau = np.exp(a * u)
    return a, eau, hi - 1.0 + (1.0 - lo) * eau


def _logit_fm1(u: NDArray[np.float64], lo: float, hi: float) -> NDArray[np.float64]:
    _unused, eau, den = _logit_parts(u, lo, hi)
    with np.errstate(over="ignore", invalid="ignore"):
        return (lo * (hi - 1.0) + hi * (1.0 - lo) * eau) / den - 1.0


def _logit_df(u: NDArray[np.float64], lo: float, hi: float) -> NDArray[np.float64]:
    a, eau, den = _logit_parts(u, lo, hi)
    with np.errstate(over="ignore", invalid="ignore"):
        return (
            hi * (1.0 - lo) * eau * a / den
            - ((lo * (hi - 1.0) + hi * (1.0 - lo) * eau) * ((1.0 - lo) * eau * a)) / den**2
        )


@dataclass(frozen=True)
class _CalFun:
    fm1: _Fn
    df: _Fn
    method: str


#: Calibration distance functions by name: ``g = 1 + F^{-1}(x' lambda)`` (R's ``cal.*``).
CALIBRATION_FUNCTIONS: dict[str, _CalFun] = {
    "linear": _CalFun(_linear_fm1, _linear_df, "calibrate-linear"),
    "raking": _CalFun(_raking_fm1, _raking_df, "calibrate-raking"),
    "logit": _CalFun(_logit_fm1, _logit_df, "calibrate-logit"),
}


@dataclass(frozen=True)
class AuxiliaryMatrix:
    """Model matrix of auxiliaries with its population totals.

    Attributes
    ----------
    matrix : ndarray, n x p
        Intercept (when there is a population size), treatment-coded indicators of
        the categorical auxiliaries (first level dropped) and numeric auxiliaries:
        the columns R's ``model.matrix(~ a + b + x)`` builds.
    totals : ndarray, p
        Population totals of the columns.
    names : tuple of str
        Column names: ``"(Intercept)"``, ``"var=level"`` or the numeric variable.
    """

    matrix: NDArray[np.float64]
    totals: NDArray[np.float64]
    names: tuple[str, ...]

    @classmethod
    def from_totals(
        cls,
        data: Mapping[str, ArrayLike],
        totals: Mapping[str | tuple[str, ...], float | Mapping[Hashable, float]],
        *,
        population_size: float | None = None,
        total_rtol: float = 1e-6,
    ) -> AuxiliaryMatrix:
        """Build the model matrix from population totals of categorical and numeric variables.

        Parameters
        ----------
        data : mapping of str to array_like
            Auxiliary variables aligned with the weights.
        totals : mapping
            For a categorical auxiliary (or a tuple of crossed ones), a mapping of
            level to population count; for a numeric auxiliary, its population
            total.
        population_size : float, optional
            Population size; taken from the categorical counts when omitted (they
            must then agree with each other and with it).
        total_rtol : float, default 1e-6
            Relative tolerance for that agreement.

        Raises
        ------
        ValueError
            Categorical counts that add up to different population sizes, data
            levels without a total, a level with a positive count and no
            respondents, or a numeric auxiliary with missing values.
        """
        columns: list[np.ndarray] = []
        targets: list[float] = []
        names: list[str] = []
        sizes: list[tuple[str, float]] = []
        if population_size is not None:
            sizes.append(("population_size", float(population_size)))
        n: int | None = None
        for key, total in totals.items():
            label = key if isinstance(key, str) else "*".join(key)
            if isinstance(total, Mapping):
                cells = code_cells(data, key, total)
                counts = np.bincount(cells.codes, minlength=len(cells.labels))
                empty = (counts == 0) & (cells.targets > 0)
                if empty.any():
                    bad = "; ".join(cells.describe(j) for j in np.flatnonzero(empty))
                    raise ValueError(
                        _("calibration level with no respondents: %(cells)s", cells=bad)
                    )
                keep = np.flatnonzero(counts > 0)
                sizes.append((label, float(cells.targets.sum())))
                for j in keep[1:]:
                    columns.append((cells.codes == j).astype(np.float64))
                    targets.append(float(cells.targets[j]))
                    names.append(cells.describe(j).replace(", ", ":"))
                size = cells.codes.size
            else:
                if not isinstance(key, str):
                    raise ValueError(
                        _("numeric total for %(key)s must be keyed by one name", key=repr(key))
                    )
                if key not in data:
                    raise ValueError(_("variable %(name)s is not in the data", name=repr(key)))
                x = np.asarray(data[key], dtype=np.float64)
                if x.ndim != 1 or not np.isfinite(x).all():
                    raise ValueError(
                        _(
                            "numeric auxiliary %(name)s has missing or infinite values",
                            name=repr(key),
                        )
                    )
                if not math.isfinite(float(total)):
                    raise ValueError(_("total for %(name)s is not finite", name=repr(key)))
                columns.append(x)
                targets.append(float(total))
                names.append(key)
                size = x.size
            if n is not None and size != n:
                raise ValueError(
                    _(
                        "auxiliary %(name)s has %(rows)s rows, others have %(n)s",
                        name=repr(label),
                        rows=size,
                        n=n,
                    )
                )
            n = size
        if n is None:
            raise ValueError(_("no calibration totals given"))
        if sizes:
            values = np.array([s for _unused, s in sizes])
            if np.ptp(values) > total_rtol * np.abs(values).max():
                listing = "; ".join(f"{name}: {s:.10g}" for name, s in sizes)
                raise ValueError(
                    _(
                        "population sizes implied by the totals disagree: %(listing)s",
                        listing=listing,
                    )
                )
            columns.insert(0, np.ones(n))
            targets.insert(0, sizes[0][1])
            names.insert(0, "(Intercept)")
        return cls(
            matrix=np.column_stack(columns),
            totals=np.array(targets, dtype=np.float64),
            names=tuple(names),
        )


def calibrate(
    weights: ArrayLike,
    data: Mapping[str, ArrayLike],
    totals: Mapping[str | tuple[str, ...], float | Mapping[Hashable, float]],
    *,
    calfun: str = "linear",
    bounds: Bounds | None = None,
    population_size: float | None = None,
    maxit: int = 50,
    epsilon: float = 1e-7,
    force: bool = False,
) -> WeightingResult:
    """Calibrate weights to population totals of categorical and numeric auxiliaries.

    Builds the model matrix with :meth:`AuxiliaryMatrix.from_totals` (intercept,
    treatment-coded categories, numeric columns, as R's ``model.matrix``) and
    calls :func:`calibrate_matrix`; see there for the parameters and the method.

    Examples
    --------
    >>> r = calibrate([1.0, 1.0, 1.0, 1.0], {"g": ["a", "a", "b", "b"], "x": [1, 2, 3, 4]},
    ...               {"g": {"a": 5, "b": 5}, "x": 27.5})
    >>> [round(v, 6) for v in r.weights]
    [2.25, 2.75, 2.25, 2.75]
    """
    aux = AuxiliaryMatrix.from_totals(data, totals, population_size=population_size)
    return calibrate_matrix(
        weights,
        aux.matrix,
        aux.totals,
        calfun=calfun,
        bounds=bounds,
        maxit=maxit,
        epsilon=epsilon,
        force=force,
    )


def calibrate_matrix(
    weights: ArrayLike,
    X: ArrayLike,
    totals: ArrayLike,
    *,
    calfun: str = "linear",
    bounds: Bounds | None = None,
    maxit: int = 50,
    epsilon: float = 1e-7,
    force: bool = False,
) -> WeightingResult:
    """Calibrate weights so that the weighted totals of the columns of ``X`` equal ``totals``.

    Parameters
    ----------
    weights : array_like
        Current weights ``d_i``, finite and positive.
    X : array_like, n x p
        Model matrix of the auxiliaries (include an intercept column to
        calibrate to the population size).
    totals : array_like, p
        Population totals ``t_x`` of the columns of ``X``.
    calfun : {"linear", "raking", "logit"}
        Calibration distance (:data:`CALIBRATION_FUNCTIONS`).
    bounds : (float, float), optional
        Lower and upper bounds on the calibration factors ``g_i = w_i / d_i``;
        ``"logit"`` needs finite bounds with ``lower < 1 < upper``.
    maxit : int, default 50
        Largest number of Newton steps (step halvings count too), as R.
    epsilon : float, default 1e-7
        Convergence when every ``|t_x - hat t_x| / (1 + |t_x|) < epsilon``.
    force : bool, default False
        When the iterations fail, return the last weights with a warning instead
        of raising.

    Returns
    -------
    WeightingResult
        Weights ``d_i g_i``, report and a :class:`Calibration` variance adjustment.

    Raises
    ------
    ValueError
        Unknown ``calfun``, bad bounds, shapes that do not match, collinear
        auxiliaries (linear calibration), or failure to converge without ``force``.

    Warns
    -----
    WeightingConvergenceWarning
        With ``force=True``, when the iterations did not converge.

    Notes
    -----
    The weights minimise a distance ``sum_i d_i G(w_i / d_i)`` subject to
    ``sum_i w_i x_i = t_x``; the solution is ``g_i = F(x_i' lambda)`` with
    ``F = (G')^{-1}`` (Deville & Särndal 1992, eq. 1.4-1.9; Lumley 2010, sec. 7.4).

    * Linear without bounds (GREG; R's ``regcalibrate``): closed form
      ``g_i = 1 + x_i' (X' D X)^{-1} (t_x - X' d)``.
    * Otherwise Newton-Raphson as R's ``grake``: starting at ``lambda = 0``,
      ``lambda <- lambda + (X' D diag(F'(X lambda)) X)^+ (t_x - X' D F(X lambda))``
      with the Moore-Penrose inverse (tolerance ``256 eps``), halving steps that
      give non-finite factors; ``F(u) = clip(1 + u)`` (linear, truncated at the
      bounds), ``clip(exp(u))`` (raking) or the logit function of Deville &
      Särndal (1992, case 6). When every ratio ``t_x / hat t_x`` exceeds 20, the
      weights are first scaled by the mean ratio, as R does.

    The variance adjustment keeps ``Q``, an orthonormal basis of ``D^{1/2} X``,
    and ``g D^{1/2}``, so that scores are replaced by their weighted
    least-squares residuals on ``X`` (Deville & Särndal 1992, sec. 3).
    """
    d = check_weights(weights)
    mm = np.array(X, dtype=np.float64, copy=True)
    if mm.ndim == 1:
        mm = mm[:, None]
    if mm.ndim != 2 or mm.shape[0] != d.size:
        raise ValueError(
            _(
                "X must be n x p with n = %(n)s rows, got shape %(shape)s",
                n=d.size,
                shape=str(mm.shape),
            )
        )
    if not np.isfinite(mm).all():
        raise ValueError(_("X has missing or infinite values"))
    population = np.array(totals, dtype=np.float64, copy=True).reshape(-1)
    if population.size != mm.shape[1]:
        raise ValueError(
            _(
                "%(totals)s totals for %(columns)s columns of X",
                totals=population.size,
                columns=mm.shape[1],
            )
        )
    if not np.isfinite(population).all():
        raise ValueError(_("totals must be finite"))
    if calfun not in CALIBRATION_FUNCTIONS:
        valid = ", ".join(sorted(CALIBRATION_FUNCTIONS))
        raise ValueError(
            _("unknown calfun %(calfun)s; valid: %(valid)s", calfun=repr(calfun), valid=valid)
        )
    fun = CALIBRATION_FUNCTIONS[calfun]
    lo, hi = (-np.inf, np.inf) if bounds is None else (float(bounds[0]), float(bounds[1]))
    if not lo < hi:
        raise ValueError(
            _("bounds must satisfy lower < upper, got (%(lower)s, %(upper)s)", lower=lo, upper=hi)
        )
    if calfun == "logit" and not (np.isfinite(lo) and np.isfinite(hi) and lo < 1.0 < hi):
        raise ValueError(_("logit calibration needs finite bounds with lower < 1 < upper"))
    if maxit < 1:
        raise ValueError(_("maxit must be >= 1, got %(maxit)s", maxit=maxit))

    all_x, all_t = mm, population
    sample_total = mm.T @ d
    if (sample_total == 0).any():  # drop columns that are zero in sample and population
        keep = ~((population == 0) & (mm == 0).all(axis=0))
        mm, population, sample_total = mm[:, keep], population[keep], sample_total[keep]
    whalf = np.sqrt(d)
    basis = _column_basis(mm * whalf[:, None])
    messages: list[str] = []
    if calfun == "linear" and not (np.isfinite(lo) or np.isfinite(hi)):
        g, iterations, converged = _regcalibrate(mm, whalf, population, sample_total), 1, True
    else:
        g, iterations, failure = _grake(
            mm, d, fun, lo, hi, population, epsilon=epsilon, maxit=maxit, messages=messages
        )
        converged = failure is None
        if not converged:
            eps = format(failure, ".6g")
            if not force:
                raise CalibrationConvergenceError(
                    _(
                        "calibration failed to converge: eps=%(eps)s in %(iterations)s "
                        "iterations; widen the bounds or raise maxit, or pass force=True to "
                        "keep the last weights",
                        eps=eps,
                        iterations=iterations,
                    ),
                    failure,
                    iterations,
                )
            msg = _(
                "calibration failed to converge: eps=%(eps)s in %(iterations)s iterations",
                eps=eps,
                iterations=iterations,
            )
            warnings.warn(msg, WeightingConvergenceWarning, stacklevel=2)
            messages.append(msg)
    new = d * g
    report = weight_diagnostics(
        new,
        method=fun.method,
        converged=converged,
        iterations=iterations,
        max_margin_error=relative_errors(all_x.T @ new, all_t),
        messages=messages,
    )
    adjustment = Calibration(basis=frozen(basis), scale=frozen(g * whalf))
    return WeightingResult(weights=frozen(new), report=report, adjustment=adjustment)


def _column_basis(a: NDArray[np.float64]) -> NDArray[np.float64]:
    """Orthonormal basis of the column space of ``a`` (rank from a pivoted QR, as R's qr)."""
    import scipy.linalg  # only calibration needs it; 27 ms of every command line's start

    q, r, _unused = scipy.linalg.qr(a, mode="economic", pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int(np.sum(diag > _QR_TOL * diag[0])) if diag.size and diag[0] > 0 else 0
    return np.ascontiguousarray(q[:, :rank])


def _regcalibrate(
    mm: NDArray[np.float64],
    whalf: NDArray[np.float64],
    population: NDArray[np.float64],
    sample_total: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Closed-form linear calibration factors (R's ``regcalibrate``)."""
    a = mm * whalf[:, None]
    try:
        coef = np.linalg.solve(a.T @ a, population - sample_total)
    except np.linalg.LinAlgError as exc:
        raise ValueError(
            _(
                "linear calibration failed: the auxiliaries are collinear "
                "(drop a redundant total or variable)"
            )
        ) from exc
    return 1.0 + mm @ coef


def _ginv(a: NDArray[np.float64]) -> NDArray[np.float64]:
    """Moore-Penrose inverse as ``MASS::ginv(a, tol = 256 * eps)``."""
    u, s, vt = np.linalg.svd(a)
    positive = s > max(_GINV_TOL * s[0], 0.0) if s.size else s.astype(bool)
    return vt[positive].T @ (u[:, positive].T / s[positive][:, None])


def _grake(
    mm: NDArray[np.float64],
    ww: NDArray[np.float64],
    fun: _CalFun,
    lo: float,
    hi: float,
    population: NDArray[np.float64],
    *,
    epsilon: float,
    maxit: int,
    messages: list[str],
) -> tuple[NDArray[np.float64], int, float | None]:
    """Newton iterations of R's ``grake``; returns ``(g, iterations, failure or None)``."""
    sample_total = mm.T @ ww
    with np.errstate(divide="ignore", invalid="ignore"):
        scales = population / sample_total
    scale = None
    if scales.size and np.min(scales) > _PRESCALE_THRESHOLD:
        scale = float(np.mean(scales))
        ww = ww * scale
        sample_total = sample_total * scale
        if np.isfinite(lo) or np.isfinite(hi):
            msg = _(
                "bounds apply after the weights were rescaled by %(scale)s",
                scale=format(scale, ".3g"),
            )
            warnings.warn(msg, UserWarning, stacklevel=3)
            messages.append(msg)
    eta = np.zeros(mm.shape[1])
    xeta = mm @ eta
    deriv = fun.df(xeta, lo, hi)
    iteration = 1
    failure: float | None = None
    while True:
        tmat = (mm * (ww * deriv)[:, None]).T @ mm
        misfit = population - sample_total - mm.T @ (ww * fun.fm1(xeta, lo, hi))
        deta = _ginv(tmat) @ misfit
        eta = eta + deta
        xeta = mm @ eta
        g = 1.0 + fun.fm1(xeta, lo, hi)
        deriv = fun.df(xeta, lo, hi)
        while iteration < maxit and not (np.isfinite(g).all() and np.isfinite(deriv).all()):
            iteration += 1
            deta = deta / 2.0
            eta = eta - deta
            xeta = mm @ eta
            g = 1.0 + fun.fm1(xeta, lo, hi)
            deriv = fun.df(xeta, lo, hi)
        misfit = population - sample_total - mm.T @ (ww * fun.fm1(xeta, lo, hi))
        achieved = np.abs(misfit) / (1.0 + np.abs(population))
        if np.all(achieved < epsilon):
            break
        iteration += 1
        if iteration > maxit:
            failure = float(np.max(achieved))
            break
    if scale is not None:
        g = g * scale
    return g, iteration, failure
