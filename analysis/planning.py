"""Sample sizes and margins of error for estimating a proportion, per unit.

Two questions a survey team asks before fieldwork:

* how many interviews does a unit need for a given margin of error
  (:func:`sample_size`), and
* given a planned allocation of interviews to units, what margin of error will each
  unit's estimate have (:func:`margin_of_error`)?

Both use the same normal approximation for a proportion ``p`` estimated from a
sample of ``n`` out of ``N``, inflated by a design effect:

.. math:: e = z \\sqrt{\\mathrm{deff}\\, p (1 - p)\\, \\frac{N - n}{n (N - 1)}}

which is the exact variance of a proportion under simple random sampling without
replacement, ``(1 - n/N) S^2 / n`` with ``S^2 = N p (1 - p) / (N - 1)`` (Cochran 1977,
eq. 3.7, p. 52), times Kish's design effect. Solving for ``n`` gives Cochran's two-step
formula (Cochran 1977, sec. 4.4, eqs. 4.1-4.2, pp. 75-76):

.. math:: n_0 = \\frac{z^2 p (1 - p)\\, \\mathrm{deff}}{e^2}, \\qquad
          n = \\frac{n_0}{1 + (n_0 - 1) / N}

The design effect (Kish 1965, sec. 8.2, p. 258) is the ratio of the variance under
the actual design (clustering, unequal weights) to that of a simple random sample of
the same size; multiplying ``n_0`` by it keeps the precision the plan asks for. For
weighting alone, ``deff = 1 + CV^2`` of the weights (Kish 1965, sec. 11.7, p. 427).

Without ``N`` (an infinite population) the correction factor is 1 and ``n = n_0``.

References
----------
Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed. Wiley, sec. 3.4 and 4.4.
Kish, L. (1965). *Survey Sampling*. Wiley, sec. 8.2 and 11.7.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import special

from analysis.i18n import _

__all__ = ["SampleSize", "margin_of_error", "normal_quantile", "sample_size"]


def normal_quantile(level: float) -> float:
    """Two-sided normal quantile ``z`` for a confidence level (1.959964 for 0.95)."""
    if not 0 < level < 1:
        raise ValueError(
            _("confidence level must be between 0 and 1, got %(level)s", level=repr(level))
        )
    return float(special.ndtri(0.5 + level / 2))  # the normal quantile


def _check(p: float, deff: float, population: float | None) -> None:
    if not 0 < p < 1:
        raise ValueError(
            _(
                "expected proportion must be between 0 and 1 (exclusive), got %(p)s",
                p=repr(p),
            )
        )
    if not (deff > 0 and math.isfinite(deff)):
        raise ValueError(
            _("design effect must be a positive number, got %(deff)s", deff=repr(deff))
        )
    if population is not None and not (population >= 2 and math.isfinite(population)):
        raise ValueError(
            _("population size must be at least 2, got %(population)s", population=repr(population))
        )


@dataclass(frozen=True)
class SampleSize:
    """The sample a unit needs.

    Attributes
    ----------
    n0 : float
        Size for an infinite population, ``z^2 p (1-p) deff / e^2``.
    n_exact : float
        After the finite population correction, ``n0 / (1 + (n0 - 1)/N)``.
    n : int
        ``n_exact`` rounded up (at most ``N``): the number of interviews to plan.
    margin : float
        The margin of error ``n`` interviews actually give (at most the target).
    """

    n0: float
    n_exact: float
    n: int
    margin: float


def sample_size(
    margin: float,
    p: float = 0.5,
    *,
    deff: float = 1.0,
    population: float | None = None,
    level: float = 0.95,
) -> SampleSize:
    """Interviews needed to estimate a proportion within ``± margin``.

    Parameters
    ----------
    margin : float
        Target half-width of the confidence interval, as a proportion (0.05 for
        five percentage points).
    p : float, default 0.5
        Expected proportion; 0.5 is the safe (largest) choice.
    deff : float, default 1
        Design effect of the sampling plan and the weights.
    population : float, optional
        Population size ``N`` (e.g. the unit's yearly transactions); ``None`` for
        no finite population correction.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    SampleSize

    Raises
    ------
    ValueError
        ``margin`` not in (0, 1), ``p`` not in (0, 1), ``deff <= 0`` or ``N < 2``.

    Notes
    -----
    ``n0 = z^2 p (1-p) deff / e^2`` and ``n = n0 / (1 + (n0 - 1)/N)`` (Cochran 1977,
    sec. 4.4, eqs. 4.1-4.2; the design effect as Kish 1965, sec. 8.2).

    Examples
    --------
    >>> s = sample_size(0.05)
    >>> round(s.n0, 2), s.n
    (384.15, 385)
    >>> sample_size(0.05, population=1000).n
    278
    """
    if not 0 < margin < 1:
        raise ValueError(
            _(
                "margin of error must be between 0 and 1 (exclusive), got %(margin)s",
                margin=repr(margin),
            )
        )
    _check(p, deff, population)
    z = normal_quantile(level)
    n0 = z * z * p * (1 - p) * deff / (margin * margin)
    n_exact = n0 if population is None else n0 / (1 + (n0 - 1) / population)
    # ceil, but a value within rounding noise of a whole number is that number
    n = math.ceil(n_exact - 1e-9)
    if population is not None:
        n = min(n, math.floor(population))
    n = max(n, 1)
    return SampleSize(
        n0=n0,
        n_exact=n_exact,
        n=n,
        margin=margin_of_error(n, p, deff=deff, population=population, level=level),
    )


def margin_of_error(
    n: float,
    p: float = 0.5,
    *,
    deff: float = 1.0,
    population: float | None = None,
    level: float = 0.95,
) -> float:
    """Half-width of the confidence interval of a proportion from ``n`` interviews.

    Parameters
    ----------
    n : float
        Planned interviews (at least 1, at most ``population``).
    p, deff, population, level
        As :func:`sample_size`.

    Returns
    -------
    float
        ``z sqrt(deff p (1-p) (N - n) / (n (N - 1)))``; without ``N``,
        ``z sqrt(deff p (1-p) / n)``. A census (``n = N``) has margin 0.

    Notes
    -----
    The exact inverse of :func:`sample_size` before rounding: with
    ``n0 = n (N - 1) / (N - n)`` Cochran's ``n = n0 / (1 + (n0 - 1)/N)`` holds
    (Cochran 1977, eqs. 3.7 and 4.2).

    Examples
    --------
    >>> round(margin_of_error(400), 4)
    0.049
    """
    _check(p, deff, population)
    if not (n >= 1 and math.isfinite(n)):
        raise ValueError(_("sample size must be at least 1, got %(n)s", n=repr(n)))
    if population is not None and n > population:
        raise ValueError(
            _(
                "sample size %(n)s exceeds the population size %(population)s",
                n=format(n, "g"),
                population=format(population, "g"),
            )
        )
    z = normal_quantile(level)
    fpc = 1.0 if population is None else (population - n) / (population - 1)
    return z * math.sqrt(deff * p * (1 - p) * fpc / n)
