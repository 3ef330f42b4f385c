"""Frozen result objects returned by the estimators."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from analysis._text import show
from analysis.i18n import _


@dataclass(frozen=True)
class Estimate:
    """One estimate with its uncertainty.

    Attributes
    ----------
    value : float
        The point estimate.
    se : float
        Design-based standard error.
    ci_low, ci_high : float
        Confidence interval bounds at ``level`` by ``ci_method``.
    df : float
        Degrees of freedom used for the interval (R's ``degf()``; for a domain, the
        ``degf()`` of the domain's subset as ``svyby`` computes it; ``inf`` for a
        normal interval).
    deff : float
        Design effect (``nan`` when not defined).
    n : int
        Unweighted number of rows that entered the estimate (domain members with a
        non-missing value).
    n_eff : float
        Kish's effective sample size ``(sum w)^2 / sum w^2`` over those rows.
    level : float
        Confidence level.
    ci_method : str
        Name of the interval method.
    statistic : str
        ``"mean"``, ``"total"``, ``"proportion"``, ``"ratio"`` or ``"contrast"``.
    variable : str
        What was estimated (column name or description).
    by : dict
        Domain labels (column -> value); empty for the whole population.
    """

    value: float
    se: float
    ci_low: float
    ci_high: float
    df: float
    deff: float
    n: int
    n_eff: float
    level: float = 0.95
    ci_method: str = "t"
    statistic: str = "mean"
    variable: str = ""
    by: dict[str, Any] = field(default_factory=dict)

    @property
    def var(self) -> float:
        """Variance (``se**2``)."""
        return self.se * self.se

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dictionary (non-finite floats become ``None``)."""
        # _json_value copies ``by``; asdict's deep copy of every field cost the command
        # line about 0.06 ms per domain
        return {f.name: _json_value(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True, eq=False)
class DomainEstimates:
    """Estimates for several domains with their joint covariance (``svyby(covmat=TRUE)``).

    Attributes
    ----------
    estimates : tuple of Estimate
        One per domain, in the order of ``labels``.
    by : tuple of str
        Names of the domain columns.
    labels : tuple of tuple
        Domain values, one tuple (one value per ``by`` column) per domain, sorted.
    covariance : ndarray, shape (D, D)
        Joint covariance of the domain estimates; use :func:`analysis.contrast` for
        differences and other linear combinations.
    df : float
        Degrees of freedom of the whole design (used by default for contrasts).
    """

    estimates: tuple[Estimate, ...]
    by: tuple[str, ...]
    labels: tuple[tuple[Any, ...], ...]
    covariance: np.ndarray
    df: float

    def __len__(self) -> int:
        return len(self.estimates)

    def __iter__(self) -> Iterator[Estimate]:
        return iter(self.estimates)

    def __getitem__(self, key: int | tuple[Any, ...] | Any) -> Estimate:
        """Index by position or by domain label (a tuple, or a scalar for one column)."""
        if isinstance(key, int) and not isinstance(key, bool):
            return self.estimates[key]
        label = key if isinstance(key, tuple) else (key,)
        for lab, est in zip(self.labels, self.estimates, strict=True):
            if lab == label:
                return est
        raise KeyError(
            _(
                "no domain %(label)s; domains: %(labels)s",
                label=show(label),
                labels=show(list(self.labels)),
            )
        )

    def index(self, label: tuple[Any, ...] | Any) -> int:
        """Position of a domain label."""
        label = label if isinstance(label, tuple) else (label,)
        try:
            return self.labels.index(label)
        except ValueError:
            raise KeyError(_("no domain %(label)s", label=show(label))) from None

    @property
    def values(self) -> np.ndarray:
        """Estimates as an array, in domain order."""
        return np.array([e.value for e in self.estimates])

    def to_records(self) -> list[dict[str, Any]]:
        """One JSON-friendly dict per domain."""
        return [e.to_dict() for e in self.estimates]


def _json_value(v: Any) -> Any:
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, dict):
        return {str(k): _json_value(x) for k, x in v.items()}
    if isinstance(v, np.generic):
        return v.item()
    return v
