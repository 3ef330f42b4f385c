"""Weighting targets written the Vietnamese or the English way, and weights no
population can give.

"36.800" (Vietnamese thousands) is read as 36,800 and "36,8" as 36.8; the ambiguous
"36,800" is refused with both readings; a file whose targets are 1,000 times too
small (the thousands separator read as a decimal one) gets a warning in the preview.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask_babel import force_locale

from survey_app.weighting.preview import preview as preview_scheme
from survey_app.weighting.sample import MISSING, load_sample
from survey_app.weighting.spec import WeightingSpec
from survey_app.weighting.targets import TargetRows, read_targets
from tests.helpers.weights_console import field_wave, margins

pytestmark = pytest.mark.demo


def targets(text_rows: list[tuple[str, str, str]]) -> bytes:
    lines = ["variable;level;target", *(";".join(row) for row in text_rows)]
    return "\n".join(lines).encode("utf-8")


def test_vietnamese_and_english_separators(app: Flask) -> None:
    rows = read_targets(
        targets([("gender", "nam", "36.800"), ("gender", "nu", "1.234,5"), ("x", "y", "36,8")]),
        "t.csv",
    ).rows
    assert [r.target for r in rows] == [36800.0, 1234.5, 36.8]


def test_an_ambiguous_target_is_refused_with_both_readings(app: Flask) -> None:
    with force_locale("en"):
        read = read_targets(targets([("gender", "nam", "36,800")]), "t.csv")
    (error,) = read.refused  # reported with the other problems when checked
    assert read.rows == ()
    assert error.row == 2 and "36800" in error.message and "36.8" in error.message


def test_targets_a_thousand_times_too_small_are_warned_about(app: Flask) -> None:
    wave = field_wave()
    sample = load_sample(wave)
    rows = margins(sample, ["gender"], total=36.2)  # 36,200 read as 36.2
    spec = WeightingSpec(
        method="poststratify",
        targets=TargetRows.from_json({"layout": "long", "rows": [list(r) for r in rows]}),
    )
    with force_locale("en"):
        preview = preview_scheme(sample, spec)
    assert any("less than one person" in m for m in preview.messages)
    assert any("times the design weights' total" in m for m in preview.messages)
    sensible = WeightingSpec(
        method="poststratify",
        targets=TargetRows.from_json(
            {"layout": "long", "rows": [list(r) for r in margins(sample, ["gender"])]}
        ),
    )
    with force_locale("en"):
        assert not any("one person" in m for m in preview_scheme(sample, sensible).messages)


def test_no_answer_takes_no_target_unless_given(app: Flask) -> None:
    """A blank target for "_missing" (as the template leaves it): those respondents keep
    their design-weighted share, the census levels are scaled to the rest."""
    wave = field_wave()
    sample = load_sample(wave)
    variable = sample.variable("education")
    missing = variable.level(MISSING) if variable else None
    if missing is None or not missing.respondents:
        pytest.skip("the demo wave has no unanswered education item")
    known = [lv for lv in variable.levels if lv.code != MISSING and lv.respondents]
    rows = [("education", lv.code, str(1000 * (k + 1))) for k, lv in enumerate(known)]
    read = read_targets(targets([*rows, ("education", MISSING, "")]), "t.csv")
    assert not read.refused
    spec = WeightingSpec(method="poststratify", targets=read)
    with force_locale("en"):
        preview = preview_scheme(sample, spec)
    w0 = sample.design_weights
    codes = sample.values["education"]
    share = w0[codes == MISSING].sum() / w0.sum()
    total = sum(1000 * (k + 1) for k in range(len(known)))
    assert preview.weights[codes == MISSING].sum() == pytest.approx(share * total)
    first = codes == known[0].code
    assert preview.weights[first].sum() == pytest.approx(1000 * (1 - share))
    assert any("did not answer keep their share" in m for m in preview.messages)
