"""Sample sizes and margins of error for a proportion (analysis.planning).

Published values: Krejcie, R. V. & Morgan, D. W. (1970), "Determining sample size for
research activities", Educational and Psychological Measurement 30, 607-610, Table 1
(margin 0.05, p = 0.5, 95%: chi-square 3.841 on one degree of freedom). Their formula
``s = X^2 N P(1-P) / (d^2 (N-1) + X^2 P(1-P))`` is algebraically Cochran's
``n0 / (1 + (n0 - 1)/N)`` with ``n0 = X^2 P(1-P) / d^2`` (multiply through by
``N d^2 / (X^2 P(1-P))``); the table rounds to the nearest whole number.
"""

from __future__ import annotations

import math

import pytest

from analysis.planning import margin_of_error, normal_quantile, sample_size

KREJCIE_MORGAN = {10: 10, 100: 80, 200: 132, 500: 217, 1000: 278, 2000: 322, 5000: 357,
                  10_000: 370, 50_000: 381, 75_000: 382, 1_000_000: 384}  # fmt: skip


@pytest.mark.parametrize(("population", "table"), sorted(KREJCIE_MORGAN.items()))
def test_krejcie_morgan_table(population: int, table: int) -> None:
    s = sample_size(0.05, 0.5, population=population)
    assert round(s.n_exact) == table
    assert s.n == math.ceil(s.n_exact)  # the plan rounds up
    assert s.margin <= 0.05


def test_infinite_population_and_design_effect() -> None:
    z = normal_quantile(0.95)
    assert z == pytest.approx(1.959963984540054, rel=1e-12)
    s = sample_size(0.05)
    assert s.n0 == pytest.approx(z**2 * 0.25 / 0.0025, rel=1e-12)  # 384.146
    assert (s.n, s.n_exact) == (385, s.n0)
    # Kish: the design effect multiplies the simple-random-sample size
    assert sample_size(0.05, deff=2.0).n0 == pytest.approx(2 * s.n0, rel=1e-12)
    assert sample_size(0.03, p=0.8, level=0.99).n0 == pytest.approx(
        normal_quantile(0.99) ** 2 * 0.16 / 0.0009, rel=1e-12
    )


@pytest.mark.parametrize("population", [None, 150, 5200, 10**6])
@pytest.mark.parametrize("deff", [1.0, 1.7])
def test_margin_is_the_inverse_of_the_sample_size(population: int | None, deff: float) -> None:
    for n in (2, 30, 48, 100, 149):
        if population is not None and n > population:
            continue
        e = margin_of_error(n, 0.3, deff=deff, population=population)
        back = sample_size(e, 0.3, deff=deff, population=population)
        assert back.n_exact == pytest.approx(n, rel=1e-9)
        assert back.n == n


def test_margin_with_finite_population_correction() -> None:
    # 48 interviews out of 5,200: 1.96 sqrt(0.25 * 5152 / (48 * 5199)) = 0.1408
    assert margin_of_error(48, population=5200) == pytest.approx(
        normal_quantile(0.95) * math.sqrt(0.25 * 5152 / (48 * 5199)), rel=1e-12
    )
    assert margin_of_error(300, population=300) == 0.0  # a census
    assert margin_of_error(400) == pytest.approx(0.04899909961, rel=1e-9)


def test_sample_never_exceeds_the_population() -> None:
    assert sample_size(0.01, population=50).n == 50


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: sample_size(0.0), "margin of error"),
        (lambda: sample_size(1.0), "margin of error"),
        (lambda: sample_size(0.05, 0.0), "expected proportion"),
        (lambda: sample_size(0.05, 1.0), "expected proportion"),
        (lambda: sample_size(0.05, deff=0.0), "design effect"),
        (lambda: sample_size(0.05, population=1), "population size"),
        (lambda: sample_size(0.05, level=1.0), "confidence level"),
        (lambda: margin_of_error(0), "sample size"),
        (lambda: margin_of_error(20, population=10), "exceeds the population"),
    ],
)
def test_invalid_inputs_are_errors(call: object, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        call()  # type: ignore[operator]
