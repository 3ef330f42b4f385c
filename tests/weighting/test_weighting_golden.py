"""Weights from analysis.weighting against R's survey package (golden_weights.json).

Each case's expected weights are ``weights(design)`` after the R call stored in the
case (``tests/reference/make_golden_weights.R``; R 4.2.2, survey 4.1.1) on the api
samples of R's ``survey`` package with targets from ``apipop``.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.weighting import WeightingConvergenceWarning
from tests.helpers.weighting_golden import apply_case, expected_warning, golden_cases

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
    from analysis.weighting import stage_weights, stratum_weights
    from tests.helpers.weighting_golden import dataset, design_weights

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


def test_rake_to_contradictory_margins_warns_and_reports_not_converged():
    """Margins that cannot all be met (golden ``rake_contradictory``).

    R (``case["call"]``) returns these weights, reports convergence and warns nothing
    (``r_warnings`` is empty): the passes stop changing after the first one. We return
    the same weights, warn, and the report says not converged with the margin error.
    """
    from analysis.weighting import rake
    from tests.helpers.weighting_golden import dataset, design_weights, golden

    case = golden()["rake_contradictory"]
    assert case["r_warnings"] == []
    data = dataset(case["dataset"])
    crossed = case["crossed_margin"]
    margins = {
        "stype": case["stype_margin"],
        ("stype", "sch.wide"): {
            (s, w): t
            for s, w, t in zip(
                crossed["stype"], crossed["sch.wide"], crossed["target"], strict=True
            )
        },
    }
    with pytest.warns(WeightingConvergenceWarning, match="contradict") as record:
        result = rake(design_weights(case["dataset"]), data, margins)
    np.testing.assert_allclose(result.weights, case["weights"], rtol=1e-8, atol=0)
    achieved = [result.weights[data["stype"] == s].sum() for s in ("E", "H", "M")]
    np.testing.assert_allclose(achieved, case["achieved_stype"], rtol=1e-8)
    report = result.report
    assert report.converged is False
    # misses: E 500 of 4000, H 200 of 1000, M 300 of 1194 (the largest relative, 25%)
    assert report.max_margin_error == pytest.approx(300 / 1194, rel=1e-8)
    message = str(record[0].message)
    assert "largest margin error 500 weighted units" in message
    assert "np.float64" not in message
    assert report.messages and "contradict" in report.messages[0]
