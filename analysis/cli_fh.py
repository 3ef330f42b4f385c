"""The ``fh`` subcommand: small-area estimates by the Fay–Herriot model.

::

    python -m analysis fh AREAS.csv --direct COL --variance COL --covariates a,b
        [--area COL] [--method reml|ml] [--transform arcsin --n COL]
        [--format json|csv]

``AREAS.csv`` has one row per area: its direct estimate, the estimate's sampling
variance and the covariates (an intercept is added). A row whose direct estimate
is empty is an area without a sample: it gets the synthetic estimate and its MSE.
With ``--transform arcsin`` the direct estimates are proportions, modelled on the
arcsine-square-root scale with sampling variance ``1/(4 n)`` (``--n``: the
effective sample size); ``sigma2_u`` and ``beta`` are on that scale, the area
figures are back-transformed with the bias correction of
:func:`analysis.small_area.arcsin_back_transform`.

The JSON output is ``{"method", "sigma2_u", "beta": [{"name", "estimate", "se"}],
"areas": [{"area", "direct", "eblup", "mse", "gamma", "synthetic"}]}``; a value
that is not defined (the direct estimate or gamma of an area without a sample) is
``null``. Bad arguments or data print one message on standard error and exit with
status 2.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import warnings
from typing import Any

import numpy as np
import pandas as pd

from analysis.cli_args import (
    columns,
    json_number,
    numeric_column,
    read_text_csv,
    row_numbers,
    text_column,
)
from analysis.i18n import _
from analysis.small_area import (
    FH_METHODS,
    arcsin_back_transform,
    arcsin_transform,
    fay_herriot,
)

__all__ = ["add_fh_parser", "run_fh"]


def add_fh_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``fh`` subcommand on an ``argparse`` subparsers object."""
    p = subparsers.add_parser(
        "fh",
        help=_("small-area estimates (Fay-Herriot EBLUP with MSE)"),
        description=_(
            "Fay-Herriot area-level model: EBLUP, MSE (Prasad-Rao for REML, "
            "Datta-Lahiri for ML) and synthetic estimates for areas without a sample."
        ),
    )
    p.add_argument("data", metavar="AREAS.csv", help=_("one row per area (commune)"))
    p.add_argument("--direct", required=True, metavar="COL", help=_("direct estimates"))
    p.add_argument(
        "--variance",
        metavar="COL",
        help=_("sampling variances of the direct estimates (not used with --transform arcsin)"),
    )
    p.add_argument(
        "--covariates", required=True, type=columns, metavar="a,b", help=_("covariate columns")
    )
    p.add_argument("--area", metavar="COL", help=_("area labels (default: row numbers)"))
    p.add_argument(
        "--method", choices=FH_METHODS, default="reml", help=_("how sigma2_u is estimated")
    )
    p.add_argument(
        "--transform", choices=("arcsin",), help=_("arcsine-square-root for proportions")
    )
    p.add_argument("--n", metavar="COL", help=_("effective sample size (with --transform arcsin)"))
    p.add_argument("--format", choices=("json", "csv"), default="json", help=_("output format"))
    p.set_defaults(handler=run_fh)
    return p


def _read(path: str) -> pd.DataFrame:
    frame = read_text_csv(path)
    if frame.empty:
        raise ValueError(_("%(path)s: no area rows", path=path))
    return frame


def _fit(args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    """The payload of the JSON output, and notes for standard error."""
    notes: list[str] = []
    if args.transform and not args.n:
        raise ValueError(_("--transform arcsin needs --n COL (the effective sample size)"))
    if args.n and not args.transform:
        raise ValueError(_("--n is only used with --transform arcsin"))
    if not args.transform and not args.variance:
        raise ValueError(_("--variance COL is required (the sampling variance of --direct)"))
    frame = _read(args.data)
    direct = numeric_column(frame, args.direct, "--direct", allow_empty=True)
    sampled = ~np.isnan(direct)
    if args.area:
        labels = text_column(frame, args.area, "--area").tolist()
        blank = np.array([a == "" for a in labels], dtype=bool)
        if blank.any():
            raise ValueError(
                _(
                    "column %(name)s: empty area label in row %(rows)s",
                    name=repr(args.area),
                    rows=row_numbers(blank),
                )
            )
        seen: set[str] = set()
        dupes = sorted({a for a in labels if a in seen or seen.add(a)})
        if dupes:
            raise ValueError(
                _(
                    "column %(name)s: area labels repeat: %(labels)s",
                    name=repr(args.area),
                    labels=", ".join(dupes),
                )
            )
    else:
        labels = [str(i + 1) for i in range(len(frame))]
    covs = [numeric_column(frame, c, "--covariates", allow_empty=False) for c in args.covariates]
    if len(set(args.covariates)) != len(args.covariates):
        raise ValueError(_("--covariates: a column is named twice"))
    x = np.column_stack([np.ones(len(frame)), *covs])
    if args.transform:
        if args.variance:
            notes.append(
                _(
                    "with --transform arcsin the sampling variance is 1/(4 n) from --n; "
                    "--variance is not used"
                )
            )
        n = numeric_column(frame, args.n, "--n", allow_empty=True)
        y, psi = arcsin_transform(direct, n)
    else:
        y = direct
        psi = numeric_column(frame, args.variance, "--variance", allow_empty=True)
        missing = sampled & np.isnan(psi)
        if missing.any():
            raise ValueError(
                _(
                    "column %(name)s: empty in row %(rows)s, which has a direct estimate",
                    name=repr(args.variance),
                    rows=row_numbers(missing),
                )
            )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fay_herriot(
            y,
            psi,
            x,
            method=args.method,
            areas=labels,
            covariate_names=["(Intercept)", *args.covariates],
        )
    notes.extend(str(w.message) for w in caught)
    if fit.at_zero:
        notes.append(
            _(
                "sigma2_u is 0 (%(method)s estimate at the boundary): every EBLUP "
                "is the synthetic estimate",
                method=args.method.upper(),
            )
        )
    eblup, mse, synthetic = fit.eblup, fit.mse, fit.synthetic
    if args.transform:
        eblup, mse = arcsin_back_transform(fit.eblup, fit.mse)
        synthetic = arcsin_back_transform(fit.synthetic, fit.synthetic_mse)[0]
    payload = {
        "method": fit.method,
        "sigma2_u": fit.sigma2_u,
        "beta": [
            {"name": name, "estimate": float(b), "se": float(se)}
            for name, b, se in zip(fit.covariates, fit.beta, fit.beta_se, strict=True)
        ],
        "areas": [
            {
                "area": labels[i],
                "direct": json_number(direct[i]),
                "eblup": float(eblup[i]),
                "mse": float(mse[i]),
                "gamma": json_number(fit.gamma[i]),
                "synthetic": float(synthetic[i]),
            }
            for i in range(len(labels))
        ],
    }
    return payload, notes


def run_fh(args: argparse.Namespace, out: Any = None) -> int:
    """Run ``fh``; returns the exit status (0 ok, 2 bad arguments or data)."""
    out = out or sys.stdout
    try:
        payload, notes = _fit(args)
    except (ValueError, np.linalg.LinAlgError) as exc:
        print(_("error: %(message)s", message=exc), file=sys.stderr)
        return 2
    for note in notes:
        print(_("note: %(message)s", message=note), file=sys.stderr)
    if args.format == "json":
        out.write(json.dumps(payload, indent=2) + "\n")
    else:
        buffer = io.StringIO()
        pd.DataFrame(payload["areas"]).to_csv(buffer, index=False, float_format="%.17g")
        out.write(buffer.getvalue())
    return 0
