"""``python -m analysis`` reads its data file while it imports (analysis/read_ahead.py).

The read is a guess made before the arguments are parsed; whatever the guess, the
command's answer is the one it gives without it: the same output for a good file, the
same message and status for a bad one, and a file changed since it was read ahead is
read again.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import read_ahead
from analysis.cli import main

ROOT = Path(__file__).resolve().parents[2]
ESTIMATE = ["--weights", "w", "--strata", "h", "--ids", "psu", "--nest", "--mean", "y",
            "--by", "unit", "--format", "csv"]  # fmt: skip


def big_csv(path: Path, *, sep: str = ",", rows: int = 160_000, seed: int = 5) -> Path:
    """A survey file over :data:`read_ahead.MIN_BYTES` (so that it is read ahead)."""
    rng = np.random.default_rng(seed)
    psu = rng.integers(0, 400, rows)
    frame = pd.DataFrame(
        {
            "h": psu // 20,
            "psu": psu,
            "unit": rng.choice(["Hoàng Mai", "Quỳnh Lưu", "Vinh"], rows),
            "w": np.exp(rng.normal(3, 0.4, rows)).round(6),
            "y": rng.integers(1, 6, rows),
        }
    )
    frame.to_csv(path, index=False, sep=sep, decimal="," if sep == ";" else ".")
    assert path.stat().st_size >= read_ahead.MIN_BYTES
    return path


def in_process(argv: list[str]) -> tuple[int, str, str]:
    """The command as tests call it: no read-ahead."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(["--lang", "en", *argv])
    return status, out.getvalue(), err.getvalue()


def command_line(argv: list[str]) -> tuple[int, str, str]:
    """The real command line, its output block-buffered as on a user's machine
    (tests/conftest.py leaves PYTHONUNBUFFERED out of the tests' environment)."""
    assert "PYTHONUNBUFFERED" not in os.environ
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "--lang", "en", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


def test_the_guess_is_the_first_file_after_estimate(tmp_path: Path) -> None:
    data = big_csv(tmp_path / "data.csv")
    small = tmp_path / "small.csv"
    small.write_text("w,y\n1,2\n")
    assert read_ahead.guess(["estimate", str(data), *ESTIMATE]) == str(data)
    assert read_ahead.guess(["--lang", "en", "estimate", "--weights", "w", str(data)]) == str(data)
    assert read_ahead.guess(["estimate", "--weights", str(tmp_path), str(data)]) == str(data)
    # not an estimate, a file too small to be worth a thread, no file at all
    assert read_ahead.guess(["fh", str(data)]) is None
    assert read_ahead.guess(["estimate", str(data), "--help"]) is None
    assert read_ahead.guess(["estimate", str(small), str(data)]) is None
    assert read_ahead.guess(["estimate", str(tmp_path / "none.csv")]) is None
    assert read_ahead.guess(["estimate", "nul\0byte"]) is None


@pytest.mark.parametrize("sep", [",", ";"])
def test_a_file_read_ahead_gives_the_same_answer(tmp_path: Path, sep: str) -> None:
    data = str(big_csv(tmp_path / "data.csv", sep=sep))
    expected = in_process(["estimate", data, *ESTIMATE])
    assert expected[0] == 0 and expected[1].count("\n") == 4  # a header and three units
    assert command_line(["estimate", data, *ESTIMATE]) == expected


def test_the_table_read_ahead_is_used_only_for_its_file_as_it_was(tmp_path: Path) -> None:
    data = big_csv(tmp_path / "data.csv")
    head = data.read_bytes()[: read_ahead.HEAD_BYTES]
    read_ahead.start(["estimate", str(data)])
    table = read_ahead.take(str(data), head)
    assert table is not None and table.num_rows == 160_000
    assert read_ahead.take(str(data), head) is None  # taken once
    read_ahead.start(["estimate", str(data)])
    assert read_ahead.take(str(tmp_path / "other.csv"), head) is None
    read_ahead.start(["estimate", str(data)])
    pending = read_ahead._pending
    assert pending is not None
    pending._thread.join()
    with data.open("a") as file:  # a row added after the read: the same first bytes
        file.write("1,1,Vinh,20.5,5\n")
    assert data.read_bytes()[: read_ahead.HEAD_BYTES] == head
    assert read_ahead.take(str(data), head) is None
    read_ahead.start(["estimate", str(data)])
    pending = read_ahead._pending
    assert pending is not None
    pending._thread.join()
    os.utime(data, ns=(0, 0))  # touched: the same bytes, another modification time
    assert read_ahead.take(str(data), head) is None


def test_a_bad_file_read_ahead_gives_the_same_message(tmp_path: Path) -> None:
    ragged = big_csv(tmp_path / "ragged.csv")
    with ragged.open("a") as file:
        file.write("1,2,3,4,5,6,7\n")
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes(big_csv(tmp_path / "plain.csv").read_text().encode("utf-16"))
    for path in (ragged, utf16):
        expected = in_process(["estimate", str(path), *ESTIMATE])
        assert command_line(["estimate", str(path), *ESTIMATE]) == expected, path.name


def test_the_whole_output_is_written_before_the_process_ends(tmp_path: Path) -> None:
    """``python -m analysis`` ends with ``os._exit`` (no finalization): everything it
    printed must be flushed first, a short answer (the other tests) and a long one: a
    JSON answer with a 60 x 60 covariance is far more than one buffer of a pipe."""
    rng = np.random.default_rng(7)
    rows = 4_000
    frame = pd.DataFrame(
        {"w": rng.uniform(1, 3, rows), "y": rng.normal(size=rows), "g": rng.integers(0, 60, rows)}
    )
    data = tmp_path / "data.csv"
    frame.to_csv(data, index=False)
    argv = ["estimate", str(data), "--weights", "w", "--mean", "y", "--by", "g"]
    status, out, err = command_line(argv)
    assert (status, err) == (0, "")
    assert len(out) > 64 * 1024
    assert json.loads(out) == json.loads(in_process(argv)[1])


def test_the_package_still_gives_every_name_it_lists() -> None:
    """``analysis`` imports its names when first used (so that the read can start before
    numpy, pandas and scipy): each name of ``__all__`` has a home, and is what it was."""
    import analysis
    from analysis import design, estimators, variance

    assert sorted(analysis._HOMES) == sorted(analysis.__all__)
    for name in analysis.__all__:
        home = __import__(analysis._HOMES[name], fromlist=[name])
        assert getattr(analysis, name) is getattr(home, name), name
    assert analysis.Design is design.Design and analysis.mean is estimators.mean
    assert analysis.design_covariance is variance.design_covariance
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        analysis.nothing  # noqa: B018
