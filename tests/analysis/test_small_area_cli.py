"""The ``python -m analysis fh`` command: output against the R golden file, hostile
input with exit status 2 and one clear message."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cli import main

# its English messages (python -m analysis speaks Vietnamese unless told otherwise)
pytestmark = pytest.mark.usefixtures("analysis_cli_in_english")

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "reference" / "data_fh"
COMMUNES = str(DATA / "communes.csv")
ZERO = str(DATA / "zero_sigma.csv")
GOLDEN = json.loads((ROOT / "tests" / "reference" / "golden_fh.json").read_text())
CASES = {c["name"]: c for c in GOLDEN["cases"]}
BASE = ["fh", COMMUNES, "--direct", "direct", "--variance", "variance"]
COVS = ["--covariates", "feedback,previous", "--area", "area"]


def run(argv: list[str]) -> tuple[int, str]:
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        status = main(argv)
    return status, buffer.getvalue()


def none_to_nan(values: list) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


@pytest.mark.parametrize("method", ["reml", "ml"])
def test_json_matches_r(method: str) -> None:
    status, out = run([*BASE, *COVS, "--method", method])
    assert status == 0
    payload = json.loads(out)
    assert list(payload) == ["method", "sigma2_u", "beta", "areas"]
    ref = CASES[f"communes_{method}"]  # fh_fit(y, vardir, X, "REML"/"ML")
    assert payload["method"] == method
    assert payload["sigma2_u"] == pytest.approx(ref["sigma2_u"], rel=1e-8)
    assert [b["name"] for b in payload["beta"]] == ["(Intercept)", "feedback", "previous"]
    assert all(set(b) == {"name", "estimate", "se"} for b in payload["beta"])
    np.testing.assert_allclose([b["estimate"] for b in payload["beta"]], ref["beta"], rtol=1e-8)
    np.testing.assert_allclose([b["se"] for b in payload["beta"]], ref["beta_se"], rtol=1e-8)
    areas = payload["areas"]
    assert [a["area"] for a in areas] == ref["areas"]
    assert all(list(a) == ["area", "direct", "eblup", "mse", "gamma", "synthetic"] for a in areas)
    for field in ("eblup", "mse", "gamma", "synthetic"):
        np.testing.assert_allclose(
            none_to_nan([a[field] for a in areas]), none_to_nan(ref[field]), rtol=1e-8
        )


def test_area_without_direct_gets_synthetic_and_its_mse() -> None:
    _, out = run([*BASE, *COVS])
    c08 = next(a for a in json.loads(out)["areas"] if a["area"] == "C08")
    ref = CASES["communes_reml"]
    i = ref["areas"].index("C08")
    assert c08["direct"] is None and c08["gamma"] is None
    assert c08["eblup"] == c08["synthetic"]
    assert c08["mse"] == pytest.approx(ref["synthetic_mse"][i], rel=1e-8)


def test_sigma_at_zero_is_noted(capsys: pytest.CaptureFixture) -> None:
    status, out = run(["fh", ZERO, "--direct", "direct", "--variance", "variance",
                       "--covariates", "x"])  # fmt: skip
    assert status == 0
    payload = json.loads(out)
    assert payload["sigma2_u"] == 0
    assert [a["area"] for a in payload["areas"]][:2] == ["1", "2"]  # row numbers
    assert all(a["gamma"] == 0 for a in payload["areas"])
    assert "sigma2_u is 0" in capsys.readouterr().err


def test_arcsin_transform_matches_r_integration(capsys: pytest.CaptureFixture) -> None:
    ref = GOLDEN["arcsin"]
    status, out = run(
        ["fh", COMMUNES, "--direct", "direct", *COVS, "--transform", "arcsin", "--n", "n_eff"]
    )
    assert status == 0
    payload = json.loads(out)
    assert payload["sigma2_u"] == pytest.approx(ref["sigma2_u"], rel=1e-8)
    np.testing.assert_allclose([a["eblup"] for a in payload["areas"]], ref["estimate"], rtol=1e-8)
    np.testing.assert_allclose([a["mse"] for a in payload["areas"]], ref["estimate_mse"], rtol=1e-8)
    assert capsys.readouterr().err == ""


def test_csv_format() -> None:
    status, out = run([*BASE, *COVS, "--format", "csv"])
    assert status == 0
    table = pd.read_csv(io.StringIO(out))
    assert list(table.columns) == ["area", "direct", "eblup", "mse", "gamma", "synthetic"]
    assert len(table) == 24


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "areas.csv"
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return str(path)


GOOD_ROWS = "".join(f"A{i},{0.5 + 0.02 * i},0.01,{i / 10}\n" for i in range(1, 8))


@pytest.mark.parametrize(
    ("text", "extra", "message"),
    [
        ("area,direct,variance,x\n" + GOOD_ROWS + "A9,abc,0.01,1\n", [],
         "column 'direct': not a finite number in row 9"),
        ("area,direct,variance,x\n" + GOOD_ROWS + "A9,0.5,,1\n", [],
         "column 'variance': empty in row 9, which has a direct estimate"),
        ("area,direct,variance,x\n" + GOOD_ROWS + "A9,0.5,0,1\n", [],
         "sampling variance must be positive"),
        ("area,direct,variance,x\n" + GOOD_ROWS + "A9,0.5,-1,1\n", [],
         "sampling variance must be positive"),
        ("area,direct,variance,x\n" + GOOD_ROWS + "A9,0.5,0.01,\n", [],
         "column 'x': empty in row 9"),
        ("area,direct,variance,x\n" + GOOD_ROWS + "A9,inf,0.01,1\n", [],
         "column 'direct': not a finite number in row 9"),
        ("area,direct,variance,x\n" + GOOD_ROWS + "A1,0.5,0.01,1\n", [],
         "area labels repeat: A1"),
        # many bad rows: the first five, then " ..." (as every refusal of a column)
        ("area,direct,variance,x\n" + re.sub(r"^A\d", "", GOOD_ROWS, flags=re.M), [],
         "column 'area': empty area label in row 2, 3, 4, 5, 6 ...\n"),
        ("area,direct,variance,x\n" + GOOD_ROWS.replace(",0.01,", ",,"), [],
         "column 'variance': empty in row 2, 3, 4, 5, 6 ..., which has a direct estimate"),
        ("area,direct,variance,x\nA1,0.5,0.01,1\nA2,0.6,0.01,2\n", [],
         "need more areas than covariates"),
        ("area,direct,variance,x\n" + GOOD_ROWS.replace(",0.", ",0.", 1), ["--covariates", "x,x"],
         "a column is named twice"),
        ("area,direct,variance,x\n", [], "no area rows"),
        ("", [], "not a readable CSV file"),
        ("area,direct,variance,x\n" + GOOD_ROWS, ["--covariates", "y"],
         "--covariates 'y': no such column (columns: area, direct, variance, x)"),
        ("area,direct,variance,x\n" + GOOD_ROWS, ["--transform", "arcsin"],
         "--transform arcsin needs --n COL"),
        ("area,direct,variance,x\n" + GOOD_ROWS, ["--n", "x"], "--n is only used with"),
        ("area,direct,variance,x\n" + GOOD_ROWS + "A9,1.5,0.01,1\n",
         ["--transform", "arcsin", "--n", "x"], "between 0 and 1"),
        ("area,direct,variance,x,z\n" + GOOD_ROWS.replace("\n", ",1\n"),
         ["--covariates", "x,z"], "collinear"),
    ],
)  # fmt: skip
def test_hostile_input_exits_2(
    tmp_path: Path, text: str, extra: list[str], message: str, capsys: pytest.CaptureFixture
) -> None:
    path = write(tmp_path, text)
    argv = ["fh", path, "--direct", "direct", "--variance", "variance", "--area", "area"]
    if "--covariates" not in extra:
        argv += ["--covariates", "x"]
    status, out = run(argv + extra)
    err = capsys.readouterr().err
    assert status == 2, err
    assert out == ""
    assert err.startswith("error: ") and message in err, err
    assert "Traceback" not in err


def test_missing_variance_option_and_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert run(["fh", COMMUNES, "--direct", "direct", *COVS])[0] == 2
    assert "--variance COL is required" in capsys.readouterr().err
    assert run(["fh", str(tmp_path / "nope.csv"), "--direct", "d", "--variance", "v",
                "--covariates", "x"])[0] == 2  # fmt: skip
    assert "no such file" in capsys.readouterr().err
    assert run(["fh", str(tmp_path), "--direct", "d", "--variance", "v",
                "--covariates", "x"])[0] == 2  # fmt: skip
    assert "is a directory" in capsys.readouterr().err


def test_binary_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "bin.csv"
    path.write_bytes(b"\xff\xfe\x00\x01garbage\x00")
    status, _ = run(["fh", str(path), "--direct", "d", "--variance", "v", "--covariates", "x"])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("error: ") and "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["fh", COMMUNES, "--variance", "variance", "--covariates", "feedback"],
        [*BASE, *COVS, "--method", "bayes"],
        [*BASE, *COVS, "--transform", "logit"],
        [*BASE, "--covariates", "feedback,,previous"],
    ],
)
def test_bad_arguments_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2


def test_module_entry_point_subprocess() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", *BASE, *COVS, "--method", "ml"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["sigma2_u"] == pytest.approx(
        CASES["communes_ml"]["sigma2_u"], rel=1e-8
    )
