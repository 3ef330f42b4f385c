"""Trends, rank intervals, multiple-comparison adjustment and funnel limits."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from analysis.compare import funnel_limits, holm_adjust, rank_intervals, trend_slope_gradient
from analysis.design import Design
from analysis.indices import AspectSpec, ItemColumns, build_formulas, estimate_trend
from analysis.variance import design_covariance
from tests.helpers.index_data import sufficient_statistics


def test_holm_matches_statsmodels() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.2, 0.04])
    expected = multipletests(p, method="holm")[1]
    np.testing.assert_allclose(holm_adjust(p), expected, rtol=1e-15)


def test_ranks_and_intervals_are_reproducible() -> None:
    estimates = [0.8, 0.5, 0.65]
    cov = np.diag([0.0001, 0.0001, 0.0001])
    first = rank_intervals(estimates, cov, seed=7)
    again = rank_intervals(estimates, cov, seed=7)
    assert first.rank.tolist() == [1, 3, 2]
    assert first.rank_low.tolist() == first.rank_high.tolist() == [1, 3, 2]  # well apart
    np.testing.assert_array_equal(first.rank_low, again.rank_low)
    close = rank_intervals([0.50, 0.51, 0.52], np.diag([0.01**2] * 3), seed=7)
    assert close.rank_low.tolist() == [1, 1, 1] and close.rank_high.tolist() == [3, 3, 3]


def test_rank_intervals_cover_true_ranks_about_95_percent() -> None:
    """Coverage of simulation rank intervals on tables like a province's ranking.

    20 units with true rates spread evenly over 0.40-0.60 and SE 0.03 (a unit with
    about 250 respondents), 200 repetitions = 4,000 intervals. Rank intervals from
    simulating around the estimates are approximate: we measured 0.88 for nearly tied
    tables (spread 0.02) and 0.99 for well separated ones (spread 0.4, SE 0.02), and
    about 0.97 for this configuration; the test accepts 0.93 to 0.99.
    """
    rng = np.random.default_rng(2026)
    k, se = 20, 0.03
    truth = np.linspace(0.40, 0.60, k)
    true_rank = np.argsort(np.argsort(-truth)) + 1
    covered = 0
    for repetition in range(200):
        estimates = truth + rng.normal(0.0, se, k)
        ranking = rank_intervals(estimates, np.eye(k) * se**2, draws=2000, seed=repetition)
        covered += int(((ranking.rank_low <= true_rank) & (true_rank <= ranking.rank_high)).sum())
    coverage = covered / (200 * k)
    assert 0.93 <= coverage <= 0.99, coverage


def test_funnel_limits() -> None:
    limits = funnel_limits(0.7, [25, 100, 400])
    half95 = 1.959963984540054 * np.sqrt(0.21 / np.array([25, 100, 400]))
    np.testing.assert_allclose(limits.upper95 - 0.7, half95, rtol=1e-12)
    assert (limits.upper998 > limits.upper95).all() and (limits.lower998 < limits.lower95).all()
    with pytest.raises(ValueError, match="strictly between"):
        funnel_limits(1.0, [10])


def test_trend_slope_is_weighted_least_squares() -> None:
    times = np.array([2017.0, 2018.4, 2018.95])
    weights = np.array([100.0, 80.0, 120.0])
    values = np.array([0.45, 0.579, 0.772])
    slope, d_values, d_weights = trend_slope_gradient(times, weights, values)
    expected = np.polyfit(times, values, 1, w=np.sqrt(weights))[0]
    assert slope == pytest.approx(expected, rel=1e-10)
    step = 1e-6
    for w in range(3):
        bumped = values.copy()
        bumped[w] += step
        numeric = (trend_slope_gradient(times, weights, bumped)[0] - slope) / step
        assert d_values[w] == pytest.approx(numeric, rel=1e-4)
        heavier = weights.copy()
        heavier[w] += step
        numeric = (trend_slope_gradient(times, heavier, values)[0] - slope) / step
        assert d_weights[w] == pytest.approx(numeric, rel=1e-4, abs=1e-9)


def test_trend_equals_the_svyglm_sandwich_on_rows() -> None:
    """For a one-item index (a mean of a 0/1 variable) the slope and its SE equal the
    design-based linear regression of the indicator on time (R's ``svyglm``), computed
    here on the rows with the engine's variance routine."""
    rng = np.random.default_rng(5)
    n = 1200
    wave = rng.integers(0, 3, n)
    times = np.array([2017.0, 2018.4, 2018.95])
    answers = np.where(rng.random(n) < 0.45 + 0.15 * wave, 5.0, 2.0)[:, None]
    data = {
        "strata": rng.integers(0, 4, n),
        "w": rng.uniform(1, 3, n),
        "domain": wave,
        "answers": answers,
    }
    data["psu"] = data["strata"] * 100 + rng.integers(0, 8, n)
    layout = ItemColumns(("ov",))
    formula = build_formulas([], layout, overall_method="item", overall_item="ov")[0]
    trend = estimate_trend(sufficient_statistics(data, layout, 3), formula, times)
    # Row-level: WLS of y on t and its sandwich influence functions.
    y = (answers[:, 0] >= 4).astype(float)
    x = np.column_stack([np.ones(n), times[wave] - 2018.0])  # centred: well conditioned
    w = data["w"]
    xtwx = x.T @ (x * w[:, None])
    beta = np.linalg.solve(xtwx, x.T @ (w * y))
    influence = np.linalg.solve(xtwx, (x * (w * (y - x @ beta))[:, None]).T).T
    design = Design.from_arrays(w, strata=data["strata"], ids=data["psu"])
    variance = design_covariance(design, influence[:, 1])[0, 0]
    assert trend.slope == pytest.approx(beta[1], rel=1e-10)
    assert trend.se == pytest.approx(np.sqrt(variance), rel=1e-9)
    assert trend.df == design.degf - 1


def test_trend_needs_two_times() -> None:
    with pytest.raises(ValueError, match="two distinct times"):
        trend_slope_gradient([2018.0, 2018.0], [1.0, 1.0], [0.5, 0.6])


def test_aspect_formulas_need_aspects() -> None:
    with pytest.raises(ValueError, match="needs aspects"):
        build_formulas([], ItemColumns(("a",)))
    assert build_formulas([AspectSpec("a", ("a",))], ItemColumns(("a",)))[0].code == "overall"
