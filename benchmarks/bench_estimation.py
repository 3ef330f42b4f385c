"""Benchmark: by-domain means with standard errors on 1,000,000 simulated responses.

Design: 60 strata x 50 PSUs (desks) = 3,000 PSUs, unequal weights; domains are
50 units x 4 waves = 200 (``by=[unit, wave]``). Runs, on the same data in one run:

* ours: ``Design.from_arrays`` + :func:`analysis.mean` with ``by=``;
* R: ``svydesign`` + ``svyby(~y, ~unit+wave, design, svymean)`` (``Rscript`` in a
  subprocess, data passed as binary files; skipped when R or survey is missing);
* the ``svy`` package (PyPI, Rust core) from its own environment
  ``benchmarks/.venv-peer`` (``benchmarks/setup_peer.sh`` creates it; skipped when
  absent).

Prints each tool's time, the ratio to ours, and the largest relative difference of
the 200 estimates and SEs from R's. Not part of the test suite.

Usage::

    .venv/bin/python benchmarks/bench_estimation.py [--n 1000000] [--seed 3] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis import Design, mean  # noqa: E402

PEER_PYTHON = ROOT / "benchmarks" / ".venv-peer" / "bin" / "python"
COLUMNS = {"h": np.int32, "psu": np.int32, "unit": np.int32, "wave": np.int32}


def simulate(n: int, seed: int) -> dict[str, np.ndarray]:
    """60 strata x 50 PSUs; each PSU (desk) belongs to one of 50 units; 4 waves."""
    rng = np.random.default_rng(seed)
    psu = rng.integers(0, 3000, size=n).astype(np.int32)
    h = (psu // 50).astype(np.int32)
    unit = (psu % 50).astype(np.int32)
    wave = rng.integers(1, 5, size=n).astype(np.int32)
    w = np.exp(rng.normal(0, 0.5, size=3000))[psu] * rng.uniform(0.5, 1.5, size=n) * 30
    effect = rng.normal(0, 8, size=3000)[psu] + rng.normal(0, 5, size=50)[unit] + 2.0 * wave
    y = np.clip(60 + effect + rng.normal(0, 20, size=n), 0, 100)
    return {"h": h, "psu": psu, "unit": unit, "wave": wave, "w": w, "y": y}


def run_ours(data: dict[str, np.ndarray], repeat: int) -> tuple[float, np.ndarray, np.ndarray]:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        design = Design.from_arrays(data["w"], strata=data["h"], ids=data["psu"])
        res = mean(design, data["y"], by=[data["unit"], data["wave"]])
        best = min(best, time.perf_counter() - t0)
    order = np.lexsort((np.array([lab[1] for lab in res.labels]),
                        np.array([lab[0] for lab in res.labels])))  # fmt: skip
    est = res.values[order]
    se = np.array([e.se for e in res])[order]
    return best, est, se


R_SCRIPT = textwrap.dedent(
    """
    suppressPackageStartupMessages(library(survey))
    args <- commandArgs(TRUE); dir <- args[1]; n <- as.integer(args[2])
    rd <- function(name, what, size) readBin(file.path(dir, name), what, n = n, size = size)
    df <- data.frame(h = rd("h.bin", integer(), 4), psu = rd("psu.bin", integer(), 4),
                     unit = rd("unit.bin", integer(), 4), wave = rd("wave.bin", integer(), 4),
                     w = rd("w.bin", double(), 8), y = rd("y.bin", double(), 8))
    t <- system.time({
      d <- svydesign(ids = ~psu, strata = ~h, weights = ~w, data = df)
      b <- svyby(~y, ~unit + wave, d, svymean)
    })[["elapsed"]]
    o <- order(b$unit, b$wave)
    writeBin(as.double(coef(b))[o], file.path(dir, "r_est.bin"))
    writeBin(as.double(SE(b))[o], file.path(dir, "r_se.bin"))
    cat(t, "\\n")
    """
)

SVY_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import numpy as np, polars as pl, svy
    d, n = sys.argv[1], int(sys.argv[2])
    cols = {c: np.fromfile(f"{d}/{c}.bin", dtype=np.int32) for c in ("h", "psu", "unit", "wave")}
    cols.update({c: np.fromfile(f"{d}/{c}.bin", dtype=np.float64) for c in ("w", "y")})
    frame = pl.DataFrame(cols)
    t0 = time.perf_counter()
    sample = svy.Sample(data=frame, design=svy.Design(stratum="h", psu="psu", wgt="w"))
    est = sample.estimation.mean("y", by=["unit", "wave"])
    seconds = time.perf_counter() - t0
    table = est.to_polars().sort(["unit", "wave"])
    table["est"].to_numpy().astype(np.float64).tofile(f"{d}/svy_est.bin")
    table["se"].to_numpy().astype(np.float64).tofile(f"{d}/svy_se.bin")
    print(seconds)
    """
)


