"""Comparing estimates: trends over waves, rankings with uncertainty, funnel plots.

These functions take estimates and their joint covariance (as produced by
:func:`analysis.indices.estimate_indices` or the estimators) and never see the
microdata.

References
----------
Lumley, T. (2010). *Complex Surveys*. Wiley, ch. 5 (pp. 95-110: regression,
``svyglm``) and sec. 3.4 (contrasts).
Goldstein, H. & Spiegelhalter, D. J. (1996). League tables and their limitations.
*JRSS A* 159(3), 385-443 (intervals for ranks by simulation, sec. 4).
Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance.
*Statistics in Medicine* 24, 1185-1202.
Holm, S. (1979). A simple sequentially rejective multiple test procedure.
*Scandinavian Journal of Statistics* 6, 65-70.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special

from analysis._text import show
from analysis.ci import wald_interval
from analysis.i18n import _


@dataclass(frozen=True)
class Contrast:
    """A linear combination of estimates (R's ``svycontrast``) with its SE, interval
    and two-sided t test on ``df`` degrees of freedom (:func:`t_test`): the one shape
    of a difference between two figures (:class:`analysis.indices.Difference`) and of
    a trend's slope (:class:`Trend`)."""

    value: float
    se: float
    ci_low: float
    ci_high: float
    df: float
    p_value: float
    level: float


@dataclass(frozen=True)
class Trend(Contrast):
    """Slope of an index over time (per year) with its uncertainty (``value``, read
    as :attr:`slope`)."""

    @property
    def slope(self) -> float:
        return self.value


def trend_slope_gradient(
    times: Sequence[float], weights: Sequence[float], values: Sequence[float]
) -> tuple[float, np.ndarray, np.ndarray]:
    """Weighted least-squares slope of ``values`` on ``times`` and its gradient.

    Returns
    -------
    slope : float
    d_values : ndarray
        Derivatives with respect to each wave's index value.
    d_weights : ndarray
        Derivatives with respect to each wave's total weight.

    Notes
    -----
    With ``S0 = sum W``, ``S1 = sum W t``, ``S2 = sum W t^2``, ``A = sum W t v`` and
    ``B = sum W v``, the slope is ``(S0 A - S1 B) / (S0 S2 - S1^2)``. When each
    ``v_w`` is a wave's weighted mean of a respondent-level variable ``y`` and
    ``W_w`` the wave's sum of weights, this is exactly the slope of R's
    ``svyglm(y ~ t)`` on the stacked waves (the normal equations depend on the data
    only through these sums; Lumley 2010, sec. 5.2). Times are centred at their
    mean first, which leaves the slope unchanged and keeps the sums well conditioned.
    """
    t = np.asarray(times, dtype=float)
    w = np.asarray(weights, dtype=float)
    v = np.asarray(values, dtype=float)
    if t.shape != w.shape or t.shape != v.shape or t.ndim != 1:
        raise ValueError(_("times, weights and values must be 1-dimensional and equally long"))
    if np.unique(t).shape[0] < 2:
        raise ValueError(_("a trend needs at least two distinct times"))
    # The slope does not change when time is shifted by a constant; centring avoids
    # the cancellation in S0 S2 - S1^2 for calendar years (t ~ 2018).
    t = t - t.mean()
    s0, s1, s2 = w.sum(), (w * t).sum(), (w * t * t).sum()
    a, b = (w * t * v).sum(), (w * v).sum()
    numerator = s0 * a - s1 * b
    denominator = s0 * s2 - s1 * s1
    slope = numerator / denominator
    d_values = w * (s0 * t - s1) / denominator
    d_num_w = a + s0 * t * v - t * b - s1 * v
    d_den_w = s2 + s0 * t * t - 2 * s1 * t
    d_weights = (d_num_w * denominator - numerator * d_den_w) / denominator**2
    return float(slope), d_values, d_weights


def t_test(value: float, se: float, df: float, level: float = 0.95) -> tuple[float, float, float]:
    """Wald interval on Student's t and the two-sided p-value of ``value = 0``."""
    low, high = wald_interval(value, se, df, level)
    if se <= 0 or math.isnan(se):
        p_value = math.nan if math.isnan(se) else (1.0 if value == 0 else 0.0)
    else:
        # Student's t survival function, as scipy.stats.t.sf evaluates it, without
        # importing scipy.stats (half a second at every start of the app)
        p_value = float(2.0 * special.stdtr(df, -abs(value) / se))
    return low, high, p_value


@dataclass(frozen=True)
class Ranking:
    """Ranks (1 = highest value) with simulation intervals.

    Attributes
    ----------
    rank : ndarray of int
        Rank of each point estimate.
    rank_low, rank_high : ndarray of int
        Equal-tailed ``level`` interval of the simulated ranks.
    draws : int
    seed : int
    """

    rank: np.ndarray
    rank_low: np.ndarray
    rank_high: np.ndarray
    draws: int
    seed: int
    level: float


def _ranks_descending(values: np.ndarray) -> np.ndarray:
    """Rank 1 for the largest value in each row (ties broken by position)."""
    order = np.argsort(-values, axis=-1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, values.shape[-1] + 1), axis=-1)
    return ranks


