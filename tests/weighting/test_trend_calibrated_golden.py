"""A unit's trend across waves whose weights were calibrated equals R's.

tests/reference/make_golden_trend_calibrated.R (R 4.2.2, survey 4.1.1) weights each of
the three waves of the simulated golden survey (tests/reference/data_indices/) by unit
and by the sex of make_golden_published.R, with wave-specific targets, by
``postStratify``, ``rake`` and ``calibrate`` (linear and raking) on the stacked design
of independent waves, and writes the trend (slope per year) of the district and of unit
D1 to tests/reference/golden_trend_calibrated.json: the item ov's rate by
``svyglm(ov_sat ~ t)``, and the overall index (rate, score) and aspect access's rate as
the weighted least-squares slope of the waves' figures by ``svycontrast`` of the
calibrated totals. Every record carries its exact R calls, and the script explains why
the stacked weighting with wave-specific margins is the app's weighting of each wave
alone.

Here the same respondents are stored in the database, every wave gets its weighting
scheme through the console's service (save, activate), and the app's trend
(``reporting.comparisons.trends.trend``, the trend of the dashboard, scorecard and API)
is compared with R: slope, SE, and where R's df is the app's the interval and p-value,
to 1e-8 relative (1e-7 for ``calibrate-raking``, whose stacked weights in R stop one
Newton step later than a wave calibrated alone, 7.4e-8 apart: see the script; measured
on these data: slope and SE within 3e-12 for the other methods, within 1.2e-9 for
``calibrate-raking``, its p-values within 2e-8). R's
``svyglm`` on ``subset(cal, unit == "D1")`` counts only the PSUs with a respondent who
answered ov (46 against the app's 47), as in tests/indices/test_indices_golden.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask import Flask

from analysis.indices import estimate_trend
from survey_app.models import Wave
from survey_app.reporting.comparisons import trends
from survey_app.reporting.indices.compute import compute
from survey_app.weighting.sample import load_sample
from survey_app.weighting.schemes import activate, save_scheme
from survey_app.weighting.spec import WeightingSpec
from survey_app.weighting.targets import TargetRows
from tests.helpers import golden_survey

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = json.loads((ROOT / "tests" / "reference" / "golden_trend_calibrated.json").read_text())
QUESTIONNAIRE = ROOT / "tests" / "data" / "questionnaires" / "indices_weighted.yaml"
METHODS = ("poststratify", "rake", "calibrate-linear", "calibrate-raking")
RTOL = {"calibrate-raking": 1e-7}
OVERALL = "  overall:\n    method: mean_of_aspects\n"
OV_ITEM = "  overall:\n    method: item\n    item: ov\n    satisfied_levels: [4, 5]\n"


def sex(record: Mapping[str, Any]) -> dict[str, str]:
    """The R script's rule: sex = "f" when id %% 5 < 2, else "m"."""
    return {"sex": "f" if int(record["id"]) % 5 < 2 else "m"}


def spec_for(method: str, wave: int) -> WeightingSpec:
    targets = GOLDEN["targets"]
    rows = [["unit", code, float(t)] for code, t in targets["unit"][str(wave)].items()]
    if method != "poststratify":
        rows += [["sex", code, float(t)] for code, t in targets["sex"][str(wave)].items()]
    return WeightingSpec(
        method=method, targets=TargetRows.from_json({"layout": "long", "rows": rows})
    )


def weight_every_wave(waves: Mapping[int, Wave], method: str) -> None:
    for number, wave in waves.items():
        scheme = save_scheme(load_sample(wave), spec_for(method, number), method, None)
        activate(wave, scheme.id, None)


def item_questionnaire(tmp_path: Path) -> Path:
    """indices_weighted.yaml with the ov item's rate as the overall index (method item),
    so the service estimates the trend of one item as R's svyglm(ov_sat ~ t)."""
    text = QUESTIONNAIRE.read_text(encoding="utf-8")
    assert text.count(OVERALL) == 1
    path = tmp_path / "indices_weighted_ov.yaml"
    path.write_text(text.replace(OVERALL, OV_ITEM), encoding="utf-8")
    return path


def cases(method: str, item: bool) -> list[dict[str, Any]]:
    return [
        c for c in GOLDEN["cases"] if c["method"] == method and (c["index"] == "item:ov") == item
    ]


def check(trend: trends.TrendResult, case: dict[str, Any]) -> None:
    rtol = RTOL.get(case["method"], 1e-8)
    expected = case["values"]
    np.testing.assert_allclose(
        [trend.slope, trend.se], [expected["slope"], expected["se"]], rtol=rtol, err_msg=case["id"]
    )
    if trend.df == expected["df"]:
        np.testing.assert_allclose(
            [trend.ci_low, trend.ci_high, trend.p_value],
            [expected["ci_low"], expected["ci_high"], expected["p_value"]],
            rtol=rtol,
            err_msg=case["id"],
        )
    else:  # svyglm counts only the PSUs left after dropping rows with a missing answer
        assert case["unit"] != "DIST" and expected["df"] < trend.df, case["id"]
    assert all(f.scheme == f"{case['method']} v1" for f in trend.figures)


def code_and_kind(case: dict[str, Any]) -> tuple[str, str]:
    # with the ov questionnaire the ov item's rate is the overall index
    return ("overall" if case["index"] == "item:ov" else case["index"]), case["kind"]


@pytest.mark.parametrize("method", METHODS)
def test_trend_of_calibrated_waves_equals_r(app: Flask, method: str) -> None:
    by_code, waves = golden_survey.store(QUESTIONNAIRE, sex)
    weight_every_wave(waves, method)
    checked = cases(method, item=False)
    assert len(checked) == 6
    for case in checked:
        code, kind = code_and_kind(case)
        check(trends.trend(by_code[case["unit"]], list(waves.values()), code=code, kind=kind), case)


@pytest.mark.parametrize("method", METHODS)
def test_one_item_trend_of_calibrated_waves_equals_svyglm(
    app: Flask, tmp_path: Path, method: str
) -> None:
    by_code, waves = golden_survey.store(item_questionnaire(tmp_path), sex)
    weight_every_wave(waves, method)
    checked = cases(method, item=True)
    assert len(checked) == 2
    for case in checked:
        check(trends.trend(by_code[case["unit"]], list(waves.values())), case)


def test_the_calibration_matters_on_these_data(app: Flask) -> None:
    """The trend on the design weights is not R's calibrated one, nor is the SE of the
    calibrated weights taken as fixed (no residuals): the tests above can fail."""
    by_code, waves = golden_survey.store(QUESTIONNAIRE, sex)
    d1, ordered = by_code["D1"], list(waves.values())
    r = next(c for c in GOLDEN["cases"] if c["id"] == "rake trend overall rate D1")["values"]
    unweighted = trends.trend(d1, ordered)
    assert abs(unweighted.slope / r["slope"] - 1) > 1e-3
    assert abs(unweighted.se / r["se"] - 1) > 1e-3
    weight_every_wave(waves, "rake")
    result = compute(ordered, [d1])
    assert result.totals.calibrated is not None
    formula = next(f for f in result.formulas if (f.code, f.kind) == ("overall", "rate"))
    # one domain per wave, in the order the database returned them (not the waves')
    by_id = {w.id: w for w in ordered}
    times = [trends.wave_time(by_id[domain.wave_id]) for domain in result.domains]
    fixed = estimate_trend(replace(result.totals, calibrated=None), formula, times)
    assert fixed.slope == pytest.approx(r["slope"], rel=1e-8)
    assert abs(fixed.se / r["se"] - 1) > 1e-3
