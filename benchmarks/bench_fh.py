"""Cross-check: our Fay–Herriot fit against ``samplics``' ``EblupAreaModel``.

Runs, on the golden data sets (tests/reference/data_fh/) and on a simulated set of
``--m`` areas:

* ours: :func:`analysis.small_area.fay_herriot` (REML and ML);
* ``samplics`` (PyPI, archived upstream) from its own environment
  ``benchmarks/.venv-samplics`` (``--setup`` creates it; skipped when absent), once
  with its defaults (start sigma2_u = 1e-6, relative tolerance 1e-4) and once with
  ``tol=1e-12``.

Prints sigma2_u, the iterations, and the largest relative differences of beta, the
EBLUPs and the MSEs from ours, and the time of one fit. The differences are
explained in benchmarks/README.md. Areas without a sample are left out of the
samplics run: its ``predict`` takes the sampling variances of the fitted areas, so
it has no synthetic prediction. Not part of the test suite.

Usage::

    .venv/bin/python benchmarks/bench_fh.py [--m 500] [--seed 18] [--setup]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.small_area import fay_herriot  # noqa: E402

VENV = ROOT / "benchmarks" / ".venv-samplics"
PYTHON = VENV / "bin" / "python"
DATA = ROOT / "tests" / "reference" / "data_fh"

SAMPLICS_SCRIPT = textwrap.dedent(
    """
    import json, sys, time, warnings
    import numpy as np
    warnings.simplefilter("ignore")
    from samplics.sae import EblupAreaModel
    from samplics.utils.types import FitMethod
    spec = json.load(open(sys.argv[1]))
    y = np.array(spec["y"]); psi = np.array(spec["psi"]); x = np.array(spec["x"])
    area = np.arange(y.size)
    out = {}
    for method in ("REML", "ML"):
        for label, kw in (("default", {}), ("tight", {"tol": 1e-12})):
            t0 = time.perf_counter()
            model = EblupAreaModel(method=FitMethod[method.lower()])
            model.fit(yhat=y, X=x, area=area, error_std=np.sqrt(psi), **kw)
            model.predict(X=x, area=area)
            seconds = time.perf_counter() - t0
            out[method.lower() + "_" + label] = {
                "sigma2_u": float(np.ravel(model.re_std)[0] ** 2),
                "iterations": int(model.convergence["iterations"]),
                "converged": bool(model.convergence["achieved"]),
                "beta": [float(b) for b in model.fixed_effects],
                "eblup": [float(np.ravel(model.area_est[d])[0]) for d in area],
                "mse": [float(np.ravel(model.area_mse[d])[0]) for d in area],
                "seconds": seconds,
            }
    print(json.dumps(out))
    """
)


def setup() -> None:
    """Create ``benchmarks/.venv-samplics`` with ``samplics`` (never in requirements)."""
    if not VENV.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "samplics"], check=True)


def data_sets(m: int, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(direct, variance, covariates without intercept) of the sampled areas."""
    out = {}
    communes = pd.read_csv(DATA / "communes.csv").dropna(subset=["direct"])
    out["communes (golden, C08 left out)"] = (
        communes["direct"].to_numpy(),
        communes["variance"].to_numpy(),
        communes[["feedback", "previous"]].to_numpy(),
    )
    zero = pd.read_csv(DATA / "zero_sigma.csv")
    out["zero_sigma (golden)"] = (
        zero["direct"].to_numpy(),
        zero["variance"].to_numpy(),
        zero[["x"]].to_numpy(),
    )
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (m, 2))
    psi = rng.uniform(0.002, 0.03, m)
    y = 0.2 + x @ np.array([0.3, 0.2]) + rng.normal(0, 0.1, m) + rng.normal(0, np.sqrt(psi))
    out[f"simulated, m = {m}"] = (y, psi, x)
    return out


def rel(a: list[float] | np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, float)
    return float(np.max(np.abs(a - b) / np.abs(b)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--m", type=int, default=500)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--setup", action="store_true", help="create the samplics venv")
    args = parser.parse_args(argv)
    if args.setup:
        setup()
    for name, (y, psi, x) in data_sets(args.m, args.seed).items():
        design = np.column_stack([np.ones(y.size), x])
        print(f"== {name}: {y.size} areas")
        ours = {}
        for method in ("reml", "ml"):
            t0 = time.perf_counter()
            fit = fay_herriot(y, psi, design, method=method)
            ours[method] = (fit, time.perf_counter() - t0)
            print(
                f"ours     {method:4s} sigma2_u {fit.sigma2_u:.10g}  "
                f"iterations {fit.iterations:3d}  {ours[method][1] * 1e3:8.1f} ms"
            )
        if not PYTHON.exists():
            print("samplics skipped: benchmarks/.venv-samplics missing (run with --setup)")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            spec = Path(tmp) / "spec.json"
            spec.write_text(json.dumps({"y": y.tolist(), "psi": psi.tolist(), "x": x.tolist()}))
            (Path(tmp) / "run.py").write_text(SAMPLICS_SCRIPT)
            proc = subprocess.run(
                [str(PYTHON), str(Path(tmp) / "run.py"), str(spec)],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
        if proc.returncode != 0:
            why = (proc.stderr.strip().splitlines() or ["samplics failed"])[-1]
            print(f"samplics failed: {why}")
            continue
        for key, res in json.loads(proc.stdout).items():
            method = key.split("_")[0]
            fit = ours[method][0]
            print(
                f"samplics {key:12s} sigma2_u {res['sigma2_u']:.10g}  iterations "
                f"{res['iterations']:3d}{'' if res['converged'] else ' (not converged)'}  "
                f"{res['seconds'] * 1e3:8.1f} ms; largest relative difference: beta "
                f"{rel(res['beta'], fit.beta):.2g}, eblup {rel(res['eblup'], fit.eblup):.2g}, "
                f"mse {rel(res['mse'], fit.mse):.2g}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
