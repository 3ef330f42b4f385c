"""Behaviour of analysis.weighting beyond the R golden values: errors, reports, purity.

Numbers here are small hand calculations, stated next to each check.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.weighting import (
    WeightingConvergenceWarning,
    calibrate,
    calibrate_matrix,
    poststratify,
    rake,
    stage_weights,
    stratum_weights,
    trim_weights,
    weight_diagnostics,
)

DATA = {"g": np.array(["a", "a", "b", "b", "b"]), "h": np.array(["x", "y", "x", "y", "y"])}
W = np.array([1.0, 2.0, 1.0, 1.0, 2.0])


def test_report_kish_formulas():
    # by hand: w = (1, 1, 2, 4): sum 8, sum w^2 22, n_eff = 64/22, deff = 4 * 22 / 64
    r = weight_diagnostics(np.array([1.0, 1.0, 2.0, 4.0]), method="design")
    assert r.n_eff == pytest.approx(64 / 22, rel=1e-15)
    assert r.deff_weighting == pytest.approx(88 / 64, rel=1e-14)
    assert r.deff_weighting == pytest.approx(1 + r.weight_cv**2, rel=1e-14)
    assert (r.weight_min, r.weight_median, r.weight_max) == (1.0, 1.5, 4.0)
    assert r.to_dict()["max_margin_error"] is None


def test_inputs_not_mutated_and_outputs_read_only():
    w = W.copy()
    data = {k: v.copy() for k, v in DATA.items()}
    r = rake(w, data, {"g": {"a": 4, "b": 6}, "h": {"x": 5, "y": 5}}, epsilon=1e-10, maxit=100)
    np.testing.assert_array_equal(w, W)
    for k in DATA:
        np.testing.assert_array_equal(data[k], DATA[k])
    with pytest.raises(ValueError):
        r.weights[0] = 1.0
    with pytest.raises(AttributeError):
        r.report.converged = False  # frozen dataclass


def test_poststratify_by_hand():
    # cell a: weights 1 + 2 = 3 -> target 6 (factor 2); cell b: 1 + 1 + 2 = 4 -> 2 (factor 0.5)
    r = poststratify(W, DATA, "g", {"a": 6, "b": 2})
    np.testing.assert_allclose(r.weights, [2, 4, 0.5, 0.5, 1], rtol=1e-15)
    assert r.report.max_margin_error < 1e-15
    assert r.report.method == "poststratify"


def test_poststratify_empty_cell_is_named():
    targets = {("a", "x"): 1, ("a", "y"): 1, ("b", "x"): 1, ("b", "y"): 1, ("c", "x"): 3}
    with pytest.raises(ValueError, match="g=c, h=x"):
        poststratify(W, DATA, ("g", "h"), targets)


def test_poststratify_partial_ignores_empty_cell_with_warning():
    targets = {"a": 6, "b": 2, "c": 5}
    with pytest.warns(UserWarning, match="g=c"):
        r = poststratify(W, DATA, "g", targets, partial=True)
    np.testing.assert_allclose(r.weights, [2, 4, 0.5, 0.5, 1], rtol=1e-15)
    assert r.report.messages and r.report.max_margin_error == 1.0  # cell c: 0 of 5


def test_poststratify_unit_without_target():
    with pytest.raises(ValueError, match="g=b"):
        poststratify(W, DATA, "g", {"a": 6})


def test_rake_errors():
    with pytest.raises(ValueError, match="margin totals disagree"):
        rake(W, DATA, {"g": {"a": 4, "b": 6}, "h": {"x": 5, "y": 6}})
    with pytest.raises(ValueError, match=r"no population target.*h=z"):
        rake(
            W,
            {**DATA, "h": np.array(["x", "y", "z", "y", "y"])},
            {"g": {"a": 4, "b": 6}, "h": {"x": 5, "y": 5}},
        )
    with pytest.raises(ValueError, match="no respondents: h=z"):
        rake(W, DATA, {"g": {"a": 4, "b": 6}, "h": {"x": 5, "y": 4, "z": 1}})
    with pytest.raises(ValueError, match="missing"):
        rake(
            W,
            {**DATA, "g": np.array(["a", None, "b", "b", "b"], dtype=object)},
            {"g": {"a": 4, "b": 6}, "h": {"x": 5, "y": 5}},
        )


def test_rake_nonconvergence_warns_and_reports():
    with pytest.warns(WeightingConvergenceWarning, match="did not converge after 1 passes"):
        r = rake(W, DATA, {"g": {"a": 4, "b": 6}, "h": {"x": 3, "y": 7}}, maxit=1, epsilon=1e-12)
    assert not r.report.converged and r.report.iterations == 1
    assert "did not converge" in r.report.messages[0]


def test_rake_converges_to_both_margins():
    r = rake(W, DATA, {"g": {"a": 4, "b": 6}, "h": {"x": 3, "y": 7}}, maxit=200, epsilon=1e-12)
    assert r.report.converged
    assert r.report.max_margin_error < 1e-9


def test_calibrate_unknown_calfun_lists_valid():
    with pytest.raises(ValueError, match="linear, logit, raking"):
        calibrate(W, DATA, {"g": {"a": 4, "b": 6}}, calfun="lin")


def test_calibrate_failure_raises_unless_forced():
    # bounds [0.9, 1.1] cannot move the total from 7 to 20
    X = np.ones((5, 1))
    with pytest.raises(ValueError, match="failed to converge"):
        calibrate_matrix(W, X, [20.0], bounds=(0.9, 1.1), maxit=5)
    with pytest.warns(WeightingConvergenceWarning):
        r = calibrate_matrix(W, X, [20.0], bounds=(0.9, 1.1), maxit=5, force=True)
    assert not r.report.converged


def test_calibrate_totals_must_agree():
    with pytest.raises(ValueError, match="population sizes"):
        calibrate(W, DATA, {"g": {"a": 4, "b": 6}, "h": {"x": 5, "y": 6}})


def test_calibrate_collinear_linear():
    X = np.column_stack([np.ones(5), 2 * np.ones(5)])
    with pytest.raises(ValueError, match="collinear"):
        calibrate_matrix(W, X, [10.0, 20.0])


def test_calibrate_numeric_total_by_hand():
    # one numeric auxiliary x without intercept: w_i = d_i (1 + x_i l), with
    # l = (T - sum d x) / sum d x^2; d = 1, x = (1, 2): l = (8 - 3) / 5 = 1 -> w = (2, 3)
    r = calibrate([1.0, 1.0], {"x": [1.0, 2.0]}, {"x": 8.0})
    np.testing.assert_allclose(r.weights, [2.0, 3.0], rtol=1e-15)


def test_trim_one_pass_and_strict():
    # by hand: w = (1, 1, 1, 1, 6), upper 3: excess 3 spread over 4 units -> (1.75 x 4, 3)
    w = np.array([1.0, 1.0, 1.0, 1.0, 6.0])
    r = trim_weights(w, upper=3)
    np.testing.assert_allclose(r.weights, [1.75, 1.75, 1.75, 1.75, 3.0], rtol=1e-15)
    assert r.report.n_trimmed == 1 and r.report.iterations == 1
    # w = (1, 1, 2, 4, 4), upper 2.5: excess 3 over 3 units gives (2, 2, 3, 2.5, 2.5),
    # so one pass leaves a weight above the bound; strict repeats until none is
    w2 = np.array([1.0, 1.0, 2.0, 4.0, 4.0])
    one = trim_weights(w2, upper=2.5)
    np.testing.assert_allclose(one.weights, [2.0, 2.0, 3.0, 2.5, 2.5], rtol=1e-15)
    strict = trim_weights(w2, upper=2.5, strict=True)
    assert strict.weights.max() <= 2.5 and strict.report.iterations > 1
    assert strict.weights.sum() == pytest.approx(12.0, rel=1e-14)
    with pytest.raises(ValueError, match="cannot hold"):
        trim_weights(w2, upper=2.0, strict=True)


def test_design_weights():
    r = stratum_weights(["a", "a", "b"], {"a": 10, "b": 5, "c": 7})  # c not sampled
    np.testing.assert_array_equal(r.weights, [5.0, 5.0, 5.0])
    with pytest.raises(ValueError, match="stratum=a"):
        stratum_weights(["a", "a", "a"], {"a": 2})
    np.testing.assert_allclose(stage_weights([0.1, 0.5], [0.5, 0.2]).weights, [20.0, 10.0])
    with pytest.raises(ValueError, match="stage 2"):
        stage_weights([0.1, 0.5], [0.0, 0.2])


@pytest.mark.parametrize("bad", [[1.0, np.nan], [1.0, -1.0], [1.0, 0.0]])
def test_bad_weights(bad):
    with pytest.raises(ValueError, match="weights"):
        poststratify(bad, {"g": ["a", "b"]}, "g", {"a": 1, "b": 1})
