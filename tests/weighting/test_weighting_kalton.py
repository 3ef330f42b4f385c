"""Weighting factors of Kalton & Flores-Cervantes (2003).

Source: G. Kalton and I. Flores-Cervantes (2003), "Weighting methods", Journal of
Official Statistics 19(2), 81-97: a 4 x 3 table (classes A = 1..4, B = 1..3) of
1000 respondents and its population counts; Table A gives the post-stratification
factors, Table B the raking factors (two margins), Tables C, D and G the linear,
GREG-on-numeric-codes and truncated linear / logit calibration factors. Sample,
population and the expected factors (rounded to 2 decimals as in the paper) are
taken from R survey's test ``tests/kalton.R`` and its reference output
``tests/kalton.Rout.save``, which reproduce those tables.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.weighting import calibrate, poststratify, rake

# cells in the order of R's expand.grid(a = 1:4, b = 1:3): a varies fastest
CELLS = [(a, b) for b in "123" for a in "1234"]
SAMPLE = [20, 50, 100, 30, 40, 140, 50, 100, 40, 310, 50, 70]  # kalton.R: kaltonsample
POPULATION = [80, 60, 170, 55, 40, 150, 60, 165, 55, 340, 200, 125]  # kalton.R: kaltonpop

# kalton.Rout.save, "table A": round(svytable(~a+b, dps) / xtabs(~a+b, kaltonsample), 2)
TABLE_A = [[4.00, 1.00, 1.38], [1.20, 1.07, 1.10], [1.70, 1.20, 4.00], [1.83, 1.65, 1.79]]
# kalton.Rout.save, "table B": raking, rows a = 1..4, columns b = 1..3
TABLE_B = [[1.81, 1.45, 2.02], [1.08, 0.87, 1.21], [2.20, 1.76, 2.45], [1.83, 1.47, 2.04]]
# kalton.Rout.save, "table C": linear calibration to the margins
TABLE_C = [[1.82, 1.50, 1.97], [1.09, 0.78, 1.24], [2.19, 1.88, 2.34], [1.83, 1.52, 1.98]]
# kalton.Rout.save, "table D": GREG on the numeric codes of a and b
TABLE_D = [[1.21, 1.17, 1.14], [1.43, 1.40, 1.36], [1.66, 1.62, 1.59], [1.88, 1.85, 1.81]]
# kalton.Rout.save, second "table G": linear calibration truncated to [0.5, 2.2]
TABLE_G_TRUNC = [[1.81, 1.48, 1.99], [1.08, 0.75, 1.26], [2.20, 2.00, 2.20], [1.83, 1.50, 2.00]]
# kalton.Rout.save, first "table G": logit calibration with bounds (0.5, 2.2)
TABLE_G_LOGIT = [[1.87, 1.46, 1.98], [1.08, 0.74, 1.27], [2.17, 2.09, 2.18], [1.89, 1.49, 1.99]]


@pytest.fixture(scope="module")
def kalton():
    a = np.repeat([c[0] for c in CELLS], SAMPLE)
    b = np.repeat([c[1] for c in CELLS], SAMPLE)
    pop = dict(zip(CELLS, POPULATION, strict=True))
    margin_a = {x: sum(v for (ca, _), v in pop.items() if ca == x) for x in "1234"}
    margin_b = {x: sum(v for (_, cb), v in pop.items() if cb == x) for x in "123"}
    return {"data": {"a": a, "b": b}, "pop": pop, "margins": {"a": margin_a, "b": margin_b}}


def factors(kalton, weights):
    """Weighted cell count over sample cell count (the design weights are all 1)."""
    a, b = kalton["data"]["a"], kalton["data"]["b"]
    out = np.empty((4, 3))
    for ca, cb in CELLS:
        cell = (a == ca) & (b == cb)
        out[int(ca) - 1, int(cb) - 1] = weights[cell].sum() / cell.sum()
    return out


def assert_table(ours, published):
    # published to two decimals: agree within half a unit of the last digit
    np.testing.assert_array_less(np.abs(ours - np.array(published)), 0.005 + 1e-9)


def test_table_a_poststratification(kalton):
    r = poststratify(np.ones(1000), kalton["data"], ("a", "b"), kalton["pop"])
    assert_table(factors(kalton, r.weights), TABLE_A)
    # exact: factor = N_c / n_c
    expected = np.array(POPULATION) / np.array(SAMPLE)
    got = [factors(kalton, r.weights)[int(a) - 1, int(b) - 1] for a, b in CELLS]
    np.testing.assert_allclose(got, expected, rtol=1e-14)


def test_table_b_raking(kalton):
    # kalton.R: rake(..., control = list(epsilon = 0.0001))
    r = rake(np.ones(1000), kalton["data"], kalton["margins"], epsilon=1e-4)
    assert r.report.converged
    assert_table(factors(kalton, r.weights), TABLE_B)


def test_table_b_raking_calibration(kalton):
    # kalton.R: calibrate(dkalton, ~a+b, marginalpop, calfun = "raking")
    r = calibrate(np.ones(1000), kalton["data"], kalton["margins"], calfun="raking")
    assert_table(factors(kalton, r.weights), TABLE_B)


def test_table_c_linear_calibration(kalton):
    r = calibrate(np.ones(1000), kalton["data"], kalton["margins"])
    assert_table(factors(kalton, r.weights), TABLE_C)


def test_table_d_greg_numeric(kalton):
    a = kalton["data"]["a"].astype(float)
    b = kalton["data"]["b"].astype(float)
    pop = kalton["pop"]
    totals = {
        "a": float(sum(int(ca) * v for (ca, _), v in pop.items())),
        "b": float(sum(int(cb) * v for (_, cb), v in pop.items())),
    }
    r = calibrate(np.ones(1000), {"a": a, "b": b}, totals, population_size=sum(POPULATION))
    assert_table(factors(kalton, r.weights), TABLE_D)


def test_table_g_truncated_linear(kalton):
    r = calibrate(np.ones(1000), kalton["data"], kalton["margins"], bounds=(0.5, 2.2))
    assert_table(factors(kalton, r.weights), TABLE_G_TRUNC)
    assert r.report.weight_max <= 2.2 + 1e-12


def test_table_g_logit(kalton):
    r = calibrate(
        np.ones(1000), kalton["data"], kalton["margins"], calfun="logit", bounds=(0.5, 2.2)
    )
    assert_table(factors(kalton, r.weights), TABLE_G_LOGIT)
