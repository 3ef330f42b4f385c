"""Weighting a :class:`analysis.design.Design`: new weights plus the variance adjustment.

Each function runs the weighting method of :mod:`analysis.weighting` on the
design's current weights and returns an :class:`AdjustedDesign`: a design with
the new weights and, for post-stratification, raking and calibration, the
adjustment appended to :attr:`Design.adjustments`, so that every estimator of
:mod:`analysis.estimators` gives the standard errors of R's ``svymean`` /
``svytotal`` / ``svyciprop`` / ``svyby`` on ``postStratify`` / ``rake`` /
``calibrate`` designs (Lumley 2010, ch. 7). Trimming keeps the earlier
adjustments unchanged, as R's ``trimWeights`` keeps ``postStrata``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from numpy.typing import ArrayLike

from analysis.design import Design
from analysis.i18n import _

from ._common import WeightingReport, WeightingResult
from .calibrate import Bounds, calibrate
from .poststratify import poststratify
from .rake import MarginKey, rake
from .trim import trim_weights

__all__ = [
    "AdjustedDesign",
    "calibrate_design",
    "poststratify_design",
    "rake_design",
    "trim_design",
]


@dataclass(frozen=True, eq=False)
class AdjustedDesign:
    """A weighted design and the weighting result that produced it.

    Attributes
    ----------
    design : Design
        The design with the new weights (and the adjustment appended).
    result : WeightingResult
        New weights, report and adjustment.
    """

    design: Design
    result: WeightingResult

    @property
    def report(self) -> WeightingReport:
        """Diagnostics of the weighting step."""
        return self.result.report


def _data(design: Design, data: Mapping[str, ArrayLike] | None) -> Mapping[str, Any]:
    if not isinstance(design, Design):
        raise ValueError(
            _(
                "weighting needs a linearization Design; replicate-weight designs are not "
                "supported (weight the full-sample design, then build replicates)"
            )
        )
    if data is not None:
        return data
    if design.data is None:
        raise ValueError(_("the design has no data: pass data= with the weighting variables"))
    return design.data


def _adjusted(design: Design, result: WeightingResult) -> AdjustedDesign:
    return AdjustedDesign(
        design=design.with_weights(result.weights, result.adjustment), result=result
    )


def poststratify_design(
    design: Design,
    by: str | Sequence[str],
    targets: Mapping[Hashable, float],
    *,
    partial: bool = False,
    data: Mapping[str, ArrayLike] | None = None,
) -> AdjustedDesign:
    """Post-stratify a design, as ``postStratify(design, ~by, targets, partial)``.

    Parameters are those of :func:`analysis.weighting.poststratify`; the variables
    come from ``design.data`` unless ``data`` is given.
    """
    result = poststratify(design.weights, _data(design, data), by, targets, partial=partial)
    return _adjusted(design, result)


def rake_design(
    design: Design,
    margins: Mapping[MarginKey, Mapping[Hashable, float]],
    *,
    maxit: int = 10,
    epsilon: float = 1.0,
    data: Mapping[str, ArrayLike] | None = None,
) -> AdjustedDesign:
    """Rake a design, as ``rake(design, margins, totals, control = list(maxit, epsilon))``.

    Parameters are those of :func:`analysis.weighting.rake`.
    """
    result = rake(design.weights, _data(design, data), margins, maxit=maxit, epsilon=epsilon)
    return _adjusted(design, result)


def calibrate_design(
    design: Design,
    totals: Mapping[str | tuple[str, ...], float | Mapping[Hashable, float]],
    *,
    calfun: str = "linear",
    bounds: Bounds | None = None,
    population_size: float | None = None,
    maxit: int = 50,
    epsilon: float = 1e-7,
    force: bool = False,
    data: Mapping[str, ArrayLike] | None = None,
) -> AdjustedDesign:
    """Calibrate a design, as ``calibrate(design, formula, population, ...)``.

    Parameters are those of :func:`analysis.weighting.calibrate`.
    """
    result = calibrate(
        design.weights,
        _data(design, data),
        totals,
        calfun=calfun,
        bounds=bounds,
        population_size=population_size,
        maxit=maxit,
        epsilon=epsilon,
        force=force,
    )
    return _adjusted(design, result)


def trim_design(
    design: Design,
    *,
    lower: float = float("-inf"),
    upper: float = float("inf"),
    strict: bool = False,
) -> AdjustedDesign:
    """Trim a design's weights, as ``trimWeights(design, upper, lower, strict)``.

    The design's adjustments are kept as they are (R keeps ``postStrata``), so
    the variance still reflects an earlier post-stratification or calibration.
    """
    _data(design, {})
    result = trim_weights(design.weights, lower=lower, upper=upper, strict=strict)
    return _adjusted(design, result)
