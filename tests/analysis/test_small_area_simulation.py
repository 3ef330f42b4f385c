"""Simulation with known truth: the Fay–Herriot EBLUP and its MSE estimator.

Repeated draws from the model itself (the setting in which Prasad–Rao and
Datta–Lahiri are second-order unbiased): 50 communes with fixed covariates and
sampling variances (0.002–0.02 against sigma2_u = 0.01), new area effects u_d and
sampling errors e_d in each of ``REPS`` = 2000 repetitions (seeded generators, no
global seeding), and a second scenario like the demo's: commune satisfaction rates
driven by the feedback rate, binomial samples of 15–120 respondents with design
effect 1.5, modelled on the arcsine scale.

Checked, averaged over communes and repetitions:

* the 95% intervals EBLUP ± 1.96·sqrt(mse) cover the true commune value 93–97% of
  the time;
* the empirical MSE of the EBLUP is below the direct estimates';
* the average estimated MSE is within 15% of the empirical MSE.

Measured (these seeds; coverage / estimated-to-empirical MSE / EBLUP-to-direct MSE):
REML 0.941 / 0.99 / 0.47; ML 0.940 / 0.99 / 0.47; arcsine scenario 0.947 / 1.01 /
0.48; over five other seeds REML coverage stayed within 0.942–0.944. A commune
without a sample: estimated-to-empirical MSE 0.97, coverage 0.914 (below nominal,
see the test). About 3 s in all.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.small_area import arcsin_back_transform, arcsin_transform, fay_herriot

REPS = 2000
M = 50
Z95 = 1.959963984540054


def design(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = np.column_stack([np.ones(M), rng.uniform(0.0, 1.0, M)])
    psi = rng.uniform(0.002, 0.02, M)
    return x, psi


def summarise(truth: np.ndarray, eblup: np.ndarray, mse: np.ndarray, direct: np.ndarray):
    covered = np.abs(eblup - truth) <= Z95 * np.sqrt(mse)
    emp_mse = np.mean((eblup - truth) ** 2)
    direct_mse = np.nanmean((direct - truth) ** 2)
    return float(covered.mean()), float(mse.mean() / emp_mse), float(emp_mse / direct_mse)


@pytest.mark.parametrize("method", ["reml", "ml"])
def test_normal_model_coverage_and_mse(method: str) -> None:
    rng = np.random.default_rng(18)
    x, psi = design(rng)
    beta, sigma2 = np.array([0.4, 0.3]), 0.01
    truth = np.empty((REPS, M))
    eblup = np.empty((REPS, M))
    mse = np.empty((REPS, M))
    direct = np.empty((REPS, M))
    for r in range(REPS):
        theta = x @ beta + rng.normal(0.0, math.sqrt(sigma2), M)
        y = theta + rng.normal(0.0, np.sqrt(psi))
        fit = fay_herriot(y, psi, x, method=method)
        truth[r], eblup[r], mse[r], direct[r] = theta, fit.eblup, fit.mse, y
    coverage, ratio, gain = summarise(truth, eblup, mse, direct)
    assert 0.93 <= coverage <= 0.97, coverage
    assert abs(ratio - 1) <= 0.15, ratio
    assert gain < 1, gain


def test_unsampled_area_synthetic_mse_is_honest() -> None:
    """One commune without a sample: its synthetic estimate's MSE is estimated right."""
    rng = np.random.default_rng(19)
    x, psi = design(rng)
    beta, sigma2 = np.array([0.4, 0.3]), 0.01
    err2 = np.empty(REPS)
    est = np.empty(REPS)
    for r in range(REPS):
        theta = x @ beta + rng.normal(0.0, math.sqrt(sigma2), M)
        y = theta + rng.normal(0.0, np.sqrt(psi))
        y[0] = np.nan
        fit = fay_herriot(y, psi, x)
        err2[r] = (fit.eblup[0] - theta[0]) ** 2
        est[r] = fit.mse[0]
    ratio = est.mean() / err2.mean()
    assert abs(ratio - 1) <= 0.15, ratio
    # The plug-in interval ignores the noise in sigma2_u-hat, which for a synthetic
    # estimate (gamma = 1 on u_d) weighs fully: coverage measured 0.92-0.93 over
    # seeds, below nominal, which the README states; checked against a floor.
    coverage = np.mean(err2 <= Z95**2 * est)
    assert 0.90 <= coverage <= 0.97, coverage


def test_demo_like_rates_on_the_arcsine_scale() -> None:
    """Commune satisfaction rates from a covariate (the feedback rate), binomial
    samples with design effect 1.5, FH on asin(sqrt(p)) with psi = 1/(4 n_eff) and
    the bias-corrected back-transformation."""
    rng = np.random.default_rng(18)
    feedback = rng.uniform(0.45, 0.9, M)
    n = rng.integers(15, 121, M)
    deff = 1.5
    n_eff = n / deff
    x = np.column_stack([np.ones(M), feedback])
    truth = np.empty((REPS, M))
    eblup = np.empty((REPS, M))
    mse = np.empty((REPS, M))
    direct = np.empty((REPS, M))
    for r in range(REPS):
        p = np.sin(0.15 + 0.75 * feedback + rng.normal(0.0, 0.08, M)) ** 2
        # an effective-n binomial: the design effect inflates the variance by deff
        hits = rng.binomial(np.maximum(np.round(n_eff).astype(int), 1), p)
        p_hat = hits / np.maximum(np.round(n_eff), 1)
        y, psi = arcsin_transform(p_hat, np.maximum(np.round(n_eff), 1))
        fit = fay_herriot(y, psi, x)
        eblup[r], mse[r] = arcsin_back_transform(fit.eblup, fit.mse)
        truth[r], direct[r] = p, p_hat
    coverage, ratio, gain = summarise(truth, eblup, mse, direct)
    assert 0.93 <= coverage <= 0.97, coverage
    assert abs(ratio - 1) <= 0.15, ratio
    assert gain < 1, gain
