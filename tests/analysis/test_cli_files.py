"""``python -m analysis`` reads CSV files as spreadsheet programs write them.

Excel with Vietnamese settings saves "CSV" delimited by ``;`` with decimal commas, in
Windows-1258 (tone marks as combining characters), and "Unicode text" as UTF-16
delimited by tabs. Each subcommand must read every such file of the same data to the
same result, as R's ``read.csv2`` reads a ``;`` file; and a point in a number of a
``;`` file (Excel's thousands separator: "1.500" is 1500) is refused, never read as a
decimal.
"""

from __future__ import annotations

import io
import json
import unicodedata
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import csv_dialect
from analysis.cli import main, read_data
from analysis.cli_args import numeric_column, read_text_csv
from tests.helpers.encodings import OFFICE_ENCODINGS, windows_1258

# its English messages (python -m analysis speaks Vietnamese unless told otherwise)
pytestmark = pytest.mark.usefixtures("analysis_cli_in_english")

WARDS = ["Phường Bắc Hồng", "Phường Nguyễn Trãi", "Xã Quỳnh Liên", "Xã Ân Hữu"]


def sample() -> pd.DataFrame:
    """A stratified sample with decimal weights and Vietnamese domain labels."""
    rng = np.random.default_rng(20261205)
    n = 48
    return pd.DataFrame(
        {
            "tầng": np.repeat(["A", "B", "C"], n // 3),
            "psu": np.arange(n) // 2,
            "trọng_số": np.round(rng.uniform(1, 40, n), 3),
            "điểm": np.round(rng.uniform(0, 100, n), 2),
            "hài_lòng": rng.integers(0, 2, n),
            "phường": rng.choice(WARDS, n),
        }
    )


def written(frame: pd.DataFrame, dialect: str) -> bytes:
    """``frame`` as one spreadsheet program's CSV file."""
    if dialect.startswith("semicolon"):
        text = frame.to_csv(index=False, sep=";", decimal=",")
    elif dialect == "utf-16 tab":
        return frame.to_csv(index=False, sep="\t").encode("utf-16")
    else:
        text = frame.to_csv(index=False, sep="\t" if dialect == "tab" else ",")
    if dialect == "semicolon windows-1258":
        return windows_1258(text)
    return text.encode("utf-8-sig" if dialect == "comma bom" else "utf-8")


DIALECTS = [
    "comma",
    "comma bom",
    "tab",
    "utf-16 tab",
    "semicolon",
    "semicolon windows-1258",
]


def run(argv: list[str]) -> tuple[int, str]:
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        status = main(argv)
    return status, buffer.getvalue()


def file_for(tmp_path: Path, frame: pd.DataFrame, dialect: str) -> str:
    path = tmp_path / f"{dialect.replace(' ', '_')}.csv"
    path.write_bytes(written(frame, dialect))
    return str(path)


ESTIMATE = ["--weights", "trọng_số", "--strata", "tầng", "--ids", "psu", "--by", "phường"]


@pytest.mark.parametrize("dialect", DIALECTS[1:])
@pytest.mark.parametrize(
    "what",
    [
        ["--mean", "điểm"],
        ["--total", "điểm"],
        ["--ratio", "điểm/trọng_số"],
        ["--proportion", "hài_lòng=1"],
    ],
)
def test_estimate_reads_every_dialect_alike(tmp_path: Path, dialect: str, what: list[str]) -> None:
    frame = sample()
    status, plain = run(["estimate", file_for(tmp_path, frame, "comma"), *ESTIMATE, *what])
    assert status == 0
    status, other = run(["estimate", file_for(tmp_path, frame, dialect), *ESTIMATE, *what])
    assert status == 0
    assert json.loads(other) == json.loads(plain)
    domains = [e["by"]["phường"] for e in json.loads(other)["estimates"]]
    assert sorted(domains) == sorted(set(frame["phường"]))  # NFC, as typed


@pytest.mark.parametrize("dialect", DIALECTS[1:])
def test_weight_and_its_targets_read_every_dialect_alike(tmp_path: Path, dialect: str) -> None:
    frame = sample()
    targets = pd.DataFrame({"phường": WARDS, "target": [1250.5, 830.25, 2400.75, 610.0]})
    outputs = []
    for kind in ("comma", dialect):
        data = file_for(tmp_path, frame, kind)
        target_file = tmp_path / f"targets_{kind.replace(' ', '_')}.csv"
        target_file.write_bytes(written(targets, kind))
        out = tmp_path / f"out_{kind.replace(' ', '_')}.csv"
        argv = ["weight", data, "--weights", "trọng_số", "--poststratify", "phường"]
        status, _ = run([*argv, "--targets", str(target_file), "--out", str(out)])
        assert status == 0
        outputs.append(pd.read_csv(out)["adjusted_weight"].to_numpy())
    np.testing.assert_array_equal(outputs[1], outputs[0])
    assert outputs[0].sum() == pytest.approx(targets["target"].sum(), rel=1e-12)


@pytest.mark.parametrize("dialect", DIALECTS[1:])
def test_fh_reads_every_dialect_alike(tmp_path: Path, dialect: str) -> None:
    rng = np.random.default_rng(7)
    areas = pd.DataFrame(
        {
            "xã": [f"Xã Quỳnh {i}" for i in range(20)],
            "trực_tiếp": np.round(rng.uniform(0.3, 0.9, 20), 4),
            "phương_sai": np.round(rng.uniform(0.002, 0.02, 20), 5),
            "phản_hồi": np.round(rng.uniform(0.3, 0.9, 20), 4),
        }
    )
    argv = ["--direct", "trực_tiếp", "--variance", "phương_sai", "--covariates", "phản_hồi"]
    results = []
    for kind in ("comma", dialect):
        status, out = run(["fh", file_for(tmp_path, areas, kind), *argv, "--area", "xã"])
        assert status == 0
        results.append(json.loads(out))
    assert results[1] == results[0]


SEMICOLON_POINT = "trọng_số;điểm;tầng\n1.500;70;A\n2;80;A\n3;90;B\n4;60;B\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["estimate", "{data}", "--weights", "trọng_số", "--mean", "điểm"],
        ["weight", "{data}", "--weights", "trọng_số", "--trim", "1,3", "--out", "{out}"],
    ],
    ids=["estimate", "weight"],
)
def test_a_point_in_a_semicolon_file_is_refused(
    tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture
) -> None:
    data = tmp_path / "points.csv"
    data.write_text(SEMICOLON_POINT, encoding="utf-8")
    filled = [a.format(data=data, out=tmp_path / "out.csv") for a in argv]
    status, _ = run(filled)
    assert status == 2
    err = capsys.readouterr().err
    assert "column 'trọng_số': not a finite number in row 2" in err
    assert "with a decimal comma and no thousands separator, as 1500 or 1,5" in err
    assert not (tmp_path / "out.csv").exists()


