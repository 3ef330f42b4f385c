"""Confidence intervals: t intervals and the proportion intervals of R's ``svyciprop``.

Methods are looked up in explicit mappings (:data:`INTERVAL_METHODS` for means,
totals and ratios, :data:`PROPORTION_METHODS` for proportions); an unknown name
raises ``ValueError`` listing the valid ones. There is no prefix matching.

References
----------
Korn, E. L. & Graubard, B. I. (1998). Confidence intervals for proportions with
small expected number of positive counts estimated from survey data. *Survey
Methodology* 24(2), 193-201 (the df-adjusted effective sample size, p. 195).
Lumley, T. (2010). *Complex Surveys*. Wiley, sec. 2.4.1 (pp. 29-32, intervals
for proportions) and sec. 3.2.1.
Kish, L. (1965). *Survey Sampling*. Wiley, sec. 8.2 and 11.7 (p. 427, the
design effect of weighting and the effective sample size).
Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
inference. *JASA* 22, 209-212.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy import special

from analysis._text import show
from analysis.i18n import _


def t_quantile(level: float, df: float) -> float:
    """Upper ``(1 + level)/2`` quantile of Student's t (normal when ``df`` is inf)."""
    _check_level(level)
    if not df > 0:
        return math.nan
    # scipy.special directly: what stats.t.ppf / stats.norm.ppf compute, without their
    # per-call argument machinery (an index table asks for thousands of quantiles)
    if math.isinf(df):
        return float(special.ndtri(0.5 + level / 2))
    return float(special.stdtrit(df, 0.5 + level / 2))


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(_("level must be between 0 and 1, got %(level)s", level=show(level)))


@dataclass(frozen=True)
class ProportionInput:
    """What every proportion interval needs.

    Attributes
    ----------
    p : float
        Estimated proportion.
    var : float
        Its design-based variance.
    df : float
        Degrees of freedom of the interval (R: ``degf(design)``).
    n_rows : int
        Rows of the (domain) design including rows with a missing value (R's
        ``nrow(design)``, used by the Korn-Graubard df adjustment).
    level : float
        Confidence level.
    var_logit : float or None
        Variance of ``logit(p)`` when it is estimated directly (replicate designs,
        as R's ``svyglm`` on a replicate design); ``None`` uses the delta method.
    n_used : int or None
        Rows with a non-missing value (the likelihood method's dispersion
        ``n/(n-1)`` when ``dispersion`` is not given); ``None`` means ``n_rows``.
    dispersion : float or None
        The quasibinomial dispersion of R's ``summary.svyglm`` (design-weighted
        variance of the Pearson residuals) used by the likelihood method; ``None``
        means ``n/(n-1)``, its value with equal weights and no missing values.
    """

    p: float
    var: float
    df: float
    n_rows: int
    level: float = 0.95
    var_logit: float | None = None
    n_used: int | None = None
    dispersion: float | None = None


def _interval_mean(x: ProportionInput) -> tuple[float, float]:
    """Wald interval on the proportion scale: ``p -/+ t se`` (``svyciprop(method="mean")``)."""
    q = t_quantile(x.level, x.df)
    se = math.sqrt(x.var)
    return x.p - q * se, x.p + q * se


def _logit_se(x: ProportionInput) -> float:
    if x.var_logit is not None:
        return math.sqrt(x.var_logit)
    return math.sqrt(x.var) / (x.p * (1 - x.p))


def _interval_logit(x: ProportionInput) -> tuple[float, float]:
    """Wald interval for ``logit(p)`` back-transformed (``method="logit"``/``"xlogit"``).

    ``se(logit p) = se(p) / (p (1-p))`` (delta method); R's ``"logit"`` obtains the
    same quantity from an intercept-only ``svyglm(family=quasibinomial)``.
    """
    q = t_quantile(x.level, x.df)
    eta = special.logit(x.p)
    half = q * _logit_se(x)
    return float(special.expit(eta - half)), float(special.expit(eta + half))


def _interval_asin(x: ProportionInput) -> tuple[float, float]:
    """Interval for ``asin(sqrt(p))``, ``se(p) / (2 sqrt(p(1-p)))``, mapped back by ``sin^2``."""
    q = t_quantile(x.level, x.df)
    centre = math.asin(math.sqrt(x.p))
    half = q * math.sqrt(x.var) / (2 * math.sqrt(x.p * (1 - x.p)))
    return math.sin(centre - half) ** 2, math.sin(centre + half) ** 2


