"""Command-line interface: ``python -m analysis <command> ...``.

::

    python -m analysis estimate DATA.csv --weights COL [--strata COL]
        [--ids COL[,COL...]] [--fpc COL[,COL...]] [--nest]
        (--mean COL | --total COL | --proportion COL[=LEVEL] | --ratio NUM/DEN)
        [--by COL[,COL...]] [--ci-method METHOD] [--level 0.95] [--lonely-psu RULE]
        [--replicates jk1|jkn|bootstrap [--n-replicates N] [--seed S]]
        [--format json|csv]

The result goes to standard output. Bad arguments or data print one clear message
on standard error and exit with status 2 (as ``argparse`` does for usage errors).

Messages and help are in Vietnamese unless ``--lang en`` (before or after the command's
name) or ``SURVEY_LANG=en`` (the variable the web app's ``flask`` commands read) asks
for English: the library's own messages through :mod:`analysis.i18n`, and argparse's
("usage:", "the following arguments are required") through the standard library's
``gettext``, which argparse calls in the global text domain. :func:`argparse_speaking`
points that domain at the library's catalogue and the ``LANGUAGE`` variable at the
chosen language while the command runs, and puts both back afterwards.

Each subcommand is one ``add_<name>_parser(subparsers)`` function that registers
its options and sets ``handler``; :func:`build_parser` calls them in turn, so a new
subcommand is a new function plus one line in :data:`SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import gettext
import io
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd

from analysis import csv_dialect, read_ahead
from analysis.ci import INTERVAL_METHODS, PROPORTION_METHODS
from analysis.cli_args import (
    add_design_arguments,
    at_least_two,
    columns,
    decoded,
    design_from_args,
    json_number,
    level,
    read_bytes,
    refuse_points,
)
from analysis.cli_fh import add_fh_parser
from analysis.design import Design
from analysis.estimators import mean, proportion, ratio, total
from analysis.i18n import (
    DOMAIN,
    LANGUAGES,
    LOCALE_DIR,
    N_,
    _,
    language_from_environment,
    language_in,
    require_catalogue,
    speaking,
)
from analysis.replicates import ReplicateDesign, bootstrap, jk1, jkn
from analysis.results import DomainEstimates, Estimate

REPLICATE_BUILDERS: dict[str, Callable[..., ReplicateDesign]] = {
    "jk1": lambda d, n, seed: jk1(d),
    "jkn": lambda d, n, seed: jkn(d),
    "bootstrap": lambda d, n, seed: bootstrap(d, n, seed=seed),
}


def _weighting_hooks() -> tuple[Callable[..., None], Callable[..., Any]] | None:
    """The weighting options of ``analysis.cli_weight``, when that module is present."""
    try:
        from analysis.cli_weight import add_adjustment_arguments, adjust_design_from_args
    except ImportError:  # pragma: no cover - the weighting CLI is optional
        return None
    return add_adjustment_arguments, adjust_design_from_args


def add_estimate_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``estimate`` subcommand."""
    p = subparsers.add_parser(
        "estimate",
        help=_("estimate a mean, total, proportion or ratio with its standard error"),
        description=_("Design-based estimates as R's survey package computes them."),
    )
    p.add_argument("data", metavar="DATA.csv", help=_("the data, one row per respondent"))
    add_design_arguments(p)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--mean", metavar="COL", help=_("the mean of this column"))
    what.add_argument("--total", metavar="COL", help=_("the total of this column"))
    what.add_argument(
        "--proportion",
        metavar="COL[=LEVEL]",
        help=_("the proportion of each level of this column (or of LEVEL)"),
    )
    what.add_argument(
        "--ratio", metavar="NUM/DEN", help=_("the ratio of the totals of two columns")
    )
    p.add_argument("--by", type=columns, metavar="COL[,COL...]", help=_("domain columns"))
    p.add_argument(
        "--ci-method",
        metavar="METHOD",
        help=_(
            "proportions: %(proportion_methods)s (default logit); others: %(methods)s (default t)",
            proportion_methods=", ".join(PROPORTION_METHODS),
            methods=", ".join(INTERVAL_METHODS),
        ),
    )
    p.add_argument("--level", type=level, default=0.95, help=_("confidence level (default 0.95)"))
    p.add_argument(
        "--deff",
        choices=("true", "replace"),
        default="true",
        help=_(
            "design effect against SRS without replacement (true, R's deff=TRUE) "
            'or with replacement (replace, R\'s deff="replace")'
        ),
    )
    p.add_argument(
        "--replicates",
        choices=sorted(REPLICATE_BUILDERS),
        help=_("standard errors from replicate weights made this way"),
    )
    p.add_argument(
        "--n-replicates",
        type=at_least_two,
        default=50,
        metavar="N",
        help=_("bootstrap replicates (default 50)"),
    )
    p.add_argument("--seed", type=int, metavar="S", help=_("seed of the bootstrap"))
    p.add_argument("--format", choices=("json", "csv"), default="json", help=_("output format"))
    hooks = _weighting_hooks()
    if hooks is not None:
        hooks[0](p)
    p.set_defaults(handler=run_estimate)
    return p


