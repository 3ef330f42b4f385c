"""Simulated respondent data for the index statistics tests: items in two aspects across
domains, the per-row item columns, and the domain sufficient statistics the index engine
works from."""

from __future__ import annotations

import numpy as np

from analysis.indices import (
    AspectSpec,
    ItemColumns,
    PSUTotals,
    build_formulas,
)

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
