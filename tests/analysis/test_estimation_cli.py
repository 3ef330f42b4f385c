"""The ``python -m analysis estimate`` command: output formats and exit status 2."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import build_parser, main

# its English messages (python -m analysis speaks Vietnamese unless told otherwise)
pytestmark = pytest.mark.usefixtures("analysis_cli_in_english")

ROOT = Path(__file__).resolve().parents[2]
CLUS1 = str(ROOT / "tests" / "reference" / "data" / "apiclus1.csv")
GOLDEN = json.loads((ROOT / "tests" / "reference" / "golden_estimation.json").read_text())


def run(argv: list[str]) -> tuple[int, str]:
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        status = main(argv)
    return status, buffer.getvalue()


def golden(case_id: str) -> dict:
    return next(c for c in GOLDEN["cases"] if c["id"] == case_id)["values"]


def test_json_mean_matches_r() -> None:
    status, out = run(
        ["estimate", CLUS1, "--weights", "pw", "--ids", "dnum", "--fpc", "fpc", "--mean", "api00"]
    )
    assert status == 0
    payload = json.loads(out)
    assert payload["design"]["degf"] == 14
    (est,) = payload["estimates"]
    ref = golden("clus1 mean api00")  # svymean(~api00, d_clus1, deff=TRUE)
    assert est["by"] == {}
    assert est["estimate"] == pytest.approx(ref["estimate"], rel=1e-12)
    assert est["se"] == pytest.approx(ref["se"], rel=1e-10)
    assert est["ci_low"] == pytest.approx(ref["ci_low"], rel=1e-10)
    assert set(est) == {"by", "estimate", "se", "ci_low", "ci_high", "df", "deff", "n", "n_eff"}


def test_csv_domains_and_proportion_level() -> None:
    status, out = run(
        ["estimate", CLUS1, "--weights", "pw", "--ids", "dnum", "--fpc", "fpc",
         "--proportion", "sch.wide=Yes", "--by", "stype", "--ci-method", "beta",
         "--format", "csv"]
    )  # fmt: skip
    assert status == 0
    table = pd.read_csv(io.StringIO(out))
    ref = golden("clus1 svyciprop by stype")
    assert list(table["stype"]) == ["E", "H", "M"]
    assert table["ci_low"].tolist() == pytest.approx(ref["ci_low_beta"], rel=1e-9)
    assert table["df"].tolist() == ref["df"]


def test_replicates_and_ratio() -> None:
    status, out = run(
        ["estimate", CLUS1, "--weights", "pw", "--ids", "dnum", "--fpc", "fpc",
         "--ratio", "api.stu/enroll", "--replicates", "jk1"]
    )  # fmt: skip
    assert status == 0
    est = json.loads(out)["estimates"][0]
    assert est["se"] == pytest.approx(golden("replicate jk1")["ratio_se"], rel=1e-9)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--weights", "nope", "--mean", "api00"], "weights column 'nope'"),
        (["--weights", "pw", "--mean", "nope"], "'nope' is not in the data"),
        (["--weights", "pw", "--proportion", "api00"], "not binary"),
        (["--weights", "pw", "--proportion", "sch.wide=Maybe"], "does not occur"),
        (["--weights", "pw", "--mean", "api00", "--ci-method", "wald"], "valid methods"),
        (["--weights", "pw", "--ratio", "api00"], "NUM/DEN"),
        (["--weights", "pw", "--strata", "dnum", "--mean", "api00"], "only one sampled unit"),
    ],
)
def test_bad_data_exits_2(argv: list[str], message: str, capsys: pytest.CaptureFixture) -> None:
    assert main(["estimate", CLUS1, *argv]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["estimate", CLUS1, "--weights", "pw"],  # no statistic
        ["estimate", CLUS1, "--weights", "pw", "--mean", "a", "--total", "b"],
        ["estimate", CLUS1, "--weights", "pw", "--mean", "a", "--level", "95"],
        ["estimate", CLUS1, "--weights", "pw", "--mean", "a", "--lonely-psu", "drop"],
        ["frobnicate"],
    ],
)
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["estimate", str(tmp_path / "none.csv"), "--weights", "w", "--mean", "y"]) == 2
    assert "none.csv: no such file" in capsys.readouterr().err


def test_parser_has_one_function_per_subcommand() -> None:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert "estimate" in sub.choices


def test_module_entry_point_subprocess() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "estimate", CLUS1, "--weights", "pw",
         "--ids", "dnum", "--total", "enroll", "--format", "json"],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    est = json.loads(proc.stdout)["estimates"][0]
    ref = golden("clus1_nofpc total enroll")  # svytotal(~enroll, d_clus1_nofpc, ...)
    assert est["se"] == pytest.approx(ref["se"], rel=1e-10)
    bad = subprocess.run(
        [sys.executable, "-m", "analysis", "estimate", CLUS1, "--weights", "pw"],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2


def test_deff_option_true_and_replace() -> None:
    """--deff true (default) is R's deff=TRUE, --deff replace R's deff="replace"."""
    ref = golden("clus1_nofpc deff TRUE and replace")  # svymean(~api00, d_clus1_nofpc, deff=D)
    base = ["estimate", CLUS1, "--weights", "pw", "--ids", "dnum", "--mean", "api00"]
    for extra, key in (([], "mean_true"), (["--deff", "replace"], "mean_replace")):
        status, out = run(base + extra)
        assert status == 0
        (est,) = json.loads(out)["estimates"]
        assert est["deff"] == pytest.approx(ref[key], rel=1e-10)
