"""Survey statistics engine: designs, estimators, variances and intervals.

Pure numpy/scipy (no web or database code), matching R's ``survey`` package
(Lumley 2010). Typical use::

    from analysis import Design, mean, proportion, contrast
    d = Design.from_frame(df, weights="pw", strata="stype", fpc="fpc")
    est = mean(d, "api00", by="stype")
"""

from analysis.ci import INTERVAL_METHODS, PROPORTION_METHODS
from analysis.design import LONELY_PSU_RULES, Adjustment, Design
from analysis.estimators import contrast, mean, proportion, ratio, total
from analysis.replicates import (
    ReplicateDesign,
    bootstrap,
    from_replicate_weights,
    jk1,
    jkn,
    replicate_design_from_frame,
)
from analysis.results import DomainEstimates, Estimate
from analysis.variance import design_covariance, replicate_covariance, stratified_covariance

__all__ = [
    "INTERVAL_METHODS",
    "LONELY_PSU_RULES",
    "PROPORTION_METHODS",
    "Adjustment",
    "Design",
    "DomainEstimates",
    "Estimate",
    "ReplicateDesign",
    "bootstrap",
    "contrast",
    "design_covariance",
    "from_replicate_weights",
    "jk1",
    "jkn",
    "mean",
    "proportion",
    "ratio",
    "replicate_covariance",
    "replicate_design_from_frame",
    "stratified_covariance",
    "total",
]
