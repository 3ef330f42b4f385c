"""The ``weight`` subcommand (analysis.cli_weight) against the R golden weights.

Expected weights: ``golden_weights.json`` (``tests/reference/make_golden_weights.R``,
R 4.2.2, survey 4.1.1); each case named below stores its R call.
"""

from __future__ import annotations

import argparse
import csv
import json

import numpy as np
import pytest

from analysis import mean
from analysis.cli import main
from analysis.cli_weight import add_adjustment_arguments, adjust_design_from_args
from tests.helpers.weighting_golden import DATA, base_design, case_by_name, frame

# its English messages (python -m analysis speaks Vietnamese unless told otherwise)
pytestmark = pytest.mark.usefixtures("analysis_cli_in_english")


@pytest.fixture
def apiclus1_csv(tmp_path):
    path = tmp_path / "apiclus1.csv"
    frame("apiclus1").to_csv(path, index=False)  # w0 = weights(svydesign(...)) from R
    return path


def _weights(path, column="adjusted_weight"):
    with open(path, newline="", encoding="utf-8") as fh:
        return np.array([float(r[column]) for r in csv.DictReader(fh)])


@pytest.mark.parametrize(
    ("case", "options"),
    [
        (
            "apiclus1/poststratify_stype_schwide",
            ["--poststratify", "stype,sch.wide", "--targets", "targets_stype_schwide.csv"],
        ),
        (
            "apiclus1/rake3_tight",
            [
                "--rake",
                "--margins",
                "margins_stype_schwide_compimp.csv",
                "--max-iter",
                "100",
                "--epsilon",
                "1e-12",
            ],
        ),
        (
            "apiclus1/calibrate_raking_bounded",
            [
                "--calibrate",
                "raking",
                "--totals",
                "totals_stype_schwide_compimp.csv",
                "--bounds",
                "0.1,1.35",
            ],
        ),
    ],
)
def test_weight_command_matches_r(case, options, apiclus1_csv, tmp_path):
    options = [str(DATA / o) if o.endswith(".csv") else o for o in options]
    out, report = tmp_path / "out.csv", tmp_path / "report.json"
    argv = [
        "weight",
        str(apiclus1_csv),
        "--weights",
        "w0",
        "--ids",
        "dnum",
        "--fpc",
        "fpc",
        *options,
        "--out",
        str(out),
        "--report",
        str(report),
    ]
    assert main(argv) == 0
    np.testing.assert_allclose(_weights(out), case_by_name(case)["weights"], rtol=1e-8, atol=0)
    summary = json.loads(report.read_text())
    assert summary["converged"] and summary["design"]["ids"] == ["dnum"]


def test_calibrate_then_strict_trim(apiclus1_csv, tmp_path):
    case = case_by_name("apiclus1/calibrate_linear_trim_strict")
    spec = case["spec"]
    out, report = tmp_path / "out.csv", tmp_path / "report.json"
    argv = [
        "weight",
        str(apiclus1_csv),
        "--weights",
        "w0",
        "--calibrate",
        "linear",
        "--totals",
        str(DATA / "totals_stype_api99.csv"),
        "--trim",
        f"{spec['lower']},{spec['upper']}",
        "--strict",
        "--out",
        str(out),
        "--report",
        str(report),
    ]
    assert main(argv) == 0
    np.testing.assert_allclose(_weights(out), case["weights"], rtol=1e-8, atol=0)
    steps = json.loads(report.read_text())["steps"]
    assert [s["method"] for s in steps] == ["calibrate-linear", "trim"]
    assert steps[1]["n_trimmed"] > 0


