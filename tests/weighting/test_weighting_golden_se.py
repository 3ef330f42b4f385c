"""Estimates, SEs and CIs on post-stratified, raked, calibrated and trimmed designs vs R.

Expected values: ``golden_weights.json``, written by
``tests/reference/make_golden_weights.R`` (R 4.2.2, survey 4.1.1). Each estimate
stores its R call, evaluated on the adjusted design of its case (whose own call is
stored in the case): ``confint(svymean(...))`` and ``confint(svytotal(...))`` are
Wald intervals with the normal quantile; ``svyciprop`` uses t with ``degf()`` (of
the domain's rows for ``svyby``). On an adjusted design a ``svyby`` domain keeps
every row with weight 0 outside it, so ``svyciprop(method = "beta")`` uses
``nrow()`` of the whole design for Korn-Graubard's ``n``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from analysis import mean, proportion, total
from analysis.weighting import WeightingConvergenceWarning
from tests.helpers.weighting_golden import apply_case_design, golden_cases

RTOL = 1e-8
CASES = golden_cases()


@pytest.fixture(scope="module")
def adjusted():
    cache = {}

    def get(case):
        if case["name"] not in cache:
            with warnings.catch_warnings():
                # non-convergence and partial warnings are checked in test_weighting_golden
                warnings.simplefilter("ignore", WeightingConvergenceWarning)
                warnings.simplefilter("ignore", UserWarning)
                cache[case["name"]] = apply_case_design(case).design
        return cache[case["name"]]

    return get


def _estimate(design, spec):
    kind = spec["kind"]
    by = spec.get("by")
    if kind == "proportion":
        return proportion(design, spec["variable"], by=by, ci_method=spec["method"])
    fn = mean if kind == "mean" else total
    return fn(design, spec["variable"], by=by, ci_method="normal")


def _close(ours, theirs, what, rtol=RTOL):
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=0, err_msg=what)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_estimates_match_r(case, adjusted):
    design = adjusted(case)
    for spec in case["estimates"]:
        got = _estimate(design, spec)
        ests = list(got) if spec.get("by") else [got]
        if spec.get("by"):
            assert [str(lab[0]) for lab in got.labels] == spec["domains"], spec["call"]
        _close([e.value for e in ests], spec["estimate"], spec["call"] + ": estimate")
        _close([e.se for e in ests], spec["se"], spec["call"] + ": se")
        # R finds likelihood bounds by interpolating a spline through a profile grid;
        # the engine solves exactly (analysis.ci._interval_likelihood): 4th digit
        ci_rtol = 1e-3 if spec.get("method") == "likelihood" else RTOL
        lows, highs = [e.ci_low for e in ests], [e.ci_high for e in ests]
        _close(lows, spec["ci_low"], spec["call"] + ": ci_low", ci_rtol)
        _close(highs, spec["ci_high"], spec["call"] + ": ci_high", ci_rtol)
        if "deff" in spec:
            _close(got.deff, spec["deff"], spec["call"] + ": deff")
        if "vcov" in spec:  # R: vcov(svytotal(~I(enroll * (stype == "E")) + ..., design))
            expected = np.array(spec["vcov"])
            # covariances that are 0 in exact arithmetic (strata post-stratified apart)
            # come out as +-1e-20 rounding in both: compare on the scale of the variances
            atol = 1e-12 * np.abs(np.diag(expected)).max()
            np.testing.assert_allclose(
                got.covariance, expected, rtol=RTOL, atol=atol, err_msg=spec["vcov_call"]
            )
