"""analysis.indices from sufficient statistics equals the row-level engine.

The engine (analysis.estimators / analysis.variance) is itself checked against R's
survey package in tests/analysis; here the sufficient-statistics path must agree
with it to 1e-10 on simulated stratified cluster data with domains.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis import estimators
from analysis.design import Design
from analysis.indices import (
    AspectSpec,
    ItemColumns,
    PSUTotals,
    build_formulas,
    difference,
    estimate_indices,
)
from analysis.variance import design_covariance

ITEMS = ("a1", "a2", "b1", "b2", "b3", "ov")
ASPECTS = (AspectSpec("a", ("a1", "a2"), 2.0), AspectSpec("b", ("b1", "b2", "b3"), 1.0))


def simulate(seed: int, n: int = 900, n_domains: int = 4) -> dict[str, np.ndarray]:
    """Five-point answers with missing values, stratified two-stage-like clusters."""
    rng = np.random.default_rng(seed)
    strata = rng.integers(0, 5, n)
    psu = strata * 100 + rng.integers(0, 6, n)
    domain = rng.integers(0, n_domains, n)
    weights = rng.uniform(0.5, 4.0, n)
    answers = rng.integers(1, 6, (n, len(ITEMS))).astype(float)
    answers[rng.random((n, len(ITEMS))) < 0.15] = np.nan
    return {"strata": strata, "psu": psu, "domain": domain, "w": weights, "answers": answers}


def row_columns(data: dict[str, np.ndarray], layout: ItemColumns) -> np.ndarray:
    """Unweighted per-respondent S, V, P columns (satisfied = 4 or 5; points 0..100)."""
    answers = data["answers"]
    cols = np.zeros((answers.shape[0], layout.width))
    for j, item in enumerate(layout.items):
        valid = ~np.isnan(answers[:, j])
        cols[:, layout.column(item, "S")] = valid & (np.nan_to_num(answers[:, j]) >= 4)
        cols[:, layout.column(item, "V")] = valid
        cols[:, layout.column(item, "P")] = np.where(
            valid, (np.nan_to_num(answers[:, j]) - 1) * 25, 0
        )
    return cols


def sufficient_statistics(
    data: dict[str, np.ndarray], layout: ItemColumns, n_domains: int
) -> PSUTotals:
    """Group the weighted rows by (domain, stratum, PSU), as the SQL query does."""
    weighted = row_columns(data, layout) * data["w"][:, None]
    keys = np.stack([data["domain"], data["strata"], data["psu"]], axis=1)
    groups, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    values = np.zeros((groups.shape[0], layout.width))
    np.add.at(values, inverse, weighted)
    count = np.bincount(inverse)
    sum_w = np.bincount(inverse, weights=data["w"])
    sum_w2 = np.bincount(inverse, weights=data["w"] ** 2)
    # Each formula's n: respondents with at least one valid answer to its items.
    valid = row_columns(data, layout)
    answered = {}
    aspect_items = {item for aspect in ASPECTS for item in aspect.items}
    formulas = build_formulas(ASPECTS, layout) if aspect_items <= set(layout.items) else []
    for formula in formulas:
        inside = (valid[:, list(formula.valid_columns)].sum(axis=1) > 0).astype(float)
        answered[formula.valid_columns] = (
            np.bincount(inverse, weights=inside).astype(np.int64),
            np.bincount(inverse, weights=inside * data["w"]),
            np.bincount(inverse, weights=inside * data["w"] ** 2),
        )
    n_psu = {
        str(s): len(np.unique(data["psu"][data["strata"] == s])) for s in np.unique(data["strata"])
    }
    return PSUTotals(
        domain=groups[:, 0],
        stratum=groups[:, 1].astype(str),
        psu=groups[:, 2].astype(str),
        values=values,
        n=count,
        sum_w=sum_w,
        sum_w2=sum_w2,
        n_psu=n_psu,
        n_domains=n_domains,
        answered=answered,
    )


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
