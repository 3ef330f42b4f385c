"""Benchmark: raking 1,000,000 rows to three margins (60, 2 and 6 levels).

Runs, on the same simulated data in one run:

* ours: :func:`analysis.weighting.rake`;
* R: ``rake()`` of the ``survey`` package (``Rscript`` in a subprocess; skipped
  when R or the package is missing);
* the ``svy`` package (PyPI, Rust core) as a peer, from its own environment
  ``benchmarks/.venv-peer`` (``--setup-peer`` creates it; skipped when absent).

All use a tight tolerance (``epsilon`` relative to the weight total, ``maxit``
large) so that the weights are the converged raking solution; the script prints
the times, the ratios and the largest relative difference of the weights from
R's. Not part of the test suite.

Usage::

    .venv/bin/python benchmarks/bench_weighting.py [--n 1000000] [--seed 20240611]
        [--epsilon 1e-10] [--maxit 1000] [--repeat 3] [--setup-peer]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.weighting import rake  # noqa: E402

PEER_VENV = ROOT / "benchmarks" / ".venv-peer"
LEVELS = {"a": 60, "b": 2, "c": 6}
POPULATION = 50_000_000.0


def simulate(n: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray, dict]:
    """Correlated classifications a (60), b (2), c (6), unequal weights and margins."""
    rng = np.random.default_rng(seed)
    pa = rng.dirichlet(np.full(60, 2.0))
    a = rng.choice(60, size=n, p=pa)
    shift = rng.integers(0, 6, size=60)  # c depends on a
    c = (shift[a] + rng.binomial(5, 0.35, size=n)) % 6
    b = (rng.random(n) < 0.35 + 0.06 * c).astype(np.int64)  # b depends on c
    w = np.exp(rng.normal(0.0, 0.4, size=60))[a] * rng.uniform(0.5, 1.5, size=n) * 40.0
    target_a = pa * np.exp(rng.normal(0.0, 0.3, size=60))
    target_c = rng.dirichlet(np.full(6, 5.0))
    margins = {
        "a": dict(enumerate(POPULATION * target_a / target_a.sum())),
        "b": {0: 0.49 * POPULATION, 1: POPULATION - 0.49 * POPULATION},
        "c": dict(enumerate(POPULATION * target_c / target_c.sum())),
    }
    return {"a": a, "b": b, "c": c}, w, margins


def best_of(repeat: int, fn):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def run_ours(data, w, margins, epsilon, maxit, repeat):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # non-convergence would void the comparison
        seconds, result = best_of(
            repeat, lambda: rake(w, data, margins, maxit=maxit, epsilon=epsilon)
        )
    return seconds, np.asarray(result.weights), result.report.iterations


R_SCRIPT = textwrap.dedent(
    """
    suppressMessages(library(survey))
    args <- commandArgs(trailingOnly = TRUE)
    dir <- args[1]; n <- as.integer(args[2]); eps <- as.numeric(args[3])
    maxit <- as.integer(args[4])
    rd <- function(name, what) readBin(file.path(dir, name), what, n = n,
                                       size = if (what == "integer") 4 else 8)
    df <- data.frame(a = factor(rd("a.bin", "integer"), levels = 0:59),
                     b = factor(rd("b.bin", "integer"), levels = 0:1),
                     c = factor(rd("c.bin", "integer"), levels = 0:5),
                     w = rd("w.bin", "double"))
    m <- jsonlite::fromJSON(file.path(dir, "margins.json"))
    pop <- lapply(c("a", "b", "c"), function(v) {
      out <- data.frame(factor(names(m[[v]]), levels = names(m[[v]])),
                        Freq = as.numeric(unlist(m[[v]])))
      names(out)[1] <- v
      out
    })
    d <- svydesign(ids = ~1, weights = ~w, data = df)
    tm <- system.time(r <- rake(d, list(~a, ~b, ~c), pop,
                                control = list(maxit = maxit, epsilon = eps)))
    writeBin(as.double(weights(r)), file.path(dir, "r_weights.bin"))
    cat(tm[["elapsed"]], "\\n")
    """
)


def run_r(tmp: Path, n: int, epsilon: float, maxit: int):
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None, "Rscript not found"
    script = tmp / "rake.R"
    script.write_text(R_SCRIPT)
    proc = subprocess.run(
        [rscript, str(script), str(tmp), str(n), repr(epsilon), str(maxit)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return None, proc.stderr.strip().splitlines()[-1] if proc.stderr else "R failed"
    seconds = float(proc.stdout.split()[-1])
    return (seconds, np.fromfile(tmp / "r_weights.bin", dtype=np.float64)), None


SVY_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    import polars as pl
    import svy

    tmp, eps, maxit = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    cols = {v: np.fromfile(f"{tmp}/{v}.bin", dtype=np.int32) for v in "abc"}
    w = np.fromfile(f"{tmp}/w.bin", dtype=np.float64)
    with open(f"{tmp}/margins.json") as fh:
        m = json.load(fh)
    frame = pl.DataFrame({**{v: cols[v].astype(str) for v in "abc"}, "w": w})
    sample = svy.Sample(data=frame, design=svy.Design(wgt="w"))
    controls = {v: {k: float(t) for k, t in m[v].items()} for v in "abc"}
    t0 = time.perf_counter()
    raked = sample.weighting.rake(controls=controls, wgt_name="rk", tol=eps, max_iter=maxit)
    seconds = time.perf_counter() - t0
    out = raked.data["rk"] if hasattr(raked, "data") else sample.data["rk"]
    np.asarray(out, dtype=np.float64).tofile(f"{tmp}/svy_weights.bin")
    print(seconds)
    """
)


