"""Properties of analysis.small_area that follow from the model, not from R."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.small_area import (
    arcsin_back_transform,
    arcsin_transform,
    benchmark,
    fay_herriot,
    gvf_proportions,
    gvf_smooth,
)


def simulated(m: int = 30, seed: int = 1, sigma2: float = 0.01) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    x = np.column_stack([np.ones(m), rng.uniform(0, 1, m)])
    psi = rng.uniform(0.004, 0.02, m)
    theta = x @ np.array([0.3, 0.4]) + rng.normal(0, math.sqrt(sigma2), m)
    y = theta + rng.normal(0, np.sqrt(psi))
    return y, psi, x


@pytest.mark.parametrize("method", ["reml", "ml"])
def test_eblup_is_between_direct_and_synthetic(method: str) -> None:
    y, psi, x = simulated()
    r = fay_herriot(y, psi, x, method=method)
    assert r.sigma2_u > 0 and r.converged
    lo = np.minimum(y, r.synthetic)
    hi = np.maximum(y, r.synthetic)
    assert np.all((r.eblup >= lo - 1e-15) & (r.eblup <= hi + 1e-15))
    np.testing.assert_allclose(r.gamma, r.sigma2_u / (r.sigma2_u + psi))


def test_larger_sampling_variance_means_more_shrinkage() -> None:
    y, psi, x = simulated()
    r = fay_herriot(y, psi, x)
    order = np.argsort(psi)
    assert np.all(np.diff(r.gamma[order]) <= 0)


def test_mse_below_direct_variance_when_areas_are_many() -> None:
    y, psi, x = simulated(m=60)
    r = fay_herriot(y, psi, x)
    assert np.all(r.mse < psi)
    assert np.all(r.g1 <= psi)


def test_score_is_zero_at_the_estimate() -> None:
    """REML: tr(P) = y'PPy at an interior solution (the score equation)."""
    y, psi, x = simulated()
    r = fay_herriot(y, psi, x)
    vi = 1 / (r.sigma2_u + psi)
    xtvi = (x * vi[:, None]).T
    p = np.diag(vi) - xtvi.T @ np.linalg.solve(xtvi @ x, xtvi)
    py = p @ y
    assert np.trace(p) == pytest.approx(py @ py, rel=1e-10)


def test_reml_at_zero_when_direct_lies_on_the_line() -> None:
    rng = np.random.default_rng(3)
    x = np.column_stack([np.ones(15), rng.uniform(0, 1, 15)])
    psi = np.full(15, 0.02)
    y = x @ np.array([1.0, 2.0]) + rng.normal(0, 0.01, 15)
    r = fay_herriot(y, psi, x)
    assert r.at_zero and r.sigma2_u == 0.0
    assert np.all(r.gamma == 0)
    # g1 = 0 and g3 = 2 psi^-1 / sum psi^-2 = 2 / m * ... for equal psi: 2 psi / m
    np.testing.assert_allclose(r.g3, 2 * 0.02 / 15)


def test_ml_mse_adds_the_bias_term() -> None:
    """ML MSE = g1 + g2 + 2 g3 - b_ML B^2 with b_ML < 0 (ML underestimates sigma2_u)."""
    y, psi, x = simulated()
    r = fay_herriot(y, psi, x, method="ml")
    b = psi / (r.sigma2_u + psi)
    extra = r.mse - (r.g1 + r.g2 + 2 * r.g3)
    assert np.all(extra > 0)
    bml = -extra / b**2
    np.testing.assert_allclose(bml, bml[0])


def test_unsampled_area_mse_is_limit_of_large_variance() -> None:
    y, psi, x = simulated()
    y2 = y.copy()
    y2[0] = np.nan
    r = fay_herriot(y2, psi, x)
    assert r.eblup[0] == r.synthetic[0]
    # sigma2 + x'Qx: the sampled formula as psi -> infinity
    vi = 1 / (r.sigma2_u + psi[1:])
    q = np.linalg.inv((x[1:] * vi[:, None]).T @ x[1:])
    assert r.mse[0] == pytest.approx(r.sigma2_u + x[0] @ q @ x[0], rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "bayes"}, "method must be one of reml, ml"),
    ],
)
def test_bad_method(kwargs: dict[str, str], message: str) -> None:
    y, psi, x = simulated()
    with pytest.raises(ValueError, match=message):
        fay_herriot(y, psi, x, **kwargs)


