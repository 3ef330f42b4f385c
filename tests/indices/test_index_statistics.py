"""analysis.indices from sufficient statistics equals the row-level engine.

The engine (analysis.estimators / analysis.variance) is itself checked against R's
survey package in tests/analysis; here the sufficient-statistics path must agree
with it to 1e-10 on simulated stratified cluster data with domains.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from analysis import estimators
from analysis.design import Design
from analysis.indices import (
    AspectSpec,
    ItemColumns,
    build_formulas,
    difference,
    estimate_indices,
    estimate_trend,
)
from analysis.variance import design_covariance
from tests.helpers.index_data import ASPECTS, ITEMS, row_columns, simulate, sufficient_statistics


@pytest.fixture(params=[1, 2, 3])
def data(request: pytest.FixtureRequest) -> dict[str, np.ndarray]:
    return simulate(request.param)


def test_pooled_aspect_rate_equals_the_engines_domain_ratio(data: dict[str, np.ndarray]) -> None:
    layout = ItemColumns(ITEMS)
    formulas = build_formulas(ASPECTS, layout)
    table = estimate_indices(sufficient_statistics(data, layout, 4), formulas)
    design = Design.from_arrays(data["w"], strata=data["strata"], ids=data["psu"])
    cols = row_columns(data, layout)
    num = cols[:, list(layout.columns(("b1", "b2", "b3"), "S"))].sum(axis=1)
    den = cols[:, list(layout.columns(("b1", "b2", "b3"), "V"))].sum(axis=1)
    engine = estimators.ratio(design, num, den, by=data["domain"])
    for d in range(4):
        ours = table.get("aspect:b", "rate", d)
        assert ours.value == pytest.approx(engine[d].value, rel=1e-12)
        assert ours.se == pytest.approx(engine[d].se, rel=1e-10)
        assert ours.df == engine[d].df  # the domain's own PSUs minus strata, as svyby


def test_overall_mean_of_aspects_equals_row_level_linearization(
    data: dict[str, np.ndarray],
) -> None:
    layout = ItemColumns(ITEMS)
    formula = build_formulas(ASPECTS, layout)[0]
    assert (formula.code, formula.kind) == ("overall", "rate")
    totals = sufficient_statistics(data, layout, 4)
    table = estimate_indices(totals, [formula])
    design = Design.from_arrays(data["w"], strata=data["strata"], ids=data["psu"])
    weighted = row_columns(data, layout) * data["w"][:, None]
    scores = np.zeros((design.n, 4))
    for d in range(4):
        inside = data["domain"] == d
        value, gradient = formula.value_and_gradient(weighted[inside].sum(axis=0))
        assert table.get("overall", "rate", d).value == pytest.approx(value, rel=1e-12)
        scores[inside, d] = weighted[inside] @ gradient
    cov = design_covariance(design, scores)
    np.testing.assert_allclose(table.covariance[("overall", "rate")], cov, rtol=1e-10, atol=1e-16)


def test_mean_of_aspects_is_the_mean_of_the_aspect_rates(data: dict[str, np.ndarray]) -> None:
    layout = ItemColumns(ITEMS)
    table = estimate_indices(
        sufficient_statistics(data, layout, 4), build_formulas(ASPECTS, layout)
    )
    for d in range(4):
        rates = [table.get(f"aspect:{a.code}", "rate", d).value for a in ASPECTS]
        assert table.get("overall", "rate", d).value == pytest.approx(np.mean(rates), rel=1e-12)


def test_weighted_and_item_overall_rules(data: dict[str, np.ndarray]) -> None:
    layout = ItemColumns(ITEMS)
    weighted_rule = build_formulas(ASPECTS, layout, overall_method="weighted_mean_of_aspects")
    item_rule = build_formulas(ASPECTS, layout, overall_method="item", overall_item="ov")
    totals = sufficient_statistics(data, layout, 4)
    a = estimate_indices(totals, weighted_rule)
    b = estimate_indices(totals, item_rule)
    design = Design.from_arrays(data["w"], strata=data["strata"], ids=data["psu"])
    ov = data["answers"][:, ITEMS.index("ov")]
    engine = estimators.mean(design, np.where(np.isnan(ov), np.nan, ov >= 4), by=data["domain"])
    for d in range(4):
        ra, rb = (a.get(f"aspect:{x.code}", "rate", d).value for x in ASPECTS)
        assert a.get("overall", "rate", d).value == pytest.approx((2 * ra + rb) / 3, rel=1e-12)
        assert b.get("overall", "rate", d).value == pytest.approx(engine[d].value, rel=1e-12)
        assert b.get("overall", "rate", d).se == pytest.approx(engine[d].se, rel=1e-10)


def test_scores_are_on_0_to_100_and_kish_n_eff(data: dict[str, np.ndarray]) -> None:
    layout = ItemColumns(ITEMS)
    table = estimate_indices(
        sufficient_statistics(data, layout, 4), build_formulas(ASPECTS, layout)
    )
    for d in range(4):
        score = table.get("overall", "score", d)
        assert 0 <= score.ci_low < score.value < score.ci_high <= 100
        # n and n_eff over the domain's respondents with a valid answer to an index
        # item (R: sum(!is.na(...)) on the svyby subset); with 15% of answers missing
        # at random and six items, almost every respondent answered one of them.
        valid = ~np.isnan(data["answers"][:, :5]).all(axis=1)  # the aspects' items
        w = data["w"][(data["domain"] == d) & valid]
        assert score.n == w.size
        assert score.n_eff == pytest.approx(w.sum() ** 2 / (w**2).sum(), rel=1e-12)
        aspect_a = table.get("aspect:a", "score", d)
        a_valid = ~np.isnan(data["answers"][:, :2]).all(axis=1)  # items a1, a2
        w_a = data["w"][(data["domain"] == d) & a_valid]
        assert aspect_a.n == w_a.size < (data["domain"] == d).sum()
        assert aspect_a.n_eff == pytest.approx(w_a.sum() ** 2 / (w_a**2).sum(), rel=1e-12)


def test_unknown_methods_are_errors() -> None:
    layout = ItemColumns(ITEMS)
    with pytest.raises(ValueError, match="unknown aspect method"):
        build_formulas(ASPECTS, layout, aspect_method="median")
    with pytest.raises(ValueError, match="unknown overall method"):
        build_formulas(ASPECTS, layout, overall_method="best")
    with pytest.raises(ValueError, match="no totals column"):
        build_formulas((AspectSpec("x", ("zz",)),), layout)


def test_difference_of_independent_estimates() -> None:
    result = difference(0.772, 0.579, 0.02**2, 0.025**2, df=40)
    assert result.value == pytest.approx(0.193)
    assert result.se == pytest.approx(np.hypot(0.02, 0.025))
    assert result.p_value < 0.001
    same = difference(0.5, 0.5, 0.01, 0.01, 0.01, df=10)
    assert same.se == 0.0 and same.p_value == 1.0


def test_restricted_totals_keep_their_domains_estimates(data: dict[str, np.ndarray]) -> None:
    """Dropping the rows of other domains changes none of the kept domains' figures or
    trend: their rows enter the variance with zero scores, and ``n_psu`` keeps every
    PSU of the design (the overview's trend is read from its series this way)."""
    layout = ItemColumns(ITEMS)
    formulas = build_formulas(ASPECTS, layout)
    totals = sufficient_statistics(data, layout, 4)
    kept = [3, 1]
    restricted = totals.restricted(kept)
    assert restricted.n_domains == 2 and restricted.values.shape[0] < totals.values.shape[0]
    whole, part = estimate_indices(totals, formulas), estimate_indices(restricted, formulas)
    for formula in formulas:
        for new, old in enumerate(kept):
            a = part.get(formula.code, formula.kind, new)
            b = whole.get(formula.code, formula.kind, old)
            assert (a.value, a.se, a.df, a.n, a.n_eff) == pytest.approx(
                (b.value, b.se, b.df, b.n, b.n_eff), rel=1e-12
            )
        cov_part = part.covariance[(formula.code, formula.kind)]
        cov_whole = whole.covariance[(formula.code, formula.kind)][np.ix_(kept, kept)]
        np.testing.assert_allclose(cov_part, cov_whole, rtol=1e-12, atol=1e-18)
    slope = estimate_trend(restricted, formulas[0], [2018.0, 2019.0])
    # the same two domains alone, built from their respondents only
    inside = np.isin(data["domain"], kept)
    alone = {k: v[inside] for k, v in data.items()}
    alone["domain"] = np.where(alone["domain"] == kept[0], 0, 1)
    own = sufficient_statistics(alone, layout, 2)
    # n_psu from the whole design: the other domains' PSUs still count
    own = replace(own, n_psu=totals.n_psu)
    expected = estimate_trend(own, formulas[0], [2018.0, 2019.0])
    assert (slope.value, slope.se, slope.df) == pytest.approx(
        (expected.value, expected.se, expected.df), rel=1e-10
    )
