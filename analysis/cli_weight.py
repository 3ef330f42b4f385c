"""The ``weight`` subcommand: adjust sample weights from the command line.

::

    python -m analysis weight DATA.csv --weights COL [design options]
        (--poststratify COL[,COL...] --targets TARGETS.csv [--partial]
         | --rake --margins MARGINS.csv [--max-iter N] [--epsilon E]
         | --calibrate linear|raking|logit --totals TOTALS.csv [--bounds LO,HI])
        [--trim LO,HI [--strict]] --out OUT.csv [--report REPORT.json]
        [--new-weights NAME]

``TARGETS.csv`` has one column per cell variable and a ``target`` column;
``MARGINS.csv`` and ``TOTALS.csv`` are long, ``variable,level,target`` (``level``
empty for the total of a numeric variable). The output is the input data,
unchanged, with one more column of adjusted weights; the report (JSON) holds the
diagnostics of every step. Errors in the arguments, the data or the target files
print one message per problem (with the file's row number) and exit with status 2.

The module also offers :func:`add_adjustment_arguments` and
:func:`adjust_design_from_args` so that ``estimate`` can take the same options and
compute its standard errors on the adjusted design.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.cli_args import (
    add_design_arguments,
    at_least_one,
    columns,
    decimal_note,
    decimal_of,
    design_from_args,
    finite_number,
    number_pair,
    numeric_column,
    positive_number,
    read_text_csv,
    text_column,
)
from analysis.i18n import _
from analysis.weighting import (
    CALIBRATION_FUNCTIONS,
    CalibrationConvergenceError,
    EmptyCellsError,
    WeightingResult,
    calibrate,
    poststratify,
    rake,
    trim_weights,
)

__all__ = [
    "TargetFileError",
    "add_adjustment_arguments",
    "add_weight_parser",
    "adjust_design_from_args",
    "read_cell_targets",
    "read_long_targets",
    "run_weight",
]


class TargetFileError(ValueError):
    """A targets, margins or totals file with problems; ``problems`` lists them by row."""

    def __init__(self, path: str | Path, problems: Sequence[str]) -> None:
        self.path = str(path)
        self.problems = list(problems)
        listing = "\n  ".join(self.problems)
        super().__init__(f"{self.path}:\n  {listing}")


# ---------------------------------------------------------------- target files


def read_cell_targets(path: str | Path, by: Sequence[str]) -> dict[Hashable, float]:
    """Read a post-stratification targets file: columns ``by...`` and ``target``.

    Returns ``{level: target}`` for one variable, ``{(level, ...): target}`` for
    several. Raises :class:`TargetFileError` listing every bad row (row numbers
    count the header as row 1).
    """
    table = read_text_csv(path)
    missing = [c for c in [*by, "target"] if c not in table.columns]
    if missing:
        raise TargetFileError(path, [_("missing column(s): %(names)s", names=", ".join(missing))])
    problems: list[str] = []
    targets: dict[Hashable, float] = {}
    for i, values in enumerate(table.to_dict("records"), start=2):
        cell = tuple(str(values[c]).strip() for c in by)
        key: Hashable = cell if len(by) > 1 else cell[0]
        target = finite_number(values["target"], decimal_of(table))
        if any(v == "" for v in cell):
            problems.append(_("row %(row)s: empty cell label", row=i))
        elif target is None or target < 0:
            problems.append(
                _(
                    "row %(row)s: target %(text)s is not a number >= 0",
                    row=i,
                    text=repr(values["target"]),
                )
                + decimal_note(table)
            )
        elif key in targets:
            problems.append(_("row %(row)s: duplicate cell %(cell)s", row=i, cell=repr(key)))
        else:
            targets[key] = target
    if problems:
        raise TargetFileError(path, problems)
    if not targets:
        raise TargetFileError(path, [_("no rows")])
    return targets


def read_long_targets(
    path: str | Path, *, allow_numeric: bool = True
) -> dict[str, float | dict[Hashable, float]]:
    """Read a long margins/totals file ``variable,level,target``.

    Returns ``{variable: {level: target}}`` for categorical variables (in file
    order) and ``{variable: total}`` where ``level`` is empty (numeric totals,
    refused when ``allow_numeric`` is false, as for raking margins).
    """
    table = read_text_csv(path)
    missing = [c for c in ("variable", "level", "target") if c not in table.columns]
    if missing:
        raise TargetFileError(path, [_("missing column(s): %(names)s", names=", ".join(missing))])
    problems: list[str] = []
    out: dict[str, Any] = {}
    for i, (variable, level, text) in enumerate(
        zip(table["variable"], table["level"], table["target"], strict=True), start=2
    ):
        variable, level = variable.strip(), level.strip()
        target = finite_number(text, decimal_of(table))
        if variable == "":
            problems.append(_("row %(row)s: empty variable", row=i))
            continue
        if target is None:
            problems.append(
                _("row %(row)s: target %(text)s is not a number", row=i, text=repr(text))
                + decimal_note(table)
            )
            continue
        current = out.get(variable)
        if level == "":
            if not allow_numeric:
                problems.append(_("row %(row)s: empty level (margins need a level per row)", row=i))
            elif current is not None:
                problems.append(
                    _("row %(row)s: %(name)s appears more than once", row=i, name=repr(variable))
                )
            else:
                out[variable] = target
            continue
        if target < 0:
            problems.append(_("row %(row)s: target %(text)s is negative", row=i, text=repr(text)))
        elif isinstance(current, float):
            problems.append(
                _(
                    "row %(row)s: %(name)s has both a numeric total and levels",
                    row=i,
                    name=repr(variable),
                )
            )
        elif current is not None and level in current:
            problems.append(
                _(
                    "row %(row)s: duplicate level %(name)s=%(level)s",
                    row=i,
                    name=variable,
                    level=level,
                )
            )
        else:
            out.setdefault(variable, {})[level] = target
    if problems:
        raise TargetFileError(path, problems)
    if not out:
        raise TargetFileError(path, [_("no rows")])
    return out


# ---------------------------------------------------------------- arguments


def add_adjustment_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the weighting options (shared by ``weight`` and ``estimate``) to ``parser``."""
    group = parser.add_argument_group(_("weighting"))
    method = group.add_mutually_exclusive_group()
    method.add_argument(
        "--poststratify",
        type=columns,
        metavar="COL[,COL...]",
        help=_("post-stratify to the cells of these columns (needs --targets)"),
    )
    method.add_argument("--rake", action="store_true", help=_("rake to the margins of --margins"))
    method.add_argument(
        "--calibrate",
        choices=sorted(CALIBRATION_FUNCTIONS),
        help=_("calibrate to --totals with this distance"),
    )
    group.add_argument("--targets", metavar="TARGETS.csv", help=_("cell counts: COLS...,target"))
    group.add_argument("--partial", action="store_true", help=_("ignore empty sample cells"))
    group.add_argument("--margins", metavar="MARGINS.csv", help=_("variable,level,target"))
    group.add_argument(
        "--max-iter", type=at_least_one, default=10, help=_("raking passes (default 10)")
    )
    group.add_argument(
        "--epsilon",
        type=positive_number,
        default=1.0,
        help=_("raking tolerance: weighted units, or relative to the weight total if < 1"),
    )
    group.add_argument(
        "--totals", metavar="TOTALS.csv", help=_("variable,level,target (empty level: numeric)")
    )
    group.add_argument(
        "--bounds", type=number_pair, metavar="LO,HI", help=_("bounds on calibration factors g")
    )
    group.add_argument(
        "--trim", type=number_pair, metavar="LO,HI", help=_("trim weights to [LO, HI]")
    )
    group.add_argument(
        "--strict", action="store_true", help=_("repeat trimming until all weights are inside")
    )