def run_svy(tmp: Path, epsilon: float, maxit: int):
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        return None, f"no peer environment at {PEER_VENV} (run with --setup-peer)"
    script = tmp / "svy_rake.py"
    script.write_text(SVY_SCRIPT)
    proc = subprocess.run(
        [str(python), str(script), str(tmp), repr(epsilon), str(maxit)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        return None, lines[-1] if lines else "svy failed"
    seconds = float(proc.stdout.split()[-1])
    return (seconds, np.fromfile(tmp / "svy_weights.bin", dtype=np.float64)), None


def setup_peer() -> None:
    """Create ``benchmarks/.venv-peer`` with the ``svy`` package (never in requirements)."""
    if not PEER_VENV.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    subprocess.run([str(PEER_VENV / "bin" / "pip"), "install", "-q", "svy"], check=True)


def max_rel_diff(x: np.ndarray, ref: np.ndarray) -> float:
    return float(np.max(np.abs(x - ref) / np.abs(ref)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--epsilon", type=float, default=1e-10)
    parser.add_argument("--maxit", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--setup-peer", action="store_true")
    args = parser.parse_args(argv)
    if args.setup_peer:
        setup_peer()

    data, w, margins = simulate(args.n, args.seed)
    print(
        f"raking {args.n:,} rows to margins of {', '.join(map(str, LEVELS.values()))} levels;"
        f" epsilon {args.epsilon:g} (relative to the weight total), maxit {args.maxit}"
    )
    ours_s, ours_w, passes = run_ours(data, w, margins, args.epsilon, args.maxit, args.repeat)
    print(f"ours   {ours_s:9.3f} s  ({passes} passes, best of {args.repeat})")

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        for v in "abc":
            data[v].astype(np.int32).tofile(tmp / f"{v}.bin")
        w.tofile(tmp / "w.bin")
        with open(tmp / "margins.json", "w") as fh:
            json.dump({v: {str(k): t for k, t in m.items()} for v, m in margins.items()}, fh)
        r, r_why = run_r(tmp, args.n, args.epsilon, args.maxit)
        peer, peer_why = run_svy(tmp, args.epsilon, args.maxit)

    if r is None:
        print(f"R      skipped: {r_why}")
    else:
        r_s, r_w = r
        print(
            f"R      {r_s:9.3f} s  rake(); ours is {r_s / ours_s:,.0f}x faster;"
            f" largest relative weight difference {max_rel_diff(ours_w, r_w):.2e}"
        )
    if peer is None:
        print(f"svy    skipped: {peer_why}")
    else:
        p_s, p_w = peer
        ref = r[1] if r is not None else ours_w
        print(
            f"svy    {p_s:9.3f} s  ours is {p_s / ours_s:,.1f}x faster; largest relative"
            f" weight difference from {'R' if r is not None else 'ours'}"
            f" {max_rel_diff(p_w, ref):.2e}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
