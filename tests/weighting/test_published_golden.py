"""The published figures after each weighting method equal R's for the weighted design.

tests/reference/make_golden_published.R (R 4.2.2, survey 4.1.1) weights wave 3 of the
simulated golden survey (tests/reference/data_indices/) by unit and by a sex variable
derived from the respondent id, with ``postStratify``, ``rake`` and ``calibrate``
(linear and raking), and writes the overall index (rate and score) of the district and
of each unit, and each aspect's rate by unit, to tests/reference/golden_published.json;
every record carries its exact R calls.

Here the same respondents are stored in the database (the sex as a demographic
answer), the same targets go through the weighting console's service (preview, save,
activate), and the published figures (``reporting.indices.compute.compute``, the figures every
page, scorecard, ranking and the API render) are compared with R: estimates, SEs,
domain df and intervals to 1e-8 relative. The SE of the same weights taken as fixed
(what was published before the adjustment entered the variance) differs from R's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask import Flask

from analysis.design import Design
from analysis.indices import estimate_on_design
from survey_app.collection import scoring
from survey_app.models import Unit, Wave
from survey_app.reporting.indices.compute import compute
from survey_app.reporting.indices.figures import DomainKey
from survey_app.weighting.published import published_design
from survey_app.weighting.sample import load_sample
from survey_app.weighting.schemes import activate, save_scheme
from survey_app.weighting.spec import WeightingSpec
from survey_app.weighting.targets import TargetRows
from tests.helpers import golden_survey

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = json.loads((ROOT / "tests" / "reference" / "golden_published.json").read_text())
QUESTIONNAIRE = ROOT / "tests" / "data" / "questionnaires" / "indices_weighted.yaml"
RTOL = 1e-8


def sex(record: Mapping[str, Any]) -> dict[str, str]:
    """The R script's rule: sex = "f" when id %% 5 < 2, else "m"."""
    return {"sex": "f" if int(record["id"]) % 5 < 2 else "m"}


def spec_for(method: str) -> WeightingSpec:
    targets = GOLDEN["targets"]
    rows = [["unit", code, float(t)] for code, t in targets["unit"].items()]
    if method != "poststratify":
        rows += [["sex", code, float(t)] for code, t in targets["sex"].items()]
    return WeightingSpec(
        method=method,
        targets=TargetRows.from_json({"layout": "long", "rows": rows}),
    )


@pytest.fixture
def weighted(app: Flask) -> tuple[dict[str, Unit], Wave]:
    by_code, waves = golden_survey.store(QUESTIONNAIRE, sex)
    return by_code, waves[3]


@pytest.mark.parametrize("method", ["poststratify", "rake", "calibrate-linear", "calibrate-raking"])
def test_published_figures_after_weighting_equal_r(
    weighted: tuple[dict[str, Unit], Wave], method: str
) -> None:
    by_code, wave = weighted
    scheme = save_scheme(load_sample(wave), spec_for(method), method, None)
    activate(wave, scheme.id, None)
    result = compute([wave], [by_code[c] for c in ("DIST", "D1", "D2", "D3", "D4")])
    cases = [case for case in GOLDEN["cases"] if case["method"] == method]
    assert len(cases) == 5
    for case in cases:
        figures = [
            result.figure(DomainKey(by_code[key].id, wave.id), case["index"], case["kind"])
            for key in case["domains"]
        ]
        assert all(f.scheme == f"{method} v1" for f in figures)
        values = case["values"]
        np.testing.assert_allclose([f.value for f in figures], values["estimate"], rtol=RTOL)
        np.testing.assert_allclose([f.se for f in figures], values["se"], rtol=RTOL)
        if "df" in values:
            assert [f.df for f in figures] == values["df"]
            np.testing.assert_allclose([f.ci_low for f in figures], values["ci_low"], rtol=RTOL)
            np.testing.assert_allclose([f.ci_high for f in figures], values["ci_high"], rtol=RTOL)


def test_the_adjustment_matters_on_these_data(weighted: tuple[dict[str, Unit], Wave]) -> None:
    """Weights taken as fixed give another SE than R's: the test above can fail."""
    wave = weighted[1]
    scheme = save_scheme(load_sample(wave), spec_for("rake"), "rake", None)
    activate(wave, scheme.id, None)
    sample = load_sample(wave)
    design = published_design(wave, scheme)
    formulas, values = scoring.respondent_values([wave], sample.response_ids)
    fixed = estimate_on_design(
        Design.from_arrays(design.weights, strata=sample.strata, ids=sample.psu, nest=True),
        values,
        formulas[0],
    )
    r = next(c for c in GOLDEN["cases"] if c["id"] == "rake overall rate")["values"]
    assert fixed.value == pytest.approx(r["estimate"][0], rel=RTOL)
    assert abs(fixed.se / r["se"][0] - 1) > 1e-3