def test_nonconvergence_is_reported(apiclus1_csv, tmp_path, capsys):
    out, report = tmp_path / "out.csv", tmp_path / "report.json"
    argv = [
        "weight",
        str(apiclus1_csv),
        "--weights",
        "w0",
        "--rake",
        "--margins",
        str(DATA / "margins_stype_schwide_compimp.csv"),
        "--max-iter",
        "2",
        "--epsilon",
        "1e-12",
        "--out",
        str(out),
        "--report",
        str(report),
    ]
    assert main(argv) == 0
    assert "did not converge" in capsys.readouterr().err
    assert json.loads(report.read_text())["converged"] is False
    case = case_by_name("apiclus1/rake3_not_converged")  # R warned the same
    np.testing.assert_allclose(_weights(out), case["weights"], rtol=1e-8, atol=0)


def test_bad_margins_file_lists_rows(apiclus1_csv, tmp_path, capsys):
    bad = tmp_path / "margins.csv"
    bad.write_text("variable,level,target\nstype,E,abc\nstype,,4\n,H,3\nstype,E,1\n")
    argv = [
        "weight",
        str(apiclus1_csv),
        "--weights",
        "w0",
        "--rake",
        "--margins",
        str(bad),
        "--out",
        str(tmp_path / "out.csv"),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    for row in ("row 2", "row 3", "row 4"):
        assert row in err
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--rake"], "--rake needs --margins"),
        (["--poststratify", "nope", "--targets", "targets_stype.csv"], "missing column"),
        (
            ["--poststratify", "stype", "--targets", "targets_stype.csv", "--strict"],
            "--strict given without",
        ),
        ([], "give a method"),
    ],
)
def test_bad_arguments_exit_2(options, message, apiclus1_csv, tmp_path, capsys):
    options = [str(DATA / o) if o.endswith(".csv") else o for o in options]
    argv = [
        "weight",
        str(apiclus1_csv),
        "--weights",
        "w0",
        *options,
        "--out",
        str(tmp_path / "out.csv"),
    ]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_an_empty_cell_names_the_cli_flag_not_the_librarys_argument(
    lang, apiclus1_csv, tmp_path, capsys
):
    """A target for a cell without sample units: the command's advice is ``--partial``
    (the library's names its keyword argument, ``partial=True``); with it, the weights
    are written."""
    targets = tmp_path / "targets.csv"
    targets.write_text('"stype","target"\n"E",4421\n"H",755\n"M",1018\n"X",10\n')
    out = tmp_path / "out.csv"
    argv = ["--lang", lang, "weight", str(apiclus1_csv), "--weights", "w0",
            "--poststratify", "stype", "--targets", str(targets), "--out", str(out)]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "stype=X" in err and "--partial" in err and "partial=True" not in err
    assert ("ô mẫu trống" in err) == (lang == "vi")
    assert not out.exists()
    assert main([*argv, "--partial"]) == 0 and out.exists()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--max-iter", "0", "argument --max-iter: need at least 1, got 0"),
        ("--epsilon", "-1", "argument --epsilon: expected a positive number, got '-1'"),
        ("--epsilon", "nan", "argument --epsilon: expected a positive number, got 'nan'"),
    ],
)
def test_raking_options_are_refused_by_their_flags(
    option, value, message, apiclus1_csv, tmp_path, capsys
):
    """The command's parser refuses them, naming the flag (the library's own checks name
    its keyword arguments, maxit and epsilon), before anything is read or written."""
    margins = str(DATA / "margins_stype_schwide_compimp.csv")
    out = tmp_path / "out.csv"
    argv = ["weight", str(apiclus1_csv), "--weights", "w0", "--rake", "--margins", margins,
            option, value, "--out", str(out)]  # fmt: skip
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_argparse_errors_exit_2(apiclus1_csv, tmp_path):
    with pytest.raises(SystemExit) as info:
        main(
            [
                "weight",
                str(apiclus1_csv),
                "--weights",
                "w0",
                "--rake",
                "--calibrate",
                "linear",
                "--out",
                str(tmp_path / "o.csv"),
            ]
        )
    assert info.value.code == 2


