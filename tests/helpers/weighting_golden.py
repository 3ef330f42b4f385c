"""The weighting golden tests' data: R's golden values and the api data they were computed on.

The golden file and the CSVs are written by ``tests/reference/make_golden_weights.R``
(R 4.2.2, survey 4.1.1); every case in it records the exact R call.
"""

from __future__ import annotations

import csv
import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
DATA = REFERENCE / "data_weights"
NUMERIC = ("api00", "api99", "enroll", "api700", "pw", "fpc")


@cache
def golden() -> dict[str, Any]:
    """The parsed ``golden_weights.json``."""
    with open(REFERENCE / "golden_weights.json", encoding="utf-8") as fh:
        return json.load(fh)


def golden_cases() -> list[dict[str, Any]]:
    return golden()["cases"]


@cache
def dataset(name: str) -> dict[str, np.ndarray]:
    """Columns of an exported api sample: labels as str, the numeric ones as float."""
    with open(DATA / f"{name}.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out: dict[str, np.ndarray] = {}
    for col in rows[0]:
        values = [r[col] for r in rows]
        out[col] = np.array(values, dtype=float if col in NUMERIC else str)
    return out


def design_weights(name: str) -> np.ndarray:
    """R's ``weights(design)`` of the case's base design, as stored in the golden file."""
    for entry in golden()["datasets"]:
        if entry["name"] == name:
            return np.array(entry["design_weights"], dtype=float)
    raise KeyError(name)


def cell_targets(file: str, by: list[str]) -> dict[Any, float]:
    """Targets CSV (one column per cell variable and ``target``) as a mapping cell -> count."""
    with open(DATA / file, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if len(by) == 1:
        return {r[by[0]]: float(r["target"]) for r in rows}
    return {tuple(r[v] for v in by): float(r["target"]) for r in rows}


def long_targets(file: str) -> dict[str, Any]:
    """Long CSV ``variable,level,target`` as {variable: {level: target}} or {variable: total}."""
    with open(DATA / file, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out: dict[str, Any] = {}
    for r in rows:
        if r["level"] == "":
            out[r["variable"]] = float(r["target"])
        else:
            out.setdefault(r["variable"], {})[r["level"]] = float(r["target"])
    return out


def case_by_name(name: str) -> dict[str, Any]:
    for case in golden_cases():
        if case["name"] == name:
            return case
    raise KeyError(name)


def expected_warning(case: dict[str, Any]) -> bool:
    """Whether R warned for this case (non-convergence, ignored empty cells)."""
    return bool(case["r_warnings"])


def apply_case(case: dict[str, Any]):
    """Run our weighting function with the arguments of a golden case's R call."""
    from analysis.weighting import calibrate, poststratify, rake, trim_weights

    spec = case["spec"]
    data = dataset(case["dataset"])
    method = spec["method"]
    if method == "trim":
        base = apply_case(case_by_name(spec["base"]))
        return trim_weights(
            base.weights, lower=spec["lower"], upper=spec["upper"], strict=spec["strict"]
        )
    weights = design_weights(case["dataset"])
    if method == "poststratify":
        return poststratify(
            weights,
            data,
            spec["by"],
            cell_targets(spec["targets"], spec["by"]),
            partial=spec.get("partial", False),
        )
    if method == "rake":
        return rake(
            weights,
            data,
            long_targets(spec["margins"]),
            maxit=spec["maxit"],
            epsilon=spec["epsilon"],
        )
    if method == "calibrate":
        bounds = spec.get("bounds")
        return calibrate(
            weights,
            data,
            long_targets(spec["totals"]),
            calfun=spec["calfun"],
            bounds=None if bounds is None else (bounds[0], bounds[1]),
        )
    raise ValueError(f"unknown method {method!r}")


def frame(name: str):
    """The api sample as a DataFrame with R's base design weights in column ``w0``."""
    import pandas as pd

    df = pd.DataFrame(dataset(name))
    df["w0"] = design_weights(name)
    return df


def base_design(case: dict[str, Any]):
    """The case's ``svydesign(...)`` as an analysis.design.Design (weights from fpc)."""
    from analysis.design import Design

    spec = case["design"]
    return Design.from_frame(
        frame(case["dataset"]),
        weights="w0",
        strata=spec["strata"],
        ids=spec["ids"] or None,
        fpc=spec["fpc"] or None,
    )


def apply_case_design(case: dict[str, Any]):
    """Our adjusted design for a golden case (AdjustedDesign)."""
    from analysis.weighting.designs import (
        calibrate_design,
        poststratify_design,
        rake_design,
        trim_design,
    )

    spec = case["spec"]
    method = spec["method"]
    if method == "trim":
        base = apply_case_design(case_by_name(spec["base"])).design
        return trim_design(base, lower=spec["lower"], upper=spec["upper"], strict=spec["strict"])
    design = base_design(case)
    if method == "poststratify":
        targets = cell_targets(spec["targets"], spec["by"])
        return poststratify_design(design, spec["by"], targets, partial=spec.get("partial", False))
    if method == "rake":
        margins = long_targets(spec["margins"])
        return rake_design(design, margins, maxit=spec["maxit"], epsilon=spec["epsilon"])
    bounds = spec.get("bounds")
    return calibrate_design(
        design,
        long_targets(spec["totals"]),
        calfun=spec["calfun"],
        bounds=None if bounds is None else (bounds[0], bounds[1]),
    )