def korn_graubard_n_eff(x: ProportionInput) -> float:
    """Korn-Graubard effective sample size with the df adjustment.

    ``n* = p(1-p)/V * (t_{n-1, alpha/2} / t_{df, alpha/2})^2`` with ``n`` the number
    of rows of the (domain) design (Korn & Graubard 1998, p. 195; R's svyciprop).
    """
    alpha = 1 - x.level
    n_eff = x.p * (1 - x.p) / x.var if x.var > 0 else math.nan
    ratio = special.stdtrit(x.n_rows - 1, alpha / 2) / special.stdtrit(x.df, alpha / 2)
    return float(n_eff * ratio**2)


def _interval_beta(x: ProportionInput) -> tuple[float, float]:
    """Clopper-Pearson interval with the Korn-Graubard effective sample size.

    Lower ``Beta^{-1}(alpha/2; n* p, n*(1-p) + 1)``, upper
    ``Beta^{-1}(1-alpha/2; n* p + 1, n*(1-p))``.
    """
    alpha = 1 - x.level
    ne = korn_graubard_n_eff(x)
    # special.betaincinv(a, b, q) is what stats.beta.ppf(q, a, b) evaluates (Boost's
    # ibeta_inv), without importing scipy.stats (a third of a second at start-up)
    a, b = ne * x.p, ne * (1 - x.p)
    low = 0.0 if x.p == 0 else float(special.betaincinv(a, b + 1, alpha / 2))
    high = 1.0 if x.p == 1 else float(special.betaincinv(a + 1, b, 1 - alpha / 2))
    return low, high


def _interval_wilson(x: ProportionInput) -> tuple[float, float]:
    """Wilson score interval with ``n_eff = p(1-p)/V`` and a t quantile on ``df``.

    ``(p + t^2/(2n) -/+ t/(2n) sqrt(4 n p(1-p) + t^2)) / (1 + t^2/n)``.
    """
    q = t_quantile(x.level, x.df)
    n = x.p * (1 - x.p) / x.var if x.var > 0 else math.nan
    root = math.sqrt(4 * n * x.p * (1 - x.p) + q * q)
    denom = 1 + q * q / n
    centre = x.p + q * q / (2 * n)
    return (centre - q / (2 * n) * root) / denom, (centre + q / (2 * n) * root) / denom


def _interval_likelihood(x: ProportionInput) -> tuple[float, float]:
    """Rao-Scott scaled profile-likelihood interval (``svyciprop(method="likelihood")``).

    Notes
    -----
    R profiles the deviance of the intercept-only quasibinomial ``svyglm`` and keeps
    the ``beta`` where ``(D(beta) - D(hat beta)) / phi = t^2 lambda`` with
    ``lambda`` the ratio of the design-based to the model-based variance of
    ``hat beta`` and ``phi`` the design-weighted variance of the Pearson residuals
    (R's ``summary.svyglm``: ``svyvar`` of ``(y - p) sqrt(w_i / bar w) / sqrt(p(1-p))``
    over the rows used, ``bar w`` the mean weight of all rows of the (domain)
    design), which is ``n/(n-1)`` with equal weights and no missing values.
    Since ``D(beta) - D(hat beta) = 2 W KL(p || expit(beta))`` with ``W`` the sum
    of the rescaled weights, which cancels against ``lambda = V(p) W / (p(1-p))``,
    the bounds are the two solutions ``mu`` of

    .. math:: p \\log\\frac{p}{\\mu} + (1-p)\\log\\frac{1-p}{1-\\mu}
              = \\phi \\frac{t^2_{df} V(p)}{2 p (1-p)}.

    We solve this exactly (Brent's method on the logit scale). R locates the same
    roots by interpolating a spline through the profile evaluated on a grid, so its
    bounds differ from these in about the fourth significant digit. For replicate
    designs ``V(p)/(p(1-p))^2`` is replaced by the replicate variance of the logit.
    """
    q = t_quantile(x.level, x.df)
    n = x.n_rows if x.n_used is None else x.n_used
    phi = n / (n - 1.0) if x.dispersion is None else x.dispersion
    target = 0.5 * phi * q * q * _logit_se(x) ** 2 * x.p * (1 - x.p)
    eta_hat = float(special.logit(x.p))

    def excess(eta: float) -> float:
        mu = float(special.expit(eta))
        return float(special.rel_entr(x.p, mu) + special.rel_entr(1 - x.p, 1 - mu)) - target

    step = max(1.0, 4 * q * _logit_se(x))
    lo = eta_hat - step
    while excess(lo) < 0:
        lo -= step
    hi = eta_hat + step
    while excess(hi) < 0:
        hi += step
    from scipy import optimize  # only this interval needs it; slow to import

    low = optimize.brentq(excess, lo, eta_hat, xtol=1e-14, rtol=4 * np.finfo(float).eps)
    high = optimize.brentq(excess, eta_hat, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps)
    return float(special.expit(low)), float(special.expit(high))