def _estimate(args: argparse.Namespace, design: Design | ReplicateDesign) -> Estimate | Any:
    common = {
        "by": args.by,
        "level": args.level,
        "deff": True if getattr(args, "deff", "true") == "true" else "replace",
    }
    if args.proportion is not None:
        column, sep, level_value = args.proportion.partition("=")
        return proportion(
            design,
            column,
            level_value=level_value if sep else None,
            ci_method=args.ci_method or "logit",
            **common,
        )
    method = args.ci_method or "t"
    if args.ratio is not None:
        num, sep, den = args.ratio.partition("/")
        if not sep or not num or not den:
            raise ValueError(_("--ratio needs NUM/DEN, got %(text)s", text=repr(args.ratio)))
        return ratio(design, num, den, ci_method=method, **common)
    if args.total is not None:
        return total(design, args.total, ci_method=method, **common)
    return mean(design, args.mean, ci_method=method, **common)


def _records(result: Estimate | DomainEstimates) -> list[dict[str, Any]]:
    estimates = list(result) if isinstance(result, DomainEstimates) else [result]
    out = []
    for e in estimates:
        d = e.to_dict()
        out.append(
            {
                "by": d["by"],
                "estimate": d["value"],
                "se": d["se"],
                "ci_low": d["ci_low"],
                "ci_high": d["ci_high"],
                "df": d["df"],
                "deff": d["deff"],
                "n": d["n"],
                "n_eff": d["n_eff"],
            }
        )
    return out


def read_data(path: str) -> pd.DataFrame:
    """Read a data file with Arrow's multithreaded CSV reader, pandas' own as fallback.

    Reading dominates the command on large files (a 1,000,000-row file: about 0.3 s
    with Arrow against 1.5 s with pandas' C parser). The delimiter and the decimal sign
    are the file's (:mod:`analysis.csv_dialect`: ``;`` with decimal commas as R's
    ``read.csv2``, ``,`` or tab with points). A file Arrow refuses (ragged rows, an
    empty file, text not in UTF-8) is decoded (UTF-16, Windows-1258) and read again by
    pandas, whose errors the command reports, so the messages do not depend on the
    engine.
    """
    head = read_bytes(path, read_ahead.HEAD_BYTES)
    try:
        table = read_ahead.take(path, head)
        if table is None:
            table = read_ahead.arrow_table(path, head)
        # split_blocks: each column stays its own array (no copy into one 2-D block)
        frame = table.to_pandas(split_blocks=True, self_destruct=True)
        decimal = read_ahead.dialect(head)[1]
    except (ImportError, ValueError, OSError, TypeError):
        text = decoded(path, read_bytes(path))
        sep = csv_dialect.delimiter(text)
        decimal = csv_dialect.decimal_sign(sep)
        frame = pd.read_csv(io.StringIO(text), sep=sep, decimal=decimal)
    frame.attrs["decimal"] = decimal
    return frame


def numeric_columns(args: argparse.Namespace) -> list[str]:
    """The columns ``estimate`` reads as numbers: the weights, the fpc and the
    variables of a mean, total or ratio (a proportion's column holds categories)."""
    names = [args.weights, *(args.fpc or [])]
    if args.ratio is not None:
        names.extend(args.ratio.split("/"))
    names.extend(name for name in (args.mean, args.total) if name is not None)
    return names


