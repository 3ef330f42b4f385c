"""Small-area estimation: the Fay–Herriot area-level model.

For areas (communes) :math:`d = 1, \\dots, m` with a direct estimate
:math:`\\hat\\theta_d` of known sampling variance :math:`\\psi_d` and covariates
:math:`x_d`, the model of Fay & Herriot (1979) is

.. math::

    \\hat\\theta_d = x_d'\\beta + u_d + e_d, \\qquad
    u_d \\sim N(0, \\sigma^2_u), \\quad e_d \\sim N(0, \\psi_d),

all independent. :func:`fay_herriot` estimates :math:`\\sigma^2_u` by REML or ML
(Fisher scoring), :math:`\\beta` by weighted least squares, and returns the EBLUP

.. math::

    \\tilde\\theta_d = x_d'\\hat\\beta + \\hat\\gamma_d (\\hat\\theta_d - x_d'\\hat\\beta),
    \\qquad \\hat\\gamma_d = \\hat\\sigma^2_u / (\\hat\\sigma^2_u + \\psi_d),

with its second-order-unbiased MSE estimator: Prasad & Rao (1990) for REML and
Datta & Lahiri (2000) for ML. Areas without a sample get the synthetic estimate
:math:`x_d'\\hat\\beta` and its MSE. The formulas are those of Rao & Molina,
*Small Area Estimation*, 2nd ed., Wiley 2015, sections 6.1–6.2, in the form the R
package ``sae`` (Molina & Marhuenda 2015, functions ``eblupFH`` and ``mseFH``)
documents them; ``tests/reference/make_golden_fh.R`` implements the same formulas in
base R and the golden tests compare the two to 1e-8.

Helpers: :func:`arcsin_transform` / :func:`arcsin_back_transform` (proportions on
the variance-stabilising scale), :func:`benchmark` (EBLUPs that add up to a higher
level's direct estimate) and :func:`gvf_smooth` (sampling variances resting on few
PSUs replaced by a generalized variance function).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analysis._text import show
from analysis.i18n import _

__all__ = [
    "FH_METHODS",
    "BenchmarkResult",
    "FayHerriotResult",
    "GVFResult",
    "arcsin_back_transform",
    "arcsin_transform",
    "benchmark",
    "fay_herriot",
    "gvf_proportions",
    "gvf_smooth",
]

FH_METHODS = ("reml", "ml")
"""Estimators of :math:`\\sigma^2_u` that :func:`fay_herriot` accepts."""

BENCHMARK_METHODS = ("ratio", "difference")

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class FayHerriotResult:
    """A fitted Fay–Herriot model and its small-area estimates.

    Per-area arrays follow the input order. For an area without a sample
    (``sampled`` False) ``direct``, ``variance`` and ``gamma`` are NaN and
    ``eblup``/``mse`` equal ``synthetic``/``synthetic_mse``.

    Attributes
    ----------
    method : {"reml", "ml"}
    sigma2_u : float
        Estimated model variance, floored at 0 (see :func:`fay_herriot`).
    beta, beta_se : ndarray
        WLS coefficients at :math:`\\hat\\sigma^2_u` and their standard errors,
        :math:`\\sqrt{\\mathrm{diag}(X'\\hat V^{-1}X)^{-1}}`.
    covariates : tuple of str
        Names of the columns of the design matrix.
    areas : tuple of str
    sampled : ndarray of bool
    direct, variance : ndarray
        The direct estimates and the sampling variances used in the fit.
    eblup, mse, gamma : ndarray
    synthetic, synthetic_mse : ndarray
        :math:`x_d'\\hat\\beta` and its MSE as an estimator of :math:`\\theta_d`.
    g1, g2, g3 : ndarray
        The terms of the MSE estimator (NaN for areas without a sample).
    iterations : int
        Fisher-scoring steps taken.
    converged : bool
    at_zero : bool
        True when the estimate of :math:`\\sigma^2_u` is the floor 0 (every
        :math:`\\hat\\gamma_d = 0`: the EBLUP is the synthetic estimate).
    """

    method: str
    sigma2_u: float
    beta: FloatArray
    beta_se: FloatArray
    covariates: tuple[str, ...]
    areas: tuple[str, ...]
    sampled: NDArray[np.bool_]
    direct: FloatArray
    variance: FloatArray
    eblup: FloatArray
    mse: FloatArray
    gamma: FloatArray
    synthetic: FloatArray
    synthetic_mse: FloatArray
    g1: FloatArray
    g2: FloatArray
    g3: FloatArray
    iterations: int
    converged: bool
    at_zero: bool

    @property
    def residuals(self) -> FloatArray:
        """Standardised residuals :math:`(\\hat\\theta_d - x_d'\\hat\\beta) /
        \\sqrt{\\hat\\sigma^2_u + \\psi_d}` (NaN for areas without a sample)."""
        return (self.direct - self.synthetic) / np.sqrt(self.sigma2_u + self.variance)


def _as_matrix(covariates: ArrayLike, m: int) -> FloatArray:
    x = np.asarray(covariates, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] != m:
        raise ValueError(
            _(
                "covariates need one row per area (%(areas)s), got shape %(shape)s",
                areas=m,
                shape=x.shape,
            )
        )
    if not np.all(np.isfinite(x)):
        rows = np.flatnonzero(~np.all(np.isfinite(x), axis=1))
        raise ValueError(
            _(
                "covariates missing or not finite in area rows %(rows)s",
                rows=show(rows.tolist()),
            )
        )
    return x


def _score_step(
    a: float, y: FloatArray, x: FloatArray, psi: FloatArray, method: str
) -> tuple[float, float]:
    """Score :math:`s(\\sigma^2_u)` and expected information :math:`F(\\sigma^2_u)`.

    REML (Rao & Molina 2015, section 6.1.2, in the form of ``sae::eblupFH``): with
    :math:`V = \\mathrm{diag}(\\sigma^2_u + \\psi_d)` and
    :math:`P = V^{-1} - V^{-1}X(X'V^{-1}X)^{-1}X'V^{-1}`,
    :math:`s = -\\tfrac12 \\mathrm{tr}(P) + \\tfrac12 y'P P y` and
    :math:`F = \\tfrac12 \\mathrm{tr}(PP)`.

    ML: with :math:`\\hat\\beta(\\sigma^2_u)` the WLS fit and
    :math:`r = y - X\\hat\\beta`, :math:`s = -\\tfrac12\\sum_d V_d^{-1} +
    \\tfrac12\\sum_d V_d^{-2} r_d^2` and :math:`F = \\tfrac12 \\sum_d V_d^{-2}`.
    """
    vi = 1.0 / (a + psi)
    xtvi = (x * vi[:, None]).T
    q = np.linalg.inv(xtvi @ x)
    if method == "reml":
        p = np.diag(vi) - xtvi.T @ q @ xtvi
        py = p @ y
        score = -0.5 * np.trace(p) + 0.5 * float(py @ py)
        info = 0.5 * float(np.sum(p * p.T))
    else:
        beta = q @ (xtvi @ y)
        r = y - x @ beta
        score = -0.5 * float(np.sum(vi)) + 0.5 * float(np.sum(vi**2 * r**2))
        info = 0.5 * float(np.sum(vi**2))
    return score, info


def _estimate_sigma2(
    y: FloatArray, x: FloatArray, psi: FloatArray, method: str, tol: float, max_iter: int
) -> tuple[float, int, bool]:
    """Fisher scoring for :math:`\\sigma^2_u` with the floor at 0.

    Starts at :math:`\\mathrm{median}(\\psi_d)` (as ``sae::eblupFH``) and iterates
    :math:`\\sigma^{2(k+1)} = \\max\\{0, \\sigma^{2(k)} + s/F\\}`; stops when the step
    is at most ``tol * (sigma2 + median(psi))``. The floor is applied at every step
    (``sae`` truncates only the final value): a negative iterate would make
    :math:`V` meaningless, and a step that would leave the parameter space at 0
    with a negative score there means the likelihood is largest at the boundary.
    """
    scale = float(np.median(psi))
    a = scale
    for k in range(1, max_iter + 1):
        score, info = _score_step(a, y, x, psi, method)
        new = max(0.0, a + score / info)
        if abs(new - a) <= tol * (new + scale):
            return new, k, True
        a = new
    return a, max_iter, False


def fay_herriot(
    direct: ArrayLike,
    variance: ArrayLike,
    covariates: ArrayLike,
    *,
    method: str = "reml",
    areas: Sequence[str] | None = None,
    covariate_names: Sequence[str] | None = None,
    tol: float = 1e-12,
    max_iter: int = 100,
) -> FayHerriotResult:
    """Fit the Fay–Herriot model and return EBLUPs with their MSEs.

    Parameters
    ----------
    direct : array_like, shape (m,)
        Direct estimates; NaN marks an area without a sample (it is predicted
        synthetically and takes no part in the fit).
    variance : array_like, shape (m,)
        Sampling variances :math:`\\psi_d`, treated as known; positive for the
        sampled areas (ignored where ``direct`` is NaN).
    covariates : array_like, shape (m, p)
        Design matrix :math:`X`, including an intercept column if one is wanted.
    method : {"reml", "ml"}
    areas, covariate_names : sequence of str, optional
        Labels carried into the result (default ``"1".."m"`` and ``"x1".."xp"``).
    tol, max_iter : float, int
        Convergence of the Fisher scoring (see below). Not converging warns.

    Returns
    -------
    FayHerriotResult

    Notes
    -----
    Fisher scoring (Rao & Molina 2015, section 6.1.2; ``sae::eblupFH``):
    :math:`\\sigma^{2(k+1)}_u = \\sigma^{2(k)}_u + s(\\sigma^{2(k)}_u)/F(\\sigma^{2(k)}_u)`
    from :math:`\\mathrm{median}(\\psi_d)`, each step floored at 0; the estimate is
    :math:`\\max(0, \\cdot)` (the truncation Rao & Molina 2015, 6.1.2, use).
    Then :math:`\\hat\\beta = (X'\\hat V^{-1}X)^{-1}X'\\hat V^{-1}\\hat\\theta`.

    MSE (Rao & Molina 2015, section 6.2.1; ``sae::mseFH``), with
    :math:`B_d = \\psi_d/(\\hat\\sigma^2_u + \\psi_d)`,
    :math:`Q = (X'\\hat V^{-1}X)^{-1}` and
    :math:`\\bar V = 2 / \\sum_d (\\hat\\sigma^2_u + \\psi_d)^{-2}` (asymptotic
    variance of :math:`\\hat\\sigma^2_u`):

    * :math:`g_{1d} = \\psi_d (1 - B_d)`,
    * :math:`g_{2d} = B_d^2\\, x_d' Q x_d`,
    * :math:`g_{3d} = B_d^2\\, \\bar V / (\\hat\\sigma^2_u + \\psi_d)`;

    REML (Prasad–Rao, Datta–Lahiri): :math:`\\mathrm{mse}_d = g_{1d} + g_{2d} + 2g_{3d}`.
    ML (Datta–Lahiri 2000): :math:`\\mathrm{mse}_d = g_{1d} + g_{2d} + 2g_{3d}
    - b_{ML} B_d^2` with the bias of the ML estimator
    :math:`b_{ML} = -\\mathrm{tr}\\{Q\\, X'\\hat V^{-2}X\\} / \\sum_d
    (\\hat\\sigma^2_u + \\psi_d)^{-2}` (:math:`B_d^2` is
    :math:`\\partial g_{1d}/\\partial\\sigma^2_u`).

    Areas without a sample (Rao & Molina 2015, section 6.2, non-sampled areas): the
    synthetic estimate :math:`x_d'\\hat\\beta` has
    :math:`\\mathrm{mse} = \\hat\\sigma^2_u + x_d'Qx_d` for REML and
    :math:`\\hat\\sigma^2_u - b_{ML} + x_d'Qx_d` for ML, the limit of the sampled
    formula as :math:`\\psi_d \\to \\infty`. For a sampled area, ``synthetic_mse``
    is the same expression: the MSE of :math:`x_d'\\hat\\beta` as a predictor of
    :math:`\\theta_d`.
    """
    if method not in FH_METHODS:
        raise ValueError(
            _(
                "method must be one of %(choices)s, got %(method)s",
                choices=", ".join(FH_METHODS),
                method=show(method),
            )
        )
    y_all = np.asarray(direct, dtype=float).ravel()
    m = y_all.size
    psi_all = np.asarray(variance, dtype=float).ravel()
    if psi_all.size != m:
        raise ValueError(
            _("variance has %(values)s values for %(areas)s areas", values=psi_all.size, areas=m)
        )
    x_all = _as_matrix(covariates, m)
    p = x_all.shape[1]
    area_labels = (
        tuple(str(a) for a in areas) if areas is not None else tuple(str(i + 1) for i in range(m))
    )
    if len(area_labels) != m:
        raise ValueError(
            _("%(labels)s area labels for %(areas)s areas", labels=len(area_labels), areas=m)
        )
    names = (
        tuple(covariate_names)
        if covariate_names is not None
        else tuple(f"x{j + 1}" for j in range(p))
    )
    if len(names) != p:
        raise ValueError(
            _(
                "%(names)s covariate names for %(columns)s covariate columns",
                names=len(names),
                columns=p,
            )
        )
    if np.any(np.isinf(y_all)):
        raise ValueError(_("direct estimates must be finite (leave an unsampled area empty)"))
    sampled = ~np.isnan(y_all)
    bad = sampled & ~(np.isfinite(psi_all) & (psi_all > 0))
    if np.any(bad):
        labels = [area_labels[i] for i in np.flatnonzero(bad)]
        raise ValueError(
            _(
                "sampling variance must be positive for every area with a direct estimate; "
                "not so for %(areas)s",
                areas=show(labels),
            )
        )
    y, psi, x = y_all[sampled], psi_all[sampled], x_all[sampled]
    n_s = y.size
    if n_s <= p:
        raise ValueError(
            _(
                "%(areas)s areas with a direct estimate for %(coefficients)s coefficients: "
                "need more areas than covariates (with the intercept)",
                areas=n_s,
                coefficients=p,
            )
        )
    if np.linalg.matrix_rank(x) < p:
        raise ValueError(
            _(
                "the covariates are collinear on the sampled areas (a constant column "
                "besides the intercept, or one column a combination of others)"
            )
        )

    a, iterations, converged = _estimate_sigma2(y, x, psi, method, tol, max_iter)
    if not converged:
        warnings.warn(
            _(
                "Fay-Herriot %(method)s did not converge in %(iterations)s iterations; "
                "sigma2_u = %(sigma2_u)s is the last iterate",
                method=method.upper(),
                iterations=max_iter,
                sigma2_u=format(a, ".6g"),
            ),
            RuntimeWarning,
            stacklevel=2,
        )

    vi = 1.0 / (a + psi)
    xtvi = (x * vi[:, None]).T
    q = np.linalg.inv(xtvi @ x)
    beta = q @ (xtvi @ y)
    beta_se = np.sqrt(np.diag(q))
    sum_vi2 = float(np.sum(vi**2))
    var_a = 2.0 / sum_vi2
    b_ml = 0.0
    if method == "ml":
        b_ml = -float(np.trace(q @ ((x * (vi**2)[:, None]).T @ x))) / sum_vi2

    synthetic = x_all @ beta
    xqx = np.einsum("ij,jk,ik->i", x_all, q, x_all)
    synthetic_mse = a - b_ml + xqx

    nan = np.full(m, np.nan)
    gamma, g1, g2, g3 = nan.copy(), nan.copy(), nan.copy(), nan.copy()
    bd = psi / (a + psi)
    gamma[sampled] = 1.0 - bd
    g1[sampled] = psi * (1.0 - bd)
    g2[sampled] = bd**2 * xqx[sampled]
    g3[sampled] = bd**2 * var_a / (a + psi)
    mse = synthetic_mse.copy()
    mse[sampled] = g1[sampled] + g2[sampled] + 2.0 * g3[sampled] - b_ml * bd**2
    eblup = synthetic.copy()
    eblup[sampled] = synthetic[sampled] + gamma[sampled] * (y - synthetic[sampled])
    variance_out = np.where(sampled, psi_all, np.nan)
    return FayHerriotResult(
        method=method,
        sigma2_u=float(a),
        beta=beta,
        beta_se=beta_se,
        covariates=names,
        areas=area_labels,
        sampled=sampled,
        direct=np.where(sampled, y_all, np.nan),
        variance=variance_out,
        eblup=eblup,
        mse=mse,
        gamma=gamma,
        synthetic=synthetic,
        synthetic_mse=synthetic_mse,
        g1=g1,
        g2=g2,
        g3=g3,
        iterations=iterations,
        converged=converged,
        at_zero=a == 0.0,
    )


# ---------------------------------------------------------------- transform


def arcsin_transform(proportion: ArrayLike, n_eff: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Arcsine-square-root transform of proportions with its sampling variance.

    Returns :math:`y_d = \\arcsin\\sqrt{\\hat p_d}` and :math:`\\psi_d = 1/(4 n_d)`,
    the delta-method variance of :math:`y_d` (which does not depend on
    :math:`p_d`), with :math:`n_d` the effective sample size (``n / deff``, or
    Kish's :math:`n_{eff}`) so that the design effect is kept (the scale of
    Efron & Morris 1975 and of Casas-Cordero, Encina & Lahiri 2016 for commune
    poverty rates). A missing
    proportion stays NaN (an area without a sample).
    """
    p = np.asarray(proportion, dtype=float)
    n = np.asarray(n_eff, dtype=float)
    known = ~np.isnan(p)
    if np.any((p[known] < 0) | (p[known] > 1)):
        raise ValueError(_("proportions must lie between 0 and 1 for the arcsine transform"))
    if np.any(~(np.isfinite(n[known]) & (n[known] > 0))):
        raise ValueError(
            _("the effective sample size must be positive where a proportion is given")
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        y = np.arcsin(np.sqrt(p))
        psi = np.where(known, 1.0 / (4.0 * n), np.nan)
    return y, psi


def arcsin_back_transform(
    estimate: ArrayLike, mse: ArrayLike, *, bias_correction: bool = True
) -> tuple[FloatArray, FloatArray]:
    """Proportions and their MSE from EBLUPs on the arcsine scale.

    Without correction, :math:`\\hat p_d = \\sin^2\\tilde y_d` (with
    :math:`\\tilde y_d` clipped to :math:`[0, \\pi/2]`), which is biased because
    :math:`\\sin^2` is not linear. With ``bias_correction`` (default) the
    prediction is the mean of :math:`\\sin^2 Y` for
    :math:`Y \\sim N(\\tilde y_d, \\mathrm{mse}_d)`, in closed form from
    :math:`E\\cos(kY) = \\cos(k\\tilde y)e^{-k^2 \\mathrm{mse}/2}`:

    .. math::

        \\hat p_d = \\tfrac12\\{1 - \\cos(2\\tilde y_d)\\,e^{-2\\,\\mathrm{mse}_d}\\},

    and the MSE on the proportion scale is that distribution's variance,
    :math:`E\\sin^4 Y - (E\\sin^2 Y)^2` with
    :math:`\\sin^4 = (3 - 4\\cos 2Y + \\cos 4Y)/8`. This is the bias-corrected
    back-transformation of Sugasawa & Kubokawa (2017) / Hadam, Würz & Kreutzmann
    (2020, the ``emdi`` package) for the arcsine scale, with the normal integral
    done exactly instead of numerically. Without correction, the MSE is carried by
    the delta method, :math:`\\sin^2(2\\tilde y)\\,\\mathrm{mse}`.
    """
    y = np.clip(np.asarray(estimate, dtype=float), 0.0, math.pi / 2)
    v = np.asarray(mse, dtype=float)
    if not bias_correction:
        return np.sin(y) ** 2, np.sin(2 * y) ** 2 * v
    c2 = np.cos(2 * y) * np.exp(-2.0 * v)
    c4 = np.cos(4 * y) * np.exp(-8.0 * v)
    mean_sin2 = 0.5 * (1.0 - c2)
    mean_sin4 = (3.0 - 4.0 * c2 + c4) / 8.0
    return mean_sin2, np.maximum(mean_sin4 - mean_sin2**2, 0.0)


# ---------------------------------------------------------------- benchmarking


@dataclass(frozen=True)
class BenchmarkResult:
    """Benchmarked estimates: ``estimate`` add up to ``target`` with ``weights``."""

    method: str
    target: float
    estimate: FloatArray
    mse: FloatArray
    adjustment: float


def benchmark(
    estimate: ArrayLike,
    mse: ArrayLike,
    weights: ArrayLike,
    target: float,
    *,
    method: str = "ratio",
) -> BenchmarkResult:
    """Make area estimates agree with a higher level's direct estimate.

    With population shares :math:`w_d` (normalised to sum 1) and the higher
    level's direct estimate :math:`T`, the benchmarked estimates satisfy
    :math:`\\sum_d w_d \\tilde\\theta^b_d = T`:

    * ``"ratio"``: :math:`\\tilde\\theta^b_d = \\tilde\\theta_d \\cdot T /
      \\sum_k w_k\\tilde\\theta_k` (ratio benchmarking, Rao & Molina 2015, section 6.4);
    * ``"difference"``: :math:`\\tilde\\theta^b_d = \\tilde\\theta_d +
      (T - \\sum_k w_k\\tilde\\theta_k)` (the same shift for every area).

    The MSE is :math:`\\mathrm{mse}_d + (\\tilde\\theta^b_d - \\tilde\\theta_d)^2`,
    the second-order approximation of Steorts & Ghosh (2013, Theorem 1) for the
    difference-benchmarked EBLUP, used here for both methods: benchmarking buys
    agreement at the price of this added squared bias.
    """
    if method not in BENCHMARK_METHODS:
        raise ValueError(
            _(
                "benchmark method must be one of %(choices)s, got %(method)s",
                choices=", ".join(BENCHMARK_METHODS),
                method=show(method),
            )
        )
    theta = np.asarray(estimate, dtype=float)
    w = np.asarray(weights, dtype=float)
    v = np.asarray(mse, dtype=float)
    if w.shape != theta.shape or v.shape != theta.shape:
        raise ValueError(_("estimate, mse and weights need one value per area"))
    if not (np.all(np.isfinite(w)) and np.all(w >= 0) and w.sum() > 0):
        raise ValueError(_("benchmark weights must be non-negative with a positive sum"))
    if not np.all(np.isfinite(theta)):
        raise ValueError(_("every area needs an estimate to be benchmarked"))
    w = w / w.sum()
    current = float(w @ theta)
    if method == "ratio":
        if current == 0:
            raise ValueError(_("ratio benchmarking is undefined when the estimates add up to 0"))
        factor = target / current
        adjusted = theta * factor
        adjustment = factor
    else:
        adjustment = target - current
        adjusted = theta + adjustment
    return BenchmarkResult(
        method=method,
        target=float(target),
        estimate=adjusted,
        mse=v + (adjusted - theta) ** 2,
        adjustment=float(adjustment),
    )


# ---------------------------------------------------------------- GVF


@dataclass(frozen=True)
class GVFResult:
    """Sampling variances after GVF smoothing.

    ``variance`` is the direct variance where it rests on at least ``min_psu``
    PSUs and the GVF prediction elsewhere; ``smoothed`` says which; ``coef`` are
    :math:`(a, b)` of :math:`\\log\\psi = a + b\\log n`.
    """

    variance: FloatArray
    smoothed: NDArray[np.bool_]
    coef: tuple[float, float]
    min_psu: int


def gvf_smooth(
    variance: ArrayLike, n: ArrayLike, n_psu: ArrayLike, *, min_psu: int = 6
) -> GVFResult:
    """Replace direct variances resting on few PSUs by a generalized variance function.

    A design variance from :math:`k` PSUs has about :math:`k - H` degrees of
    freedom, so with a handful of PSUs it is itself very noisy, and the
    Fay–Herriot model treats it as known. Following Wolter (2007, *Introduction to
    Variance Estimation*, ch. 7), the variances of the areas with at least ``min_psu`` PSUs
    fit :math:`\\log\\psi_d = a + b\\log n_d` by least squares; areas with fewer
    PSUs get :math:`\\exp(\\hat a + \\hat b\\log n_d)`. (The log-scale fit
    predicts the geometric mean; no smearing factor is applied, which is
    conservative for the shrinkage because it keeps :math:`\\psi_d` moderate.)
    Needs at least three areas with enough PSUs. Areas without a sample (NaN
    variance) are left NaN.
    """
    psi = np.asarray(variance, dtype=float)
    nn = np.asarray(n, dtype=float)
    k = np.asarray(n_psu, dtype=float)
    if psi.shape != nn.shape or psi.shape != k.shape:
        raise ValueError(_("variance, n and n_psu need one value per area"))
    known = ~np.isnan(psi)
    if np.any(~(nn[known] > 0)):
        raise ValueError(_("the sample size must be positive where a variance is given"))
    reliable = known & (k >= min_psu) & (psi > 0)
    if reliable.sum() < 3:
        raise ValueError(
            _(
                "GVF smoothing needs at least 3 areas with %(min_psu)s or more PSUs, "
                "found %(found)s",
                min_psu=min_psu,
                found=int(reliable.sum()),
            )
        )
    design = np.column_stack([np.ones(reliable.sum()), np.log(nn[reliable])])
    coef, *_unused = np.linalg.lstsq(design, np.log(psi[reliable]), rcond=None)
    smoothed = known & (k < min_psu)
    out = psi.copy()
    out[smoothed] = np.exp(coef[0] + coef[1] * np.log(nn[smoothed]))
    return GVFResult(
        variance=out, smoothed=smoothed, coef=(float(coef[0]), float(coef[1])), min_psu=min_psu
    )


def gvf_proportions(
    proportion: ArrayLike, variance: ArrayLike, n: ArrayLike, smooth: ArrayLike
) -> GVFResult:
    """GVF for proportions: :math:`\\tilde\\psi_d = b\\,\\bar p(1-\\bar p)/n_d`.

    The generalized variance function of Wolter (2007, ch. 7, the model for a
    proportion) with a single parameter, the pooled design effect
    :math:`b = \\sum_d \\psi_d n_d / \\sum_d \\hat p_d(1-\\hat p_d)` over every area
    with a direct estimate, and :math:`\\bar p` the ``n``-weighted mean of the
    :math:`\\hat p_d` (the overall rate rather than each area's own, so that the
    smoothed variance does not move with the area's sampling error and a
    proportion of 0 or 1 does not get a variance of 0). Areas where ``smooth`` is
    true get :math:`\\tilde\\psi_d`; the others keep their direct variance. Unlike
    :func:`gvf_smooth` it needs no area with many PSUs, so it serves when every
    commune's estimate rests on a handful (the demo's 4 PSUs, 3 degrees of
    freedom). ``coef`` is :math:`(b, \\bar p)`.
    """
    p = np.asarray(proportion, dtype=float)
    psi = np.asarray(variance, dtype=float)
    nn = np.asarray(n, dtype=float)
    few = np.asarray(smooth, dtype=bool)
    if not (p.shape == psi.shape == nn.shape == few.shape):
        raise ValueError(_("proportion, variance, n and smooth need one value per area"))
    known = ~np.isnan(p) & ~np.isnan(psi)
    if np.any((p[known] < 0) | (p[known] > 1)):
        raise ValueError(_("proportions must lie between 0 and 1 for the proportion GVF"))
    if np.any(~(nn[known] > 0)):
        raise ValueError(_("the sample size must be positive where a proportion is given"))
    binomial = p[known] * (1 - p[known])
    if known.sum() < 2 or binomial.sum() <= 0:
        raise ValueError(
            _(
                "the proportion GVF needs at least two areas with a proportion strictly "
                "between 0 and 1"
            )
        )
    b = float(np.sum(psi[known] * nn[known]) / binomial.sum())
    p_bar = float(np.sum(p[known] * nn[known]) / nn[known].sum())
    smoothed = known & few
    out = psi.copy()
    out[smoothed] = b * p_bar * (1 - p_bar) / nn[smoothed]
    return GVFResult(variance=out, smoothed=smoothed, coef=(b, p_bar), min_psu=0)
