"""analysis.indices.estimate_on_design: an index from respondent rows on any design.

Without adjustments it equals the sufficient-statistics path (estimate_indices) for
a whole-design domain; on a raked design a one-ratio index equals the engine's ratio
estimator (analysis.estimators.ratio), which tests/weighting checks against R's
svyratio/svymean on rake designs.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis import estimators
from analysis.design import Design
from analysis.indices import ItemColumns, build_formulas, estimate_indices, estimate_on_design
from analysis.weighting import rake
from tests.helpers.index_data import (
    ASPECTS,
    ITEMS,
    row_columns,
    simulate,
    sufficient_statistics,
)


@pytest.mark.parametrize("seed", [1, 2])
def test_equals_the_sufficient_statistics_path(seed: int) -> None:
    data = simulate(seed, n_domains=1)
    layout = ItemColumns(ITEMS)
    formulas = build_formulas(ASPECTS, layout)
    table = estimate_indices(sufficient_statistics(data, layout, 1), formulas)
    design = Design.from_arrays(data["w"], strata=data["strata"], ids=data["psu"])
    for formula in formulas:
        ours = estimate_on_design(design, row_columns(data, layout), formula)
        expected = table.get(formula.code, formula.kind, 0)
        for name in ("value", "se", "ci_low", "ci_high", "n_eff"):
            assert getattr(ours, name) == pytest.approx(getattr(expected, name), rel=1e-10)
        assert (ours.df, ours.n) == (expected.df, expected.n)


def test_on_a_raked_design_equals_the_engines_ratio() -> None:
    data = simulate(3, n_domains=1)
    rng = np.random.default_rng(7)
    sex = rng.choice(["f", "m"], data["w"].size)
    age = rng.choice(["young", "old"], data["w"].size)
    margins = {"sex": {"f": 1300.0, "m": 900.0}, "age": {"young": 1000.0, "old": 1200.0}}
    result = rake(data["w"], {"sex": sex, "age": age}, margins, maxit=100, epsilon=1e-10)
    base = Design.from_arrays(data["w"], strata=data["strata"], ids=data["psu"])
    raked = base.with_weights(result.weights, result.adjustment)
    layout = ItemColumns(ITEMS)
    aspect_b = next(f for f in build_formulas(ASPECTS, layout) if f.code == "aspect:b")
    cols = row_columns(data, layout)
    num = cols[:, list(layout.columns(("b1", "b2", "b3"), "S"))].sum(axis=1)
    den = cols[:, list(layout.columns(("b1", "b2", "b3"), "V"))].sum(axis=1)
    engine = estimators.ratio(raked, num, den)
    ours = estimate_on_design(raked, cols, aspect_b)
    assert ours.value == pytest.approx(engine.value, rel=1e-12)
    assert ours.se == pytest.approx(engine.se, rel=1e-10)
    # raking to margins related to nothing still changes the SE: the adjustment counts
    unadjusted = estimate_on_design(base.with_weights(result.weights), cols, aspect_b)
    assert unadjusted.se != pytest.approx(ours.se, rel=1e-6)


def test_rejects_misshapen_values() -> None:
    design = Design.from_arrays(np.ones(3))
    formula = build_formulas(ASPECTS, ItemColumns(ITEMS))[0]
    with pytest.raises(ValueError, match="n x k with n = 3"):
        estimate_on_design(design, np.zeros((2, 18)), formula)