def test_a_point_in_a_semicolon_targets_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data = file_for(tmp_path, sample(), "semicolon")
    targets = tmp_path / "targets.csv"
    targets.write_text("phường;target\n" + "".join(f"{w};1.500\n" for w in WARDS))
    argv = ["weight", data, "--weights", "trọng_số", "--poststratify", "phường"]
    status, _ = run([*argv, "--targets", str(targets), "--out", str(tmp_path / "o.csv")])
    assert status == 2
    err = capsys.readouterr().err
    assert "target '1.500' is not a number >= 0 (the file is delimited by ';'" in err


def test_text_that_is_no_encoding_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    data = tmp_path / "binary.csv"
    data.write_bytes(b"w,y\n1,\x81\x02\n")  # a C0 control: no spreadsheet writes it
    status, _ = run(["estimate", str(data), "--weights", "w", "--mean", "y"])
    assert status == 2
    assert "not a readable CSV file (not text in UTF-8" in capsys.readouterr().err


# ------------------------------------------------------------ the reading rule itself

numbers = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False).filter(
    lambda x: x == 0 or abs(x) > 1e-9
)
labels = st.text(
    alphabet=st.sampled_from("aăâbdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặờớởỡợỳýỷỹỵ ,;\"'"),
    min_size=1,
    max_size=12,
).filter(lambda s: s.strip() == s and s.strip())


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.tuples(numbers, labels), min_size=1, max_size=15),
    dialect=st.sampled_from(DIALECTS),
)
def test_any_numbers_and_labels_come_back_as_written(
    tmp_path_factory: pytest.TempPathFactory,
    values: list[tuple[float, str]],
    dialect: str,
) -> None:
    frame = pd.DataFrame({"số": [v for v, _ in values], "nhãn": [s for _, s in values]})
    path = tmp_path_factory.mktemp("dialect") / "data.csv"
    path.write_bytes(written(frame, dialect))
    text = read_text_csv(path)
    assert text["nhãn"].tolist() == frame["nhãn"].tolist()
    np.testing.assert_array_equal(numeric_column(text, "số", "--x"), frame["số"].to_numpy())
    direct = read_data(str(path))
    np.testing.assert_array_equal(direct["số"].to_numpy(float), frame["số"].to_numpy())


@pytest.mark.parametrize(
    ("first_line", "expected"),
    [
        ("a,b,c;d", ","),
        ("a;b;c", ";"),
        ("a\tb\tc", "\t"),
        ("abc", ","),
        ("đơn vị;dân số, người\nx,y,z", ";"),
        ("a,b\tc", "\t"),
    ],
)
def test_the_delimiter_is_the_first_lines_most_used(first_line: str, expected: str) -> None:
    assert csv_dialect.delimiter(first_line) == expected
    assert csv_dialect.decimal_sign(expected) == ("," if expected == ";" else ".")


@pytest.mark.parametrize("encode", OFFICE_ENCODINGS.values(), ids=OFFICE_ENCODINGS.keys())
def test_vietnamese_text_decodes_composed(encode: Callable[[str], bytes]) -> None:
    text = "Phường Nguyễn Trãi;Xã Quỳnh Liên"
    assert csv_dialect.decode(encode(text)) == unicodedata.normalize("NFC", text)