def add_weight_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``weight`` subcommand on an ``argparse`` subparsers object."""
    parser = subparsers.add_parser(
        "weight",
        help=_("adjust sample weights (post-stratify, rake, calibrate, trim)"),
        description=_(
            "Adjust sample weights as R's survey package does (postStratify, rake,"
            " calibrate, trimWeights) and write the data with the new weight column."
        ),
    )
    parser.add_argument("data", metavar="DATA.csv", help=_("the data, one row per respondent"))
    add_design_arguments(parser)
    add_adjustment_arguments(parser)
    parser.add_argument(
        "--out", required=True, metavar="OUT.csv", help=_("the data with the new weights")
    )
    parser.add_argument("--report", metavar="REPORT.json", help=_("what each step did, as JSON"))
    parser.add_argument(
        "--new-weights",
        default="adjusted_weight",
        metavar="NAME",
        help=_("name of the new weight column (default adjusted_weight)"),
    )
    parser.set_defaults(handler=run_weight)
    return parser


# ---------------------------------------------------------------- running


def _check_options(args: argparse.Namespace) -> None:
    if args.poststratify and not args.targets:
        raise ValueError(_("--poststratify needs --targets TARGETS.csv"))
    if args.rake and not args.margins:
        raise ValueError(_("--rake needs --margins MARGINS.csv"))
    if args.calibrate and not args.totals:
        raise ValueError(_("--calibrate needs --totals TOTALS.csv"))
    stray = [
        name
        for name, value, ok in [
            ("--targets", args.targets, args.poststratify),
            ("--partial", args.partial, args.poststratify),
            ("--margins", args.margins, args.rake),
            ("--totals", args.totals, args.calibrate),
            ("--bounds", args.bounds, args.calibrate),
            ("--strict", args.strict, args.trim),
        ]
        if value and not ok
    ]
    if stray:
        raise ValueError(
            _("%(options)s given without the option it belongs to", options=", ".join(stray))
        )


def _variables(frame: pd.DataFrame, names: Sequence[str], option: str) -> dict[str, np.ndarray]:
    """Categorical variables as object arrays of str, with empty cells as missing (None)."""
    out = {}
    for name in names:
        values = text_column(frame, name, option).to_numpy(dtype=object)
        values[values == ""] = None
        out[name] = values
    return out


def _steps(
    frame: pd.DataFrame, weights: np.ndarray, args: argparse.Namespace
) -> list[WeightingResult]:
    """Run the requested weighting method and trimming on ``weights``."""
    _check_options(args)
    steps: list[WeightingResult] = []
    if args.poststratify:
        targets = read_cell_targets(args.targets, args.poststratify)
        data = _variables(frame, args.poststratify, "--poststratify")
        try:
            steps.append(
                poststratify(weights, data, args.poststratify, targets, partial=args.partial)
            )
        except EmptyCellsError as exc:  # the library's advice names its keyword argument
            raise ValueError(
                _(
                    "empty sample cell(s) with a positive target: %(cells)s (--partial "
                    "ignores them)",
                    cells=exc.cells,
                )
            ) from None
    elif args.rake:
        margins = read_long_targets(args.margins, allow_numeric=False)
        data = _variables(frame, list(margins), "--margins")
        steps.append(rake(weights, data, margins, maxit=args.max_iter, epsilon=args.epsilon))
    elif args.calibrate:
        totals = read_long_targets(args.totals)
        data: dict[str, np.ndarray] = {}
        for name, total in totals.items():
            data.update(
                _variables(frame, [name], "--totals")
                if isinstance(total, dict)
                else {name: numeric_column(frame, name, "--totals")}
            )
        try:
            steps.append(
                calibrate(weights, data, totals, calfun=args.calibrate, bounds=args.bounds)
            )
        except CalibrationConvergenceError as exc:
            # the library's advice names its keyword arguments; say it in this CLI's flags
            if args.bounds is not None:
                advice = _(
                    "the totals cannot be met with factors within --bounds %(bounds)s:"
                    " widen --bounds or drop it",
                    bounds=f"{args.bounds[0]:g},{args.bounds[1]:g}",
                )
            else:
                advice = _("check the totals in --totals %(path)s", path=args.totals)
            raise ValueError(
                _(
                    "calibration failed to converge in %(iterations)s iterations (largest"
                    " relative miss of a total %(miss)s); %(advice)s. No weights were written.",
                    iterations=exc.iterations,
                    miss=f"{exc.eps:.6g}",
                    advice=advice,
                )
            ) from None
    if args.trim:
        current = steps[-1].weights if steps else weights
        steps.append(
            trim_weights(current, lower=args.trim[0], upper=args.trim[1], strict=args.strict)
        )
    return steps


def adjust_design_from_args(design: Any, frame: pd.DataFrame, args: argparse.Namespace) -> Any:
    """Apply the weighting options of ``args`` to ``design`` (for ``estimate``).

    ``frame`` is the data as read (any dtypes). Categorical columns are compared
    as text with the target files, taken from ``args.data`` as written when that
    file is given. Returns the adjusted :class:`Design` (the
    input itself when no weighting option is given).
    """
    if not (args.poststratify or args.rake or args.calibrate or args.trim):
        return design
    # compare categories as written in the file (a column read as float would turn
    # "1" into "1.0"); fall back to the frame's values when there is no file
    path = getattr(args, "data", None)
    text = read_text_csv(path) if path else None
    if text is None or len(text) != len(frame):
        text = frame.astype(str).where(frame.notna(), "")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        steps = _steps(text, np.asarray(design.weights, dtype=float), args)
    _print_warnings(caught)
    for step in steps:
        design = design.with_weights(step.weights, step.adjustment)
    return design


def _print_warnings(caught: Sequence[warnings.WarningMessage]) -> None:
    for w in caught:
        print(_("warning: %(message)s", message=w.message), file=sys.stderr)


def run_weight(args: argparse.Namespace) -> int:
    """Run ``weight``; returns the exit status (0 ok, 2 bad arguments or data)."""
    try:
        frame = read_text_csv(args.data)
        if args.new_weights in frame.columns:
            raise ValueError(
                _(
                    "column %(name)s already exists (use --new-weights)",
                    name=repr(args.new_weights),
                )
            )
        if not (args.poststratify or args.rake or args.calibrate or args.trim):
            raise ValueError(_("give a method (--poststratify, --rake, --calibrate) or --trim"))
        weights = numeric_column(frame, args.weights, "--weights")
        design = None
        if args.strata or args.ids or args.fpc:
            numeric = frame.copy()
            numeric[args.weights] = weights
            for col in args.fpc or []:
                numeric[col] = numeric_column(frame, col, "--fpc")
            design = design_from_args(numeric, args)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            steps = _steps(frame, weights, args)
        _print_warnings(caught)
    except ValueError as exc:
        print(_("error: %(message)s", message=exc), file=sys.stderr)
        return 2
    out = frame.copy()
    out[args.new_weights] = [repr(float(v)) for v in steps[-1].weights]
    out.to_csv(args.out, index=False)
    if args.report:
        report = {
            "data": str(args.data),
            "weights": args.weights,
            "new_weights": args.new_weights,
            "design": None if design is None else design.describe(),
            "steps": [s.report.to_dict() for s in steps],
            "converged": all(s.report.converged for s in steps),
        }
        Path(args.report).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0
