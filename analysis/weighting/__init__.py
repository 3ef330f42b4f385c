"""Sample weights: design weights, post-stratification, raking, calibration, trimming.

Pure numpy/scipy implementations of R ``survey``'s ``postStratify``, ``rake``,
``calibrate`` and ``trimWeights`` (Lumley 2010, ch. 7). Every function takes the
current weights and returns a frozen :class:`WeightingResult` (new read-only
weights, a :class:`WeightingReport` of diagnostics and, where R keeps one, the
variance adjustment). Inputs are never modified.

References
----------
Deming, W. E. & Stephan, F. F. (1940). On a least squares adjustment of a sampled
frequency table when the expected marginal totals are known. Ann. Math. Statist.
11, 427-444.
Deville, J.-C. & Särndal, C.-E. (1992). Calibration estimators in survey sampling.
JASA 87, 376-382.
Kalton, G. & Flores-Cervantes, I. (2003). Weighting methods. J. Official
Statistics 19(2), 81-97.
Kish, L. (1965). Survey Sampling. Wiley.
Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R, ch. 7. Wiley.
"""

from ._common import (
    CalibrationConvergenceError,
    EmptyCellsError,
    WeightingConvergenceWarning,
    WeightingReport,
    WeightingResult,
    weight_diagnostics,
)
from .adjustments import Calibration, PostStratification, Raking
from .calibrate import CALIBRATION_FUNCTIONS, AuxiliaryMatrix, calibrate, calibrate_matrix
from .design_weights import stage_weights, stratum_weights
from .poststratify import poststratify
from .rake import rake
from .trim import trim_weights

__all__ = [
    "CALIBRATION_FUNCTIONS",
    "AuxiliaryMatrix",
    "Calibration",
    "CalibrationConvergenceError",
    "EmptyCellsError",
    "PostStratification",
    "Raking",
    "WeightingConvergenceWarning",
    "WeightingReport",
    "WeightingResult",
    "calibrate",
    "calibrate_matrix",
    "poststratify",
    "rake",
    "stage_weights",
    "stratum_weights",
    "trim_weights",
    "weight_diagnostics",
]