def run_estimate(args: argparse.Namespace, out: Any = None) -> int:
    """Run ``estimate``; returns the exit status (0 ok, 2 bad data or arguments)."""
    out = out or sys.stdout
    try:
        try:
            frame = read_data(args.data)
        except (
            OSError,
            pd.errors.ParserError,
            pd.errors.EmptyDataError,
            UnicodeDecodeError,
        ) as exc:
            raise ValueError(
                _("cannot read %(path)s: %(reason)s", path=repr(args.data), reason=exc)
            ) from None
        refuse_points(frame, numeric_columns(args))
        design: Design | ReplicateDesign = design_from_args(frame, args)
        hooks = _weighting_hooks()
        if hooks is not None:
            design = hooks[1](design, frame, args)
        if args.replicates:
            design = REPLICATE_BUILDERS[args.replicates](design, args.n_replicates, args.seed)
        result = _estimate(args, design)
    except ValueError as exc:
        print(_("error: %(message)s", message=exc), file=sys.stderr)
        return 2
    records = _records(result)
    if args.format == "json":
        first = result if isinstance(result, Estimate) else result[0]
        payload: dict[str, Any] = {
            "design": design.describe(),
            "statistic": first.statistic,
            "variable": first.variable,
            "level": args.level,
            "ci_method": first.ci_method,
            "estimates": records,
        }
        if isinstance(result, DomainEstimates):
            payload["covariance"] = [[json_number(v) for v in row] for row in result.covariance]
        out.write(json.dumps(payload, indent=2) + "\n")
    else:
        rows = [{**r["by"], **{k: v for k, v in r.items() if k != "by"}} for r in records]
        buffer = io.StringIO()
        pd.DataFrame(rows).to_csv(buffer, index=False, float_format="%.17g")
        out.write(buffer.getvalue())
    return 0


SUBCOMMANDS: list[Callable[[Any], argparse.ArgumentParser]] = [
    add_estimate_parser,
    add_fh_parser,
]
"""Functions that register one subcommand each on the subparsers object."""


def _weight_subcommand() -> Callable[[Any], argparse.ArgumentParser] | None:
    try:
        from analysis.cli_weight import add_weight_parser
    except ImportError:  # pragma: no cover
        return None
    return add_weight_parser


#: argparse's own messages that a user of these commands can meet (argparse looks them
#: up with ``gettext`` in the global text domain); marked here for the catalogue.
#: ``tests/analysis/test_cli_language.py`` checks them against argparse's source.
ARGPARSE_MESSAGES = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("show this help message and exit"),
    N_("%(prog)s: error: %(message)s\n"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("the following arguments are required: %s"),
    N_("one of the arguments %s is required"),
    N_("not allowed with argument %s"),
    N_("unrecognized arguments: %s"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("expected one argument"),
    N_("ignored explicit argument %r"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
)


def add_language_argument(parser: argparse.ArgumentParser) -> None:
    """``--lang vi|en``: read ahead of the parser (:func:`analysis.i18n.language_in`), accepted
    here so that argparse lets it stand before or after the command's name."""
    parser.add_argument(
        "--lang",
        choices=LANGUAGES,
        default=argparse.SUPPRESS,
        help=_("language of the messages (default vi, or SURVEY_LANG)"),
    )


@contextmanager
def argparse_speaking(lang: str) -> Iterator[None]:
    """argparse's messages in ``lang`` inside the block: the global text domain is the
    library's catalogue and ``LANGUAGE`` is ``lang``; both are put back afterwards."""
    domain, variable = gettext.textdomain(), os.environ.get("LANGUAGE")
    gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
    gettext.textdomain(DOMAIN)
    os.environ["LANGUAGE"] = lang
    try:
        yield
    finally:
        gettext.textdomain(domain)
        if variable is None:
            os.environ.pop("LANGUAGE", None)
        else:
            os.environ["LANGUAGE"] = variable


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m analysis`` parser with every subcommand, in the current language."""
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description=_("Survey estimates that match R's survey package."),
    )
    add_language_argument(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    registrars = list(SUBCOMMANDS)
    weight = _weight_subcommand()
    if weight is not None:
        registrars.append(weight)
    for register in registrars:
        add_language_argument(register(sub))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (argparse exits with 2 on usage errors)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        lang = language_in(arguments) or language_from_environment()
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        require_catalogue(lang)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 2
    with speaking(lang), argparse_speaking(lang):
        args = build_parser().parse_args(arguments)
        return int(args.handler(args))
