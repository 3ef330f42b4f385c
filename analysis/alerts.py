"""Statistics behind leaders' alerts: window changes, Holm decisions, silence, rates, power.

Pure functions (numpy/scipy); the service layer (``survey_app.reporting.alerts``) reads
the data and stores the episodes.

Rules
-----
Index drop (continuous feedback)
    The current rolling window (the last ``W`` whole days) against the preceding ``W``
    days, each estimated with the model-based variance of continuous feedback: desks as
    strata and desk-days as clusters (:func:`window_change`). The two windows share no
    cluster, so the difference has zero covariance. Its two-sided t test (df: the
    smaller window's) gives a p-value; across every unit and index evaluated in one run
    the p-values are adjusted by Holm's method and a drop fires when the adjusted p is
    below ``alpha`` *and* the fall is at least the minimum change (:func:`drop_decisions`).
    The family-wise chance of any false alert in one run is thus at most ``alpha``.
Silent desk
    From the desk's own history (the last ``weeks`` weeks), the share of weeks in which
    each hour of each weekday (local time) had at least one response, smoothed to
    ``(k + 0.5) / (weeks + 1)``. The chance of the present silence under that history is
    the product of ``1 - p`` over the hours elapsed since the last response; the desk is
    silent when that chance falls below ``threshold`` (:func:`silence_probability`).
    Hours the desk is normally closed (p near 0) do not count towards the silence.
Rate anomaly
    A desk's count on the last whole day against the same weekday in the previous
    ``weeks`` weeks: ``z = (x - mean) / sqrt(max(var, mean, 1))`` (variance allows
    overdispersion), two-sided p below ``threshold`` (:func:`rate_anomaly`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from scipy import special

from analysis.compare import holm_adjust
from analysis.design import Design
from analysis.indices import Difference, IndexEstimate, IndexFormula, difference, estimate_on_design


@dataclass(frozen=True)
class Window:
    """The rows of one window: item columns, desk (stratum) and day (cluster) per row."""

    values: np.ndarray  # n x k item columns S, V, P
    desks: np.ndarray  # stratum label per row
    days: np.ndarray  # cluster label per row (the day; nested in the desk)
    weights: np.ndarray | None = None


@dataclass(frozen=True)
class WindowChange:
    before: IndexEstimate
    after: IndexEstimate
    difference: Difference  # after - before


def estimate_window(window: Window, formula: IndexFormula, level: float = 0.95) -> IndexEstimate:
    """An index over one window with desks as strata and desk-days as clusters.

    A desk with a single day in the window is handled by R's ``lonely.psu = "adjust"``.
    """
    n = window.values.shape[0]
    weights = np.ones(n) if window.weights is None else window.weights
    design = Design.from_arrays(
        weights, strata=window.desks, ids=window.days, nest=True, lonely_psu="adjust"
    )
    return estimate_on_design(design, window.values, formula, level=level)


def window_change(
    before: Window, after: Window, formula: IndexFormula, level: float = 0.95
) -> WindowChange:
    """The change of an index from one window to the next, with its t test.

    Notes
    -----
    ``d = after - before`` with ``Var d = Var after + Var before`` (no shared cluster)
    and ``df = min(df_before, df_after)``, as :func:`analysis.indices.difference`.
    """
    first = estimate_window(before, formula, level)
    second = estimate_window(after, formula, level)
    diff = difference(
        second.value,
        first.value,
        second.se**2,
        first.se**2,
        0.0,
        df=max(min(first.df, second.df), 1.0),
        level=level,
    )
    return WindowChange(first, second, diff)


def drop_decisions(
    changes: Sequence[float],
    p_values: Sequence[float],
    *,
    min_change: float,
    alpha: float = 0.05,
) -> tuple[np.ndarray, np.ndarray]:
    """Which changes are significant falls after Holm's adjustment.

    Parameters
    ----------
    changes
        Each change in points (negative: a fall).
    p_values
        Two-sided p-values of the changes (NaN: not testable, never fires, still
        counted in the family).
    min_change
        Smallest fall in points that may fire.

    Returns
    -------
    adjusted, fired
        Holm-adjusted p-values and whether each change fires.
    """
    p = np.asarray(p_values, dtype=float)
    size = np.asarray(changes, dtype=float)
    if p.size == 0:
        return np.zeros(0), np.zeros(0, dtype=bool)
    adjusted = holm_adjust(np.where(np.isnan(p), 1.0, p))
    fired = (adjusted < alpha) & (size <= -abs(min_change)) & ~np.isnan(p)
    return adjusted, fired


def hourly_activity(local_times: Sequence[datetime], end: datetime, weeks: int) -> np.ndarray:
    """Smoothed share of weeks with a response in each (weekday, hour), 7 x 24.

    Only responses in the ``weeks`` whole weeks before ``end`` count.
    """
    start = end - timedelta(weeks=weeks)
    seen = np.zeros((weeks, 7, 24), dtype=bool)
    for moment in local_times:
        if not start <= moment < end:
            continue
        week = int((moment - start) // timedelta(weeks=1))
        seen[week, moment.weekday(), moment.hour] = True
    return (seen.sum(axis=0) + 0.5) / (weeks + 1.0)


def silence_probability(activity: np.ndarray, last: datetime, now: datetime) -> float:
    """Chance of no response from ``last`` to ``now`` under the desk's hourly activity.

    Whole hours after the hour of ``last`` up to the hour before ``now`` count; each
    contributes ``1 - p[weekday, hour]``.
    """
    hour = last.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    log_p = 0.0
    while hour + timedelta(hours=1) <= now:
        log_p += math.log1p(-float(activity[hour.weekday(), hour.hour]))
        hour += timedelta(hours=1)
    return math.exp(log_p)


@dataclass(frozen=True)
class RateCheck:
    count: int
    mean: float
    sd: float
    z: float
    p_value: float


def rate_anomaly(count: int, history: Sequence[int]) -> RateCheck:
    """A day's count against the same weekday's counts in earlier weeks (two-sided)."""
    past = np.asarray(history, dtype=float)
    mean = float(past.mean()) if past.size else math.nan
    var = float(past.var(ddof=1)) if past.size > 1 else math.nan
    sd = math.sqrt(max(var if not math.isnan(var) else 0.0, mean, 1.0))
    z = (count - mean) / sd
    return RateCheck(count, mean, sd, z, float(2 * special.ndtr(-abs(z))))  # normal tails


def detection_power(
    *,
    baseline: float,
    drop: float,
    per_day: float,
    window_days: int,
    day: int,
    family: int,
    min_change: float,
    alpha: float = 0.05,
    deff: float = 1.0,
    df: float | None = None,
    cluster_size: float | None = None,
) -> float:
    """Power to fire ``day`` whole days after a true fall of a rate begins.

    Notes
    -----
    The current window then holds ``min(day, W)`` days at the new level and the
    preceding window ``max(0, day - W)``, so the expected change is
    ``drop * (min(day, W) - max(0, day - W)) / W``
    with variance ``deff * (pa (1 - pa) + p0 (1 - p0)) / (per_day W)``, ``pa`` the
    current window's mean rate. Holm's first step tests at ``alpha / family`` (the
    conservative case: the other units are null); the alert needs the estimated fall
    beyond both ``z se`` and the minimum change, so the power is
    ``Phi((|E d| - max(z se, min_change)) / se)``. With ``df`` (the window's
    desk-days minus desks, as the test uses) ``z`` is Student's t quantile and the
    power the noncentral t's tail ``P(T(df, |E d| / se) > max(z se, min_change) / se)``.

    With ``cluster_size`` ``m`` (responses per desk-day) the variance also carries
    what the desk-day clusters make of a window that straddles the fall: its days'
    rates differ by ``drop``, a between-cluster variance ``drop^2 s (1 - s)`` (``s`` the
    share of its days after the fall), which adds ``m drop^2 s (1 - s)`` to the
    window's ``p (1 - p)`` (Kish 1965, sec. 5.4: ``Var = (1/c)(p(1-p)/m + s_b^2)``).
    """
    if day <= 0:
        return 0.0
    after_share = min(day, window_days) / window_days
    before_share = max(0, day - window_days) / window_days
    expected = drop * (after_share - before_share)
    if expected <= 0:
        return 0.0
    after = baseline - drop * after_share
    baseline = baseline - drop * before_share
    n = per_day * window_days
    spread = 0.0
    if cluster_size is not None:
        for share in (after_share, before_share):
            spread += cluster_size * drop**2 * share * (1 - share)
    se = math.sqrt(deff * (after * (1 - after) + baseline * (1 - baseline) + spread) / n)
    tail = alpha / (2 * family)
    # the normal or Student's t upper quantile (as scipy.stats' isf evaluates them)
    z = -special.ndtri(tail) if df is None else -special.stdtrit(df, tail)
    bar = max(z * se, min_change / 100.0)
    if df is None:
        return float(special.ndtr((expected - bar) / se))
    # the estimated SE is itself uncertain: the t statistic is noncentral t
    from scipy import stats  # the noncentral t only here; scipy.stats is slow to import

    return float(stats.nct.sf(bar / se, df, expected / se))


def days_to_detect(power: float = 0.8, max_days: int = 60, **kwargs: float) -> int | None:
    """The first day after a fall begins at which :func:`detection_power` reaches ``power``."""
    for day in range(1, max_days + 1):
        if detection_power(day=day, **kwargs) >= power:  # type: ignore[arg-type]
            return day
    return None
