"""``flask weights apply`` and ``flask export wave`` (issue 13: scripting for survey teams).

The fixture builds its own field wave: a district with two commune strata, a sample
frame of five PSUs that states each stratum's population of PSUs (``stratum_psus``:
12 and 9), and 60 paper questionnaires with answers drawn from a seeded generator (some
feedback criteria not asked or left unanswered). Every expected value below is computed from those
rows, by the console's own service or by ``analysis/``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyreadstat
import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from analysis.design import Design
from analysis.indices import AspectSpec, ItemColumns, build_formulas, estimate_on_design
from analysis.weighting.designs import calibrate_design, poststratify_design, rake_design
from survey_app.admin import accounts
from survey_app.extensions import db
from survey_app.models import AuditLog, ResponseWeight, Role, WeightingScheme
from survey_app.weighting.preview import preview
from survey_app.weighting.sample import load_sample
from survey_app.weighting.spec import WeightingSpec
from survey_app.weighting.targets import read_targets
from tests.helpers.cli_setup import (
    PASSWORD,
    RAKING_TARGETS,
    STRATUM_PSUS,
    WAVE,
    build_wave,
    targets_csv,
)


@pytest.fixture
def surveyed(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> FlaskCliRunner:
    """The wave, and the English output a script reads (SURVEY_LANG=en; the Vietnamese
    output is tested in test_cli_language)."""
    monkeypatch.setenv("SURVEY_LANG", "en")
    build_wave(app, runner, tmp_path, with_fpc=True)
    return runner


def codebook_of(path: Path) -> dict[str, str]:
    """The codebook's rows as key -> the last column (values or text)."""
    text = path.read_text(encoding="utf-8-sig")
    return {row[0]: row[3] for row in csv.reader(io.StringIO(text)) if row and row[0]}


# ----------------------------------------------------------------------------- weights apply


def margin_error(output: str) -> float:
    found = re.search(r"^largest margin error: (\S+)$", output, re.MULTILINE)
    assert found is not None, output
    return float(found.group(1))