Timed = tuple[float, np.ndarray, np.ndarray]


def _run_peer(
    program: str, script: str, script_name: str, tmp: Path, n: int, prefix: str
) -> tuple[Timed | None, str]:
    """Run ``script`` (written to ``tmp / script_name``) with ``program`` on the binary files in
    ``tmp``; it prints its seconds last and writes ``{prefix}_est.bin`` and
    ``{prefix}_se.bin``. On failure: None and the last line of its error output."""
    path = tmp / script_name
    path.write_text(script)
    proc = subprocess.run(
        [program, str(path), str(tmp), str(n)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        return None, (proc.stderr.strip().splitlines() or [f"{prefix} failed"])[-1]
    seconds = float(proc.stdout.split()[-1])
    return (
        seconds,
        np.fromfile(tmp / f"{prefix}_est.bin"),
        np.fromfile(tmp / f"{prefix}_se.bin"),
    ), ""


def run_r(tmp: Path, n: int) -> tuple[Timed | None, str]:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None, "Rscript not found"
    return _run_peer(rscript, R_SCRIPT, "bench.R", tmp, n, "r")


def run_svy(tmp: Path, n: int) -> tuple[Timed | None, str]:
    if not PEER_PYTHON.exists():
        return None, "benchmarks/.venv-peer missing (run benchmarks/setup_peer.sh)"
    return _run_peer(str(PEER_PYTHON), SVY_SCRIPT, "svy_bench.py", tmp, n, "svy")


def max_rel(x: np.ndarray, ref: np.ndarray) -> float:
    return float(np.max(np.abs(x - ref) / np.abs(ref)))


def simulated_from_args(
    doc: str | None, argv: list[str] | None
) -> tuple[argparse.Namespace, dict[str, np.ndarray]]:
    """The options ``--n --seed --repeat`` and the data they simulate; shared with
    ``bench_cli.py``, which times the same data through the command line."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    return args, simulate(args.n, args.seed)


def main(argv: list[str] | None = None) -> int:
    args, data = simulated_from_args(__doc__, argv)
    ours_s, est, se = run_ours(data, args.repeat)
    print(f"rows {args.n:,}, strata 60, PSUs 3,000, domains {est.size}")
    print(f"ours   {ours_s:9.3f} s  (design + 200-domain means and SEs, best of {args.repeat})")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        for col, dtype in COLUMNS.items():
            data[col].astype(dtype).tofile(tmp / f"{col}.bin")
        data["w"].tofile(tmp / "w.bin")
        data["y"].tofile(tmp / "y.bin")
        r, r_why = run_r(tmp, args.n)
        peer, peer_why = run_svy(tmp, args.n)
    if r is None:
        print(f"R      skipped: {r_why}")
    else:
        r_s, r_est, r_se = r
        print(
            f"R      {r_s:9.3f} s  ours is {r_s / ours_s:,.0f}x faster; largest relative "
            f"difference: estimates {max_rel(est, r_est):.2g}, SEs {max_rel(se, r_se):.2g}"
        )
    if peer is None:
        print(f"svy    skipped: {peer_why}")
    else:
        p_s, p_est, p_se = peer
        line = f"svy    {p_s:9.3f} s  ours is {p_s / ours_s:,.1f}x faster"
        if r is not None:
            line += (
                f"; largest relative difference from R: estimates {max_rel(p_est, r_est):.2g}, "
                f"SEs {max_rel(p_se, r_se):.2g}"
            )
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
