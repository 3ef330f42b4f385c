"""Survey statistics engine: designs, estimators, variances and intervals.

Pure numpy/scipy (no web or database code), matching R's ``survey`` package
(Lumley 2010). Typical use::

    from analysis import Design, mean, proportion, contrast
    d = Design.from_frame(df, weights="pw", strata="stype", fpc="fpc")
    est = mean(d, "api00", by="stype")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

#: Where each name of the package lives. They are imported when first used (PEP 562),
#: so that ``python -m analysis`` can start reading its data file
#: (:mod:`analysis.read_ahead`) before numpy, pandas and scipy are imported.
_HOMES = {
    "INTERVAL_METHODS": "analysis.ci",
    "PROPORTION_METHODS": "analysis.ci",
    "LONELY_PSU_RULES": "analysis.design",
    "Adjustment": "analysis.design",
    "Design": "analysis.design",
    "contrast": "analysis.estimators",
    "mean": "analysis.estimators",
    "proportion": "analysis.estimators",
    "ratio": "analysis.estimators",
    "total": "analysis.estimators",
    "ReplicateDesign": "analysis.replicates",
    "bootstrap": "analysis.replicates",
    "from_replicate_weights": "analysis.replicates",
    "jk1": "analysis.replicates",
    "jkn": "analysis.replicates",
    "replicate_design_from_frame": "analysis.replicates",
    "DomainEstimates": "analysis.results",
    "Estimate": "analysis.results",
    "design_covariance": "analysis.variance",
    "replicate_covariance": "analysis.variance",
    "stratified_covariance": "analysis.variance",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'analysis' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})


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