def test_adjust_design_from_args_gives_r_se():
    """The hook for ``estimate``: svymean(~api00) on rake(dclus1, ...) as in the golden case."""
    case = case_by_name("apiclus1/rake2_default")
    parser = argparse.ArgumentParser()
    add_adjustment_arguments(parser)
    args = parser.parse_args(["--rake", "--margins", str(DATA / "margins_stype_schwide.csv")])
    design = base_design(case)
    adjusted = adjust_design_from_args(design, design.data, args)
    est = mean(adjusted, "api00", ci_method="normal")
    expected = case["estimates"][0]  # confint(svymean(~api00, design, deff = TRUE))
    np.testing.assert_allclose(
        [est.value, est.se], [expected["estimate"], expected["se"]], rtol=1e-8
    )


def test_estimate_with_weighting_options_gives_r_se(apiclus1_csv, capsys):
    """``python -m analysis estimate ... --calibrate`` uses the adjusted design's SEs."""
    from analysis.cli import main as analysis_main

    case = case_by_name("apiclus1/calibrate_linear")
    argv = [
        "estimate",
        str(apiclus1_csv),
        "--weights",
        "w0",
        "--ids",
        "dnum",
        "--fpc",
        "fpc",
        "--mean",
        "api00",
        "--calibrate",
        "linear",
        "--totals",
        str(DATA / "totals_stype_api99.csv"),
    ]
    assert analysis_main(argv) == 0
    est = json.loads(capsys.readouterr().out)["estimates"][0]
    expected = case["estimates"][0]  # confint(svymean(~api00, design, deff = TRUE))
    np.testing.assert_allclose(
        [est["estimate"], est["se"], est["deff"]],
        [expected["estimate"], expected["se"], expected["deff"]],
        rtol=1e-8,
    )


def test_weight_is_registered_in_analysis_cli(apiclus1_csv, tmp_path):
    from analysis.cli import main as analysis_main

    out = tmp_path / "out.csv"
    argv = [
        "weight",
        str(apiclus1_csv),
        "--weights",
        "w0",
        "--poststratify",
        "stype",
        "--targets",
        str(DATA / "targets_stype.csv"),
        "--out",
        str(out),
    ]
    assert analysis_main(argv) == 0
    expected = case_by_name("apiclus1/poststratify_stype")["weights"]
    np.testing.assert_allclose(_weights(out), expected, rtol=1e-8, atol=0)


def test_calibration_failure_names_the_cli_flags(apiclus1_csv, tmp_path, capsys):
    """Issue 13: the CLI has no force option; its message names --bounds, in plain numbers."""
    totals = tmp_path / "totals.csv"
    totals.write_text("variable,level,target\nstype,E,6000\nstype,H,100\nstype,M,94\n")
    argv = [
        "weight",
        str(apiclus1_csv),
        "--weights",
        "w0",
        "--calibrate",
        "raking",
        "--totals",
        str(totals),
        "--bounds",
        "0.9,1.1",
        "--out",
        str(tmp_path / "out.csv"),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "calibration failed to converge" in err
    assert "--bounds 0.9,1.1" in err
    assert "force" not in err and "np.float64" not in err
    assert not (tmp_path / "out.csv").exists()


def test_a_bad_weights_column_is_named_by_its_option_and_rows(apiclus1_csv, tmp_path, capsys):
    """The weights are read as every subcommand reads a numeric column
    (``cli_args.numeric_column``): the option, the column and the file's rows."""
    out = ["--trim", "1,100", "--out", str(tmp_path / "o.csv")]
    assert main(["weight", str(apiclus1_csv), "--weights", "nope", *out]) == 2
    assert "--weights 'nope': no such column (columns: " in capsys.readouterr().err
    data = frame("apiclus1").astype({"w0": object})
    data.loc[1, "w0"] = "n/a"  # file row 3 (the header is row 1)
    bad = tmp_path / "bad.csv"
    data.to_csv(bad, index=False)
    assert main(["weight", str(bad), "--weights", "w0", *out]) == 2
    assert "column 'w0': not a finite number in row 3" in capsys.readouterr().err
