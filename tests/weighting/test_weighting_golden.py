"""Weights from analysis.weighting against R's survey package (golden_weights.json).

Each case's expected weights are ``weights(design)`` after the R call stored in the
case (``tests/reference/make_golden_weights.R``; R 4.2.2, survey 4.1.1) on the api
samples of R's ``survey`` package with targets from ``apipop``.
"""

from __future__ import annotations

import numpy as np
import pytest
from weighting_helpers import apply_case, expected_warning, golden_cases

from analysis.weighting import WeightingConvergenceWarning

CASES = golden_cases()


def _run(case):
    if not expected_warning(case):
        return apply_case(case)
    category = UserWarning if case["spec"].get("partial") else WeightingConvergenceWarning
    with pytest.warns(category):  # R warned too (case["r_warnings"])
        return apply_case(case)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_weights_match_r(case):
    result = _run(case)
    np.testing.assert_allclose(result.weights, case["weights"], rtol=1e-8, atol=0)
    assert result.report.n == len(case["weights"])
    r_warnings = (
        case["r_warnings"] if isinstance(case["r_warnings"], list) else [case["r_warnings"]]
    )
    not_converged = [w for w in r_warnings if "did not converge" in w]
    assert result.report.converged == (not not_converged)
    if not_converged:  # R: "Raking did not converge after <passes> iterations."
        assert f"after {result.report.iterations} iterations" in not_converged[0]


@pytest.mark.parametrize(
    "name", ["apisrs", "apistrat", "apiclus1"], ids=["apisrs", "apistrat", "apiclus1"]
)
def test_design_weights_match_r(name):
    """Base weights of the three designs (``weights(svydesign(...))`` in the golden file)."""
    from weighting_helpers import dataset, design_weights

    from analysis.weighting import stage_weights, stratum_weights

    data = dataset(name)
    n = data["fpc"].size
    if name == "apiclus1":
        n_psu = np.unique(data["dnum"]).size  # 15 districts out of fpc = 757
        result = stage_weights(n_psu / data["fpc"])
    else:
        strata = data["stype"] if name == "apistrat" else np.zeros(n, dtype=int)
        sizes = dict(zip(strata.tolist(), data["fpc"].tolist(), strict=True))
        result = stratum_weights(strata, sizes)
    np.testing.assert_allclose(result.weights, design_weights(name), rtol=1e-12, atol=0)