def test_weights_apply_saves_activates_and_prints_the_diagnostics(
    surveyed: FlaskCliRunner, tmp_path: Path
) -> None:
    path = targets_csv(tmp_path, RAKING_TARGETS)
    result = surveyed.invoke(
        args=["weights", "apply", WAVE, str(path), "--method", "rake", "--trim", "1,30",
              "--activate"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    expected = ["converged: yes", "iterations: ", "largest margin error: ", "weight range: ",
                "weight CV: ", "Kish deff: ", "effective n: ", "trimmed: ", "  unweighted: ",
                "  design-weighted: ", "  new weights: ", "scheme cli-rake version 1 saved",
                "scheme cli-rake version 1 is now active"]  # fmt: skip
    for line in expected:
        assert line in result.output, line
    scheme = db.session.scalars(select(WeightingScheme)).one()
    assert (scheme.name, scheme.version, scheme.is_active, scheme.method) == (
        "cli-rake",
        1,
        True,
        "rake",
    )
    # The same weights as the console's service computes from the same inputs.
    sample = load_sample(scheme.wave)
    spec = WeightingSpec(
        method="rake",
        targets=read_targets(path.read_bytes(), path.name),
        trim_lower=1.0,
        trim_upper=30.0,
    )
    expected = preview(sample, spec).weights
    stored = dict(
        db.session.execute(
            select(ResponseWeight.response_id, ResponseWeight.weight).where(
                ResponseWeight.scheme_id == scheme.id
            )
        ).all()
    )
    got = np.array([stored[int(i)] for i in sample.response_ids])
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert scheme.params["trim"] == {"lower": 1.0, "upper": 30.0, "strict": False}
    assert f"trimmed: {scheme.report['final']['n_trimmed']}" in result.output
    entries = db.session.scalars(select(AuditLog).where(AuditLog.action.like("weighting.%")))
    assert [(e.action, e.username, e.user_id) for e in entries] == [
        ("weighting.create", "system", None),
        ("weighting.activate", "system", None),
    ]
    again = surveyed.invoke(args=["weights", "apply", WAVE, str(path), "--method", "rake"])
    assert again.exit_code == 0, again.output
    assert "scheme cli-rake version 2 saved" in again.output and "not active" in again.output
    db.session.expire_all()
    active = db.session.scalars(select(WeightingScheme).where(WeightingScheme.is_active)).one()
    assert (active.name, active.version) == ("cli-rake", 1)


def test_weights_apply_calibration_and_poststratification(
    surveyed: FlaskCliRunner, tmp_path: Path
) -> None:
    path = targets_csv(tmp_path, RAKING_TARGETS)
    for method, stored in (("linear", "calibrate-linear"), ("raking", "calibrate-raking")):
        result = surveyed.invoke(args=["weights", "apply", WAVE, str(path), "--method", method])
        assert result.exit_code == 0, result.output
        scheme = db.session.scalar(
            select(WeightingScheme).where(WeightingScheme.name == f"cli-{method}")
        )
        assert scheme is not None and scheme.method == stored and not scheme.is_active
    cells = targets_csv(tmp_path, RAKING_TARGETS[:2])
    result = surveyed.invoke(
        args=["weights", "apply", WAVE, str(cells), "--method", "poststratify"]
    )
    assert result.exit_code == 0, result.output
    assert margin_error(result.output) < 1e-9


def test_weights_apply_reports_problems_by_row_and_column_and_saves_nothing(
    surveyed: FlaskCliRunner, tmp_path: Path
) -> None:
    bad = [*RAKING_TARGETS[:3], ("gender", "khac", 10.0), ("gender", "nu", "many")]
    path = targets_csv(tmp_path, bad)
    result = surveyed.invoke(args=["weights", "apply", WAVE, str(path), "--method", "rake"])
    assert result.exit_code == 1
    assert "targets.csv: row 5, column " in result.output  # the unknown level khac
    assert "targets.csv: row 6, column " in result.output  # the target that is no number
    assert "nothing was saved" in result.output
    assert db.session.scalar(select(func.count()).select_from(WeightingScheme)) == 0
    assert db.session.scalar(select(func.count()).select_from(ResponseWeight)) == 0
    trim = surveyed.invoke(
        args=["weights", "apply", WAVE, str(path), "--method", "rake", "--trim", "a,b"]
    )
    assert trim.exit_code == 2 and "--trim" in trim.output
    unknown = surveyed.invoke(args=["weights", "apply", "NOPE", str(path), "--method", "rake"])
    assert unknown.exit_code == 1 and "no wave NOPE" in unknown.output


# ----------------------------------------------------------------------------- export wave


def test_export_wave_writes_the_data_and_a_codebook_with_the_design(
    surveyed: FlaskCliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "w.csv"
    result = surveyed.invoke(args=["export", "wave", WAVE, "--format", "csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = pd.read_csv(out, encoding="utf-8-sig")
    assert len(data) == 60
    columns = list(data.columns)
    assert columns[columns.index("psu") + 1 : columns.index("psu") + 3] == ["fpc", "design_weight"]
    assert (data["fpc"] == data["stratum"].map(STRATUM_PSUS)).all()
    book = codebook_of(tmp_path / "w-codebook.csv")
    assert book["wave_dates"] == "2024-03-01 – 2024-03-31"
    assert book["panel_of"] == "No" and book["lonely_psu"] == "adjust"
    assert book["weight"] == "design_weight"
    assert book["index_satisfied_levels"] == "4 = Satisfied; 5 = Very satisfied"
    assert book["index_aspect_access"].startswith("acc1, acc2, acc3, acc4, acc5 (")
    assert book["index_overall"] == "the unweighted mean of the aspect indices"
    assert book["r_design"] == (
        'library(survey)\noptions(survey.lonely.psu="adjust")\n'
        "d <- svydesign(ids=~psu, strata=~stratum, weights=~design_weight, fpc=~fpc, "
        "data=x, nest=TRUE)"
    )
    assert 'x <- read.csv("w.csv", fileEncoding = "UTF-8-BOM")' in book["r_prepare"]
    assert book["stata_design"] == (
        "svyset psu [pweight=design_weight], strata(stratum) fpc(fpc) singleunit(centered)"
    )
    assert "nlcom (0.2 * _b[s1]/_b[v1] + 0.2 * _b[s2]" in book["stata_overall_index"]
    assert "svycontrast(t, quote(0.2 * s1/v1 + 0.2 * s2/v2" in book["r_overall_index"]
    export = db.session.scalars(select(AuditLog).where(AuditLog.action == "data.export")).one()
    assert export.username == "system" and export.details["rows"] == 60


@pytest.mark.parametrize(("fmt", "book"), [("xlsx", "xlsx"), ("sav", "csv")])
def test_export_wave_other_formats_and_no_fpc_without_stratum_psus(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, fmt: str, book: str
) -> None:
    build_wave(app, runner, tmp_path, with_fpc=False)
    out = tmp_path / f"wave.{fmt}"
    result = runner.invoke(args=["export", "wave", WAVE, "--format", fmt, "--out", str(out)])
    assert result.exit_code == 0, result.output
    codebook = tmp_path / f"wave-codebook.{book}"
    if fmt == "xlsx":
        workbook = openpyxl.load_workbook(out)
        header = [cell.value for cell in workbook["data"][1]]
        rows = openpyxl.load_workbook(codebook)["codebook"].iter_rows(values_only=True)
        notes = {row[0]: row[3] for row in rows if row[0]}
        assert 'readxl::read_excel("wave.xlsx", sheet = "data")' in notes["r_prepare"]
    else:
        frame, _meta = pyreadstat.read_sav(str(out))
        header = list(frame.columns)
        notes = codebook_of(codebook)
        assert 'haven::read_sav("wave.sav")' in notes["r_prepare"]
    assert "fpc" not in header and "design_weight" in header
    assert "fpc" not in notes["r_design"] and "fpc(" not in notes["stata_design"]
    assert notes["stata_design"] == (
        "svyset psu [pweight=design_weight], strata(stratum) singleunit(centered)"
    )


def weighted_design(data: pd.DataFrame, step: dict) -> Design:
    """The codebook's design on the design weights, then its weighting step
    (``weighting_spec``) applied with analysis/ as its ``r_weighting`` lines do in R."""
    design = Design.from_arrays(
        data["design_weight"].to_numpy(),
        strata=data["stratum"].to_numpy(),
        ids=data["psu"].to_numpy(),
        fpc=data["fpc"].to_numpy(),  # the sample frame's PSUs per stratum
        nest=True,
    )
    columns = step["columns"]
    values = {c: data[c].fillna(step["missing_value"]).to_numpy() for c in columns}
    margins = {c: {v: t for v, t in step["targets"][c]} for c in columns}
    if step["method"] == "poststratify":
        column = columns[0]
        return poststratify_design(design, column, margins[column], data=values).design
    if step["method"] == "rake":
        maxit, epsilon = step["max_iter"], step["epsilon"]
        return rake_design(design, margins, maxit=maxit, epsilon=epsilon, data=values).design
    calfun = step["method"].removeprefix("calibrate-")
    return calibrate_design(design, margins, calfun=calfun, data=values).design


@pytest.mark.parametrize(
    ("method", "targets"),
    [
        ("rake", RAKING_TARGETS),
        ("linear", RAKING_TARGETS),
        ("raking", RAKING_TARGETS),
        ("poststratify", RAKING_TARGETS[2:]),
    ],
)
def test_exported_csv_recomputes_the_published_overall_index(
    surveyed: FlaskCliRunner,
    client: FlaskClient,
    tmp_path: Path,
    method: str,
    targets: list[tuple[str, str, object]],
) -> None:
    """The codebook's rule, design and weighting step, applied to the exported file
    with analysis/ (the estimators R's svydesign + rake/calibrate/postStratify +
    svycontrast run), give the figure the API publishes, SE included, after
    ``weights apply --activate``."""
    path = targets_csv(tmp_path, targets)
    applied = surveyed.invoke(
        args=["weights", "apply", WAVE, str(path), "--method", method, "--activate"]
    )
    assert applied.exit_code == 0, applied.output
    out = tmp_path / "wave.csv"
    result = surveyed.invoke(args=["export", "wave", WAVE, "--format", "csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = pd.read_csv(out, encoding="utf-8-sig")
    book = codebook_of(tmp_path / "wave-codebook.csv")
    assert book["weight"] == "scheme_weight" and "weights=~design_weight" in book["r_design"]
    step = json.loads(book["weighting_spec"])
    r_call = {"rake": "rake(d, ", "poststratify": "postStratify(d, "}.get(method, "calibrate(d, ")
    assert r_call in book["r_weighting"]
    satisfied = [int(part.split(" = ")[0]) for part in book["index_satisfied_levels"].split("; ")]
    aspects = [
        AspectSpec(key.removeprefix("index_aspect_"), tuple(text.split(" (")[0].split(", ")))
        for key, text in book.items()
        if key.startswith("index_aspect_")
    ]
    assert book["index_overall"] == "the unweighted mean of the aspect indices"
    items = tuple(item for aspect in aspects for item in aspect.items)
    layout = ItemColumns(items)
    overall = build_formulas(aspects, layout)[0]
    assert (overall.code, overall.kind) == ("overall", "rate")
    values = np.zeros((len(data), layout.width))
    for item in items:
        answers = data[item].to_numpy()
        values[:, layout.column(item, "S")] = np.isin(answers, satisfied)
        values[:, layout.column(item, "V")] = ~np.isnan(answers)
    data = data[data["flagged"] == 0]  # as the codebook's commands do (none is flagged here)
    design = weighted_design(data, step)
    np.testing.assert_allclose(design.weights, data["scheme_weight"].to_numpy(), rtol=1e-9)
    estimate = estimate_on_design(design, values[data.index.to_numpy()], overall)

    accounts.create_user("analyst", PASSWORD, Role.ANALYST, None)
    client.post("/auth/login", data={"username": "analyst", "password": PASSWORD})
    body = client.get(f"/api/v1/indices?unit=X&wave={WAVE}&index=overall&kind=rate").get_json()
    (figure,) = body["figures"]
    assert figure["scheme"].startswith(f"cli-{method}")
    assert estimate.value == pytest.approx(figure["value"], abs=1e-9)
    assert estimate.se == pytest.approx(figure["se"], abs=1e-9)
    assert figure["fpc"] is True and figure["lonely_psu"] == "adjust"
    assert figure["n"] == estimate.n == 60
