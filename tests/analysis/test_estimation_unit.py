"""Invariances (hypothesis), sufficient statistics, replicates and input validation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

import analysis.estimators as estimators_module
from analysis import (
    PROPORTION_METHODS,
    Design,
    bootstrap,
    contrast,
    design_covariance,
    from_replicate_weights,
    jk1,
    mean,
    proportion,
    ratio,
    stratified_covariance,
    total,
)
from analysis.ci import ProportionInput, proportion_interval

REF = Path(__file__).resolve().parents[1] / "reference"


def apiclus2() -> pd.DataFrame:
    return pd.read_csv(REF / "data" / "apiclus2.csv")


def apistrat() -> pd.DataFrame:
    return pd.read_csv(REF / "data" / "apistrat.csv")


# ---------------------------------------------------------------- properties

samples = st.integers(min_value=4, max_value=40).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(0.1, 50), min_size=n, max_size=n),
        st.lists(st.floats(-100, 100), min_size=n, max_size=n),
        st.lists(st.integers(0, 2), min_size=n, max_size=n),
    )
)


@settings(max_examples=40, deadline=None)
@given(samples, st.floats(0.01, 1000))
def test_scaling_weights_leaves_means_unchanged(data: tuple, factor: float) -> None:
    w, y, _ = (np.array(v, dtype=float) for v in data)
    ids = np.arange(w.size) // 2  # clusters of two rows
    a = mean(Design.from_arrays(w, ids=ids), y)
    b = mean(Design.from_arrays(w * factor, ids=ids), y)
    assert b.value == pytest.approx(a.value, rel=1e-9, abs=1e-9)
    assert b.se == pytest.approx(a.se, rel=1e-7, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(samples)
def test_single_stratum_of_single_rows_is_the_with_replacement_formula(data: tuple) -> None:
    w, y, _ = (np.array(v, dtype=float) for v in data)
    n = w.size
    est = mean(Design.from_arrays(w), y)
    ybar = np.sum(w * y) / np.sum(w)
    z = w * (y - ybar) / np.sum(w)
    expected = n / (n - 1) * np.sum((z - z.mean()) ** 2)
    assert est.se**2 == pytest.approx(expected, rel=1e-9, abs=1e-12)
    t = total(Design.from_arrays(w), y)
    zt = w * y
    assert t.se**2 == pytest.approx(n / (n - 1) * np.sum((zt - zt.mean()) ** 2), rel=1e-9, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(samples)
def test_domain_totals_add_up_to_the_total(data: tuple) -> None:
    w, y, dom = (np.array(v, dtype=float) for v in data)
    ids = np.arange(w.size) // 2
    design = Design.from_arrays(w, ids=ids)
    whole = total(design, y)
    parts = total(design, y, by=dom)
    assert parts.values.sum() == pytest.approx(whole.value, rel=1e-9, abs=1e-9)
    # the joint covariance makes the sum's variance that of the total
    summed = contrast(parts, np.ones(len(parts)))
    assert summed.se == pytest.approx(whole.se, rel=1e-7, abs=1e-7)


# ---------------------------------------------------------------- sufficient statistics


def test_sufficient_statistics_path_agrees_with_rows() -> None:
    """Per (domain x stratum x PSU) sums -> stratified_covariance == row-level engine."""
    rng = np.random.default_rng(7)
    n = 3000
    strata = rng.integers(0, 6, n)
    psu = strata * 100 + rng.integers(0, 12, n)
    dom = rng.integers(0, 5, n)
    w = rng.uniform(1, 5, n)
    y = rng.normal(size=n)
    popsize = (strata + 30).astype(float)
    design = Design.from_arrays(w, strata=strata, ids=psu, fpc=popsize)
    res = mean(design, y, by=dom)
    # what SQL would return: GROUP BY domain, stratum, psu -> sum(w), sum(w*y)
    frame = pd.DataFrame({"d": dom, "h": strata, "p": psu, "w": w, "wy": w * y})
    sums = frame.groupby(["h", "p", "d"], as_index=False)[["w", "wy"]].sum()
    sw = sums.groupby("d")["w"].sum().to_numpy()
    ybar = sums.groupby("d")["wy"].sum().to_numpy() / sw
    sums["z"] = (sums["wy"] - ybar[sums["d"]] * sums["w"]) / sw[sums["d"]]
    table = sums.pivot_table(index=["h", "p"], columns="d", values="z", fill_value=0.0)
    table = table.reset_index()
    h = table["h"].to_numpy()
    n_psu = table.groupby("h")["p"].transform("count").to_numpy()
    # drop one PSU row whose totals are zero-padded: n_psu keeps it counted
    cov = stratified_covariance(
        table[list(range(5))].to_numpy(), h, n_psu=n_psu, popsize=(h + 30.0)
    )
    np.testing.assert_allclose(cov, res.covariance, rtol=1e-12, atol=1e-18)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), [e.se for e in res], rtol=1e-12)


def test_sufficient_statistics_with_absent_psus() -> None:
    totals = np.array([1.0, 2.0, 4.0, 0.0, 3.0])
    strata = np.array(["a", "a", "a", "b", "b"])
    full = stratified_covariance(totals, strata)
    kept = stratified_covariance(totals[[0, 1, 2, 4]], strata[[0, 1, 2, 4]], n_psu=[3, 3, 3, 2])
    np.testing.assert_allclose(kept, full, rtol=1e-14)
    # hand formula: sum_h n_h/(n_h-1) sum_i (z_hi - zbar_h)^2
    expected = 3 / 2 * ((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2) + 2 * 2 * 1.5**2
    assert full[0, 0] == pytest.approx(expected, rel=1e-14)


def test_sparse_and_dense_totals_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = apiclus2()
    design = Design.from_frame(frame, weights="pw", ids=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    dense = mean(design, "api00", by="stype")
    monkeypatch.setattr(estimators_module, "_DENSE_LIMIT", 0)
    sparse_ = mean(design, "api00", by="stype")
    np.testing.assert_allclose(sparse_.covariance, dense.covariance, rtol=1e-10, atol=1e-12)


def test_design_covariance_of_raw_scores() -> None:
    design = Design.from_frame(apistrat(), weights="pw", strata="stype", fpc="fpc")
    y = apistrat()["api00"].to_numpy(float)
    w = design.weights
    scores = w * (y - np.sum(w * y) / w.sum()) / w.sum()
    assert np.sqrt(design_covariance(design, scores)[0, 0]) == pytest.approx(
        mean(design, "api00").se, rel=1e-13
    )


# ---------------------------------------------------------------- adjustment hook


class CentreWithinCells:
    def __init__(self, cells: np.ndarray) -> None:
        self.cells = cells

    def residualize(self, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
        out = scores.copy()
        for c in np.unique(self.cells):  # a few cells: a loop over cells, not rows
            m = self.cells == c
            out[m] -= weights[m, None] * scores[m].sum(axis=0) / weights[m].sum()
        return out


def test_adjustment_hook_is_applied_before_psu_totals() -> None:
    frame = apistrat()
    design = Design.from_frame(frame, weights="pw", strata="stype")
    cells = frame["stype"].to_numpy()
    adjusted = design.with_weights(design.weights, CentreWithinCells(cells))
    # stype is the stratum: centring within strata changes nothing for a mean ...
    assert mean(adjusted, "api00").se == pytest.approx(mean(design, "api00").se, rel=1e-12)
    # ... and makes the total of the stratum sizes known exactly
    ones = np.ones(design.n)
    assert total(adjusted, ones).se == pytest.approx(0.0, abs=1e-9)
    assert total(design, ones).se == pytest.approx(0.0, abs=1e-9)
    cells2 = frame["awards"].to_numpy()
    adjusted2 = design.with_weights(design.weights, CentreWithinCells(cells2))
    assert total(adjusted2, ones).se == pytest.approx(0.0, abs=1e-9)
    assert total(design, frame["awards"].eq("Yes").to_numpy(float)).se > 1.0
    by = mean(adjusted2, "api00", by="stype")
    assert by.covariance.shape == (3, 3)


def test_an_adjustment_must_have_residualize() -> None:
    with pytest.raises(ValueError, match="residualize"):
        Design.from_arrays([1.0, 2.0, 3.0], adjustments=[object()])


# ---------------------------------------------------------------- replicates


def test_bootstrap_is_seeded_locally_and_close_to_linearization() -> None:
    design = Design.from_frame(apistrat(), weights="pw", strata="stype")
    state = np.random.get_state()[1].copy()
    a = bootstrap(design, 400, seed=11)
    b = bootstrap(design, 400, seed=11)
    np.testing.assert_array_equal(a.factors, b.factors)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # global RNG untouched
    assert a.factors.mean() == pytest.approx(1.0, abs=0.02)
    lin = mean(design, "api00").se
    assert mean(a, "api00").se == pytest.approx(lin, rel=0.15)


def test_replicate_design_shares_the_estimators() -> None:
    design = Design.from_frame(
        pd.read_csv(REF / "data" / "apiclus1.csv"), weights="pw", ids="dnum", fpc="fpc"
    )
    rep = jk1(design)
    user = from_replicate_weights(
        rep.weights, rep.replicate_weights(), type="JK1", scale=rep.scale, data=rep.data
    )
    for fn in (mean, total):
        assert fn(user, "api00").se == pytest.approx(fn(rep, "api00").se, rel=1e-12)
    assert ratio(user, "api.stu", "enroll").se == pytest.approx(
        ratio(rep, "api.stu", "enroll").se, rel=1e-12
    )
    p = proportion(rep, "sch.wide", level_value="Yes", by="stype", ci_method="beta")
    assert len(p) == 3


# ---------------------------------------------------------------- intervals


def test_wilson_is_the_classical_wilson_at_the_effective_n() -> None:
    p, n_eff = 0.3, 80.0
    x = ProportionInput(p=p, var=p * (1 - p) / n_eff, df=float("inf"), n_rows=200)
    lo, hi = proportion_interval("wilson", x)
    ref = proportion_confint(p * n_eff, n_eff, alpha=0.05, method="wilson")
    assert (lo, hi) == pytest.approx(ref, rel=1e-10)


def test_beta_is_clopper_pearson_when_there_is_no_design_effect() -> None:
    p, n = 0.25, 40
    x = ProportionInput(p=p, var=p * (1 - p) / n, df=n - 1, n_rows=n)
    lo, hi = proportion_interval("beta", x)
    ref = proportion_confint(p * n, n, alpha=0.05, method="beta")
    assert (lo, hi) == pytest.approx(ref, rel=1e-9)


def test_unknown_ci_method_lists_the_valid_names() -> None:
    design = Design.from_frame(apistrat(), weights="pw", strata="stype")
    with pytest.raises(ValueError) as exc:
        proportion(design, "sch.wide", level_value="Yes", ci_method="log")
    for name in PROPORTION_METHODS:
        assert name in str(exc.value)
    with pytest.raises(ValueError, match="valid methods: t, normal"):
        mean(design, "api00", ci_method="wilson")


def test_deff_and_kish_effective_n() -> None:
    w = np.array([1.0, 1.0, 2.0, 4.0])
    est = mean(Design.from_arrays(w), np.array([1.0, 2.0, 3.0, 5.0]))
    assert est.n_eff == pytest.approx(w.sum() ** 2 / (w**2).sum())
    assert est.n == 4
    # deff="replace": SRS with replacement; equal weights give 1
    equal = mean(Design.from_arrays(np.ones(10)), np.arange(10.0), deff="replace")
    assert equal.deff == pytest.approx(1.0)
    # deff=TRUE (the default, as R) compares with SRS without replacement from
    # hat N = sum of weights = n here: that variance is 0, so deff is inf as in R
    assert mean(Design.from_arrays(np.ones(10)), np.arange(10.0)).deff == math.inf
    doubled = mean(Design.from_arrays(np.full(10, 2.0)), np.arange(10.0))
    assert doubled.deff == pytest.approx(2.0)  # 1 / (1 - n/N) with N = 2n
    with pytest.raises(ValueError, match="deff must be True or 'replace'"):
        mean(Design.from_arrays(np.ones(10)), np.arange(10.0), deff="srs")


def test_missing_values_keep_the_design() -> None:
    """na.rm=TRUE as R: the rows stay in the design with zero scores."""
    case = next(
        c
        for c in json.loads((REF / "golden_estimation.json").read_text())["cases"]
        if c["id"] == "srs mean acs.k3"
    )
    frame = pd.read_csv(REF / "data" / "apisrs.csv")
    design = Design.from_frame(frame, weights="pw", fpc="fpc")
    est = mean(design, "acs.k3")
    assert est.se == pytest.approx(case["values"]["se"], rel=1e-9)
    dropped = frame.dropna(subset=["acs.k3"])  # rows are the PSUs: dropping changes n_h
    assert mean(Design.from_frame(dropped, weights="pw", fpc="fpc"), "acs.k3").se != pytest.approx(
        est.se, rel=1e-6
    )


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weights": "w_nan"}, "weights column 'w_nan' has 1 missing"),
        ({"weights": "w_zero"}, "weights column 'w_zero' has 1 non-positive"),
        ({"weights": "w", "strata": "s_nan"}, "column 's_nan' has 1 missing"),
        ({"weights": "w", "ids": "id_nan"}, "column 'id_nan' has 1 missing"),
        ({"weights": "w", "ids": "id", "fpc": "fpc_nan"}, "fpc column 'fpc_nan' has 1 missing"),
        ({"weights": "w", "ids": "id", "fpc": "fpc_small"}, "more than 100% sampling"),
        ({"weights": "w", "ids": "id", "fpc": "fpc_mixed"}, "mixes population sizes"),
        ({"weights": "w", "strata": "s", "fpc": "fpc_vary"}, "varies within a stratum"),
        ({"weights": "w", "strata": "s_lonely"}, "only one sampled unit"),
        ({"weights": "w", "strata": "s", "ids": "id_cross"}, "not nested in strata"),
        ({"weights": "w", "lonely_psu": "drop"}, "valid rules: fail, remove"),
        ({"weights": "nope"}, "weights column 'nope' is not in the data"),
        ({"weights": "w", "ids": "one"}, "only one primary sampling unit"),
    ],
)
def test_design_validation(kwargs: dict, message: str) -> None:
    frame = pd.DataFrame(
        {
            "w": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "w_nan": [1.0, np.nan, 3.0, 4.0, 5.0, 6.0],
            "w_zero": [1.0, 0.0, 3.0, 4.0, 5.0, 6.0],
            "s": ["a", "a", "a", "b", "b", "b"],
            "s_nan": ["a", None, "a", "b", "b", "b"],
            "s_lonely": ["a", "a", "a", "a", "a", "b"],
            "id": [1, 1, 2, 3, 3, 4],
            "id_nan": [1.0, np.nan, 2.0, 3.0, 3.0, 4.0],
            "id_cross": [1, 1, 2, 2, 3, 3],
            "one": [1, 1, 1, 1, 1, 1],
            "fpc_nan": [10.0, np.nan, 10.0, 10.0, 10.0, 10.0],
            "fpc_small": [2.0, 2.0, 2.0, 2.0, 2.0, 2.0],
            "fpc_mixed": [0.5, 0.5, 10.0, 10.0, 10.0, 10.0],
            "fpc_vary": [10.0, 10.0, 11.0, 20.0, 20.0, 20.0],
        }
    )
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        Design.from_frame(frame, **kwargs)


def test_estimator_validation() -> None:
    frame = pd.DataFrame(
        {
            "w": [1.0, 2.0, 3.0, 4.0],
            "y": [1.0, 2.0, np.nan, 4.0],
            "g": ["a", "a", "b", "b"],
            "b": [0, 1, 1, 0],
            "cat": ["x", "y", "z", "x"],
            "only_b_missing": [1.0, 1.0, np.nan, np.nan],
        }
    )
    d = Design.from_frame(frame, weights="w")
    with pytest.raises(ValueError, match="empty domain"):
        mean(d, "only_b_missing", by="g")
    with pytest.raises(ValueError, match="column 'y' is not binary"):
        proportion(d, "y")
    with pytest.raises(ValueError, match="column 'cat' is not binary"):
        proportion(d, "cat")
    assert proportion(d, "cat", level_value="x").value == pytest.approx(0.5)
    assert proportion(d, "b").value == pytest.approx(0.5)
    with pytest.raises(ValueError, match="column 'cat' is not numeric"):
        mean(d, "cat")
    with pytest.raises(ValueError, match="'zz' is not in the data"):
        mean(d, "zz")
    with pytest.raises(ValueError, match="length 4"):
        mean(d, [1.0, 2.0])
    with pytest.raises(ValueError, match="level must be between 0 and 1"):
        mean(d, "y", level=95)
    res = mean(d, "y", by="g")
    with pytest.raises(ValueError, match="need 2 coefficients"):
        contrast(res, [1.0])
    assert contrast(res, {"a": 1, "b": -1}).value == pytest.approx(res[0].value - res[1].value)


def test_replicate_validation() -> None:
    w = np.ones(4)
    with pytest.raises(ValueError, match="unknown replicate type"):
        from_replicate_weights(w, np.ones((4, 3)), type="jackknife")
    with pytest.raises(ValueError, match="negative"):
        from_replicate_weights(w, -np.ones((4, 3)))
    with pytest.raises(ValueError, match="rscales must be given"):
        from_replicate_weights(w, np.ones((4, 3)), type="JKn")
    strat = Design.from_frame(apistrat(), weights="pw", strata="stype")
    with pytest.raises(ValueError, match="JK1 needs an unstratified design"):
        jk1(strat)


def test_messages_show_plain_numbers_and_cli_flags() -> None:
    """Issue 13: no ``np.float64(...)`` reprs in messages; the lonely-PSU advice names
    the CLI flag."""
    with pytest.raises(ValueError) as exc:
        Design.from_arrays(np.array([1.0, 0.0, 2.0]))
    assert "row 1: 0)" in str(exc.value) and "np." not in str(exc.value)
    strata = np.array([1, 1, 2, 3, 3])
    with pytest.raises(ValueError) as exc:
        Design.from_arrays(np.ones(5), strata=strata)
    assert "stratum 2 " in str(exc.value) and "--lonely-psu" in str(exc.value)
    d = Design.from_arrays(np.ones(4))
    by = np.array([1, 1, 2, 2])
    res = mean(d, np.array([1.0, 2.0, 3.0, 4.0]), by=by)
    with pytest.raises(KeyError) as kexc:
        res[(np.int64(7),)]
    assert "np." not in str(kexc.value)
    with pytest.raises(ValueError) as exc:
        mean(d, np.array([1.0, 2.0, np.nan, np.nan]), by=by)
    assert "np." not in str(exc.value) and "empty domain" in str(exc.value)
    with pytest.raises(ValueError) as exc:
        mean(d, np.arange(4.0), level=np.float64(1.5))
    assert "got 1.5" in str(exc.value)