def _interval_xlogit(x: ProportionInput) -> tuple[float, float]:
    """``method="xlogit"``: the logit interval with the delta-method standard error.

    R's ``"xlogit"`` is ``svycontrast`` of ``svymean`` to ``log(p/(1-p))``, so even on
    a replicate design it uses ``se(p) / (p(1-p))``, not the replicate variance of
    the logit that ``"logit"`` (``svyglm``) uses.
    """
    return _interval_logit(
        ProportionInput(p=x.p, var=x.var, df=x.df, n_rows=x.n_rows, level=x.level)
    )


PROPORTION_METHODS: Mapping[str, Callable[[ProportionInput], tuple[float, float]]] = {
    "logit": _interval_logit,
    "likelihood": _interval_likelihood,
    "asin": _interval_asin,
    "beta": _interval_beta,
    "mean": _interval_mean,
    "xlogit": _interval_xlogit,
    "wilson": _interval_wilson,
}
"""Proportion interval methods by name (those of R's ``svyciprop`` plus ``wilson``)."""

INTERVAL_METHODS: Mapping[str, str] = {
    "t": "Student t with the design degrees of freedom",
    "normal": "normal quantile (R's default confint() for svymean/svytotal)",
}
"""Interval methods for means, totals, ratios and contrasts."""


def _degenerate(method: str, p: float) -> tuple[float, float]:
    """The interval R's ``svyciprop`` gives when ``p`` is exactly 0 or 1."""
    if method in ("mean", "logit"):
        return p, p
    return math.nan, math.nan


def proportion_interval(method: str, x: ProportionInput) -> tuple[float, float]:
    """Confidence interval for a proportion by a named method.

    At ``p = 0`` or ``p = 1`` (every respondent of the domain answers alike) the
    interval is what R's ``svyciprop`` (survey 4.1) returns there: ``(p, p)`` for
    ``mean`` (zero variance) and ``logit`` (R's non-converged ``svyglm`` gives
    bounds within 1e-10 of ``p``); ``nan`` for ``asin``, ``xlogit`` and ``beta``
    (R returns ``NaN``: the variance of the transformed scale is 0/0, and
    Korn-Graubard's effective sample size is 0/0); ``nan`` for ``likelihood``
    (R stops: "profiling has found a better solution"); ``nan`` for ``wilson``
    (not in R; its effective sample size is 0/0 as well). No method
    gives a one-sided interval there: a design-based variance of 0 carries no
    information on how far from 0 or 1 the population proportion may be.

    Parameters
    ----------
    method : str
        A key of :data:`PROPORTION_METHODS`.
    x : ProportionInput

    Raises
    ------
    ValueError
        For an unknown method (the message lists the valid names) or a level
        outside (0, 1).
    """
    try:
        fn = PROPORTION_METHODS[method]
    except (KeyError, TypeError):
        raise ValueError(
            _(
                "unknown proportion CI method %(method)s; valid methods: %(methods)s",
                method=repr(method),
                methods=", ".join(PROPORTION_METHODS),
            )
        ) from None
    _check_level(x.level)
    if x.p == 0 or x.p == 1:
        return _degenerate(method, float(x.p))
    return fn(x)


def wald_interval(
    value: float, se: float, df: float, level: float, method: str = "t"
) -> tuple[float, float]:
    """``value -/+ q se`` with ``q`` from Student's t on ``df`` (``"t"``) or the normal.

    Raises
    ------
    ValueError
        For a method not in :data:`INTERVAL_METHODS`.
    """
    if method not in INTERVAL_METHODS:
        raise ValueError(
            _(
                "unknown CI method %(method)s for this estimate; valid methods: %(methods)s",
                method=repr(method),
                methods=", ".join(INTERVAL_METHODS),
            )
        )
    q = t_quantile(level, math.inf if method == "normal" else df)
    return value - q * se, value + q * se