def rank_intervals(
    estimates: Sequence[float],
    covariance: np.ndarray,
    *,
    level: float = 0.95,
    draws: int = 10_000,
    seed: int = 20051185,
) -> Ranking:
    """Ranks of the estimates with intervals simulated from their joint distribution.

    Parameters
    ----------
    estimates : sequence of float, length k
    covariance : ndarray, shape (k, k)
        Joint covariance of the estimates (zero off-diagonal for independent units).
    level : float
    draws : int
        Number of simulated replicates of the whole table.
    seed : int
        Seed of the local random generator (results are reproducible).

    Notes
    -----
    Draws ``theta* ~ N(theta_hat, V)``, ranks each draw, and reports the
    ``(1 - level)/2`` and ``(1 + level)/2`` quantiles of each unit's simulated rank
    (Goldstein & Spiegelhalter 1996, sec. 4). The covariance is factored with an
    eigen-decomposition, so a singular matrix (e.g. units that are sums of others)
    is accepted.
    """
    theta = np.asarray(estimates, dtype=float)
    cov = np.asarray(covariance, dtype=float)
    k = theta.shape[0]
    if cov.shape != (k, k):
        raise ValueError(
            _(
                "covariance has shape %(shape)s, expected (%(k)s, %(k)s)",
                shape=str(cov.shape),
                k=k,
            )
        )
    if not (np.isfinite(theta).all() and np.isfinite(cov).all()):
        raise ValueError(_("estimates and covariance must be finite"))
    eigenvalues, eigenvectors = np.linalg.eigh((cov + cov.T) / 2)
    root = eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))
    rng = np.random.default_rng(seed)
    simulated = theta + rng.standard_normal((draws, k)) @ root.T
    ranks = _ranks_descending(simulated)
    alpha = (1 - level) / 2
    low = np.quantile(ranks, alpha, axis=0, method="inverted_cdf").astype(int)
    high = np.quantile(ranks, 1 - alpha, axis=0, method="inverted_cdf").astype(int)
    return Ranking(_ranks_descending(theta), low, high, draws, seed, level)


def holm_adjust(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error rate control).

    ``p_(i)`` sorted ascending becomes ``max_{j<=i} min(1, (m - j + 1) p_(j))``
    (Holm 1979), as R's ``p.adjust(p, "holm")``; tests/indices/test_compare.py checks
    it against statsmodels' ``multipletests(method="holm")``, which is not called here
    because it runs a full ``gc.collect()`` on every Holm call (0.1 to 0.7 s in a large
    process: the alerts run and the comparison pages call this often).
    """
    p = np.asarray(p_values, dtype=float)
    m = p.shape[0]
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted


@dataclass(frozen=True)
class FunnelLimits:
    """Control limits around a target proportion as a function of effective n."""

    target: float
    n_eff: np.ndarray
    lower95: np.ndarray
    upper95: np.ndarray
    lower998: np.ndarray
    upper998: np.ndarray


def funnel_limits(target: float, n_eff: Sequence[float]) -> FunnelLimits:
    """95% and 99.8% funnel limits for a proportion (Spiegelhalter 2005, sec. 3.1).

    Notes
    -----
    ``target -/+ z sqrt(target (1 - target) / n_eff)`` with ``z`` the normal
    quantiles 1.960 and 3.090, clipped to [0, 1]. Using the effective sample size
    makes the limits reflect weighting and clustering.
    """
    if not 0 < target < 1:
        raise ValueError(
            _("target must lie strictly between 0 and 1, got %(target)s", target=show(target))
        )
    n = np.asarray(n_eff, dtype=float)
    spread = np.sqrt(target * (1 - target) / np.where(n > 0, n, np.nan))

    def limit(z: float, sign: float) -> np.ndarray:
        return np.clip(target + sign * z * spread, 0.0, 1.0)

    z95, z998 = special.ndtri(0.975), special.ndtri(0.999)
    return FunnelLimits(target, n, limit(z95, -1), limit(z95, 1), limit(z998, -1),
                        limit(z998, 1))  # fmt: skip