def test_input_errors_are_clear() -> None:
    y, psi, x = simulated(m=5)
    bad = psi.copy()
    bad[2] = 0
    with pytest.raises(ValueError, match=r"positive for every area.*'3'"):
        fay_herriot(y, bad, x)
    with pytest.raises(ValueError, match="need more areas than covariates"):
        fay_herriot(y[:2], psi[:2], x[:2])
    with pytest.raises(ValueError, match="collinear"):
        fay_herriot(y, psi, np.column_stack([x, 2 * x[:, 1]]))
    xx = x.copy()
    xx[1, 1] = np.nan
    with pytest.raises(ValueError, match="covariates missing"):
        fay_herriot(y, psi, xx)
    with pytest.raises(ValueError, match="one row per area"):
        fay_herriot(y, psi, x[:3])


def test_arcsin_transform_variance_and_round_trip() -> None:
    y, psi = arcsin_transform([0.25, 0.5, np.nan], [100, 25, 10])
    np.testing.assert_allclose(y[:2], [math.pi / 6, math.pi / 4])
    np.testing.assert_allclose(psi[:2], [1 / 400, 1 / 100])
    assert np.isnan(psi[2])
    p, _ = arcsin_back_transform(y[:2], [0.0, 0.0])
    np.testing.assert_allclose(p, [0.25, 0.5])
    naive, _ = arcsin_back_transform([0.3], [0.01], bias_correction=False)
    corrected, _ = arcsin_back_transform([0.3], [0.01])
    assert corrected[0] > naive[0]  # sin^2 is convex near 0: Jensen
    with pytest.raises(ValueError, match="between 0 and 1"):
        arcsin_transform([1.2], [10])


def test_benchmark_adds_up_and_costs_mse() -> None:
    est = np.array([0.6, 0.7, 0.8])
    mse = np.array([0.001, 0.002, 0.003])
    w = np.array([1.0, 2.0, 1.0])
    for method in ("ratio", "difference"):
        b = benchmark(est, mse, w, 0.72, method=method)
        assert (w / w.sum()) @ b.estimate == pytest.approx(0.72)
        np.testing.assert_allclose(b.mse, mse + (b.estimate - est) ** 2)
    diff = benchmark(est, mse, w, 0.72, method="difference")
    np.testing.assert_allclose(diff.estimate - est, 0.02)
    with pytest.raises(ValueError, match="ratio, difference"):
        benchmark(est, mse, w, 0.7, method="raking")


def test_gvf_replaces_only_few_psu_variances() -> None:
    n = np.array([20, 40, 80, 160, 30, 60.0])
    psi = 0.5 / n
    psi[4] = 0.5  # a wild variance from 2 PSUs
    k = np.array([8, 8, 10, 12, 2, 3])
    g = gvf_smooth(psi, n, k, min_psu=6)
    assert g.smoothed.tolist() == [False, False, False, False, True, True]
    np.testing.assert_allclose(g.variance[:4], psi[:4])
    np.testing.assert_allclose(g.variance[4:], 0.5 / n[4:])
    np.testing.assert_allclose(g.coef, [math.log(0.5), -1.0], atol=1e-12)
    with pytest.raises(ValueError, match="at least 3 areas"):
        gvf_smooth(psi, n, np.full(6, 2))


def test_gvf_for_proportions_pools_the_design_effect() -> None:
    p = np.array([0.8, 0.7, 0.9, np.nan])
    n = np.array([48.0, 48.0, 96.0, 48.0])
    deff = 1.6
    psi = deff * p * (1 - p) / n
    psi[1] *= 3  # one wild direct variance
    g = gvf_proportions(p, psi, n, [True, True, False, True])
    b = np.nansum(psi * n) / np.nansum(p * (1 - p))
    p_bar = (0.8 * 48 + 0.7 * 48 + 0.9 * 96) / 192
    assert g.coef == pytest.approx((b, p_bar))
    np.testing.assert_allclose(g.variance[:2], b * p_bar * (1 - p_bar) / 48)
    assert g.variance[2] == psi[2] and np.isnan(g.variance[3])
    assert g.smoothed.tolist() == [True, True, False, False]
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        gvf_proportions([1.0, 1.0], [0.0, 0.0], [10, 10], [True, True])
