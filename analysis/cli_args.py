"""What the command-line subcommands share: argument types, the design options,
reading a CSV file as text, its columns as text or numbers, and numbers read from
text or written as JSON.

``estimate`` (:mod:`analysis.cli`), ``weight`` (:mod:`analysis.cli_weight`) and
``fh`` (:mod:`analysis.cli_fh`) take their column lists, confidence level and
design options from here, so an option means the same in every subcommand and a bad
value gets the same message. Argument types raise ``argparse.ArgumentTypeError``
(``argparse`` turns it into a usage error with status 2); the readers raise
``ValueError`` with the file's name, which the subcommands print.
"""

from __future__ import annotations

import argparse
import io
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from analysis import csv_dialect
from analysis.design import LONELY_PSU_RULES, Design
from analysis.i18n import _

__all__ = [
    "add_design_arguments",
    "at_least_one",
    "at_least_two",
    "columns",
    "decimal_note",
    "decimal_of",
    "decoded",
    "design_from_args",
    "finite_number",
    "json_number",
    "level",
    "not_a_number",
    "number_pair",
    "numeric_column",
    "positive_number",
    "read_bytes",
    "read_text_csv",
    "refuse_points",
    "row_numbers",
    "text_column",
]

T = TypeVar("T")


def columns(text: str) -> list[str]:
    """``COL[,COL...]``: column names, spaces around them dropped; none may be empty."""
    cols = [c.strip() for c in text.split(",")]
    if not all(cols):
        raise argparse.ArgumentTypeError(_("empty column name in %(text)s", text=repr(text)))
    return cols


def _converted(text: str, convert: Callable[[str], T], problem: str) -> T:
    try:
        return convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("%(problem)s, got %(text)s", problem=problem, text=repr(text))
        ) from None


def level(text: str) -> float:
    """A confidence level strictly between 0 and 1."""
    value = _converted(text, float, _("level must be a number"))
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(
            _("level must be between 0 and 1, got %(value)s", value=value)
        )
    return value


def _whole_number_at_least(text: str, minimum: int) -> int:
    value = _converted(text, int, _("expected a whole number"))
    if value < minimum:
        raise argparse.ArgumentTypeError(
            _("need at least %(minimum)s, got %(value)s", minimum=minimum, value=value)
        )
    return value


def at_least_one(text: str) -> int:
    """A whole number of at least 1 (e.g. a number of iterations)."""
    return _whole_number_at_least(text, 1)


def at_least_two(text: str) -> int:
    """A whole number of at least 2 (e.g. a number of replicates)."""
    return _whole_number_at_least(text, 2)


def positive_number(text: str) -> float:
    """A finite number above 0 (e.g. a tolerance)."""
    value = finite_number(text)
    if value is None or not value > 0:
        raise argparse.ArgumentTypeError(
            _("expected a positive number, got %(text)s", text=repr(text))
        )
    return value


def text_column(frame: pd.DataFrame, name: str, option: str) -> pd.Series:
    """A column of a text CSV (:func:`read_text_csv`), spaces around cells dropped;
    ``ValueError`` naming the option and listing the columns when there is none."""
    if name not in frame.columns:
        listing = ", ".join(map(str, frame.columns))
        raise ValueError(
            _(
                "%(option)s %(name)s: no such column (columns: %(listing)s)",
                option=option,
                name=repr(name),
                listing=listing,
            )
        )
    return frame[name].str.strip()


def numeric_column(
    frame: pd.DataFrame, name: str, option: str, *, allow_empty: bool = False
) -> np.ndarray:
    """A column as floats; empty cells are NaN only where ``allow_empty``; the file's
    row numbers (header = row 1) name the offending cells."""
    text = text_column(frame, name, option)
    empty = text == ""
    if decimal_of(frame) == ",":
        # a point is no decimal sign here ("1.500" is not 1.5): such a cell is no number
        text = text.where(~text.str.contains(".", regex=False), "x").str.replace(",", ".")
    values = pd.to_numeric(text.where(~empty, None), errors="coerce").to_numpy(float)
    empty_cells = empty.to_numpy()
    not_number = ~empty_cells & ~np.isfinite(values)
    if not_number.any():
        raise not_a_number(frame, name, not_number)
    if not allow_empty and empty_cells.any():
        raise ValueError(
            _(
                "column %(name)s: empty in row %(rows)s",
                name=repr(name),
                rows=row_numbers(empty_cells),
            )
        )
    return values


def refuse_points(frame: pd.DataFrame, names: Sequence[str]) -> None:
    """In a file that writes decimals with a comma, a number column must not hold a
    point: Excel writes a thousands separator there ("1.500" is 1500), so such a cell is
    refused rather than read as 1.5. ``ValueError`` naming the column and its rows."""
    if decimal_of(frame) != ",":
        return
    for name in names:
        if name not in frame.columns or pd.api.types.is_numeric_dtype(frame[name]):
            continue
        bad = frame[name].astype(str).str.contains(".", regex=False).to_numpy()
        if bad.any():
            raise not_a_number(frame, name, bad)


def not_a_number(frame: pd.DataFrame, name: str, bad: np.ndarray) -> ValueError:
    """The refusal of the cells ``bad`` of column ``name``, which are no finite number
    (with :func:`decimal_note`)."""
    return ValueError(
        _(
            "column %(name)s: not a finite number in row %(rows)s",
            name=repr(name),
            rows=row_numbers(bad),
        )
        + decimal_note(frame)
    )


def row_numbers(bad: np.ndarray) -> str:
    """The file's row numbers (header = row 1) of the first five ``bad`` cells, and
    " ..." when there are more."""
    rows = ", ".join(str(i + 2) for i in np.flatnonzero(bad)[:5])
    return rows + (" ..." if bad.sum() > 5 else "")


def decimal_note(frame: pd.DataFrame) -> str:
    """What a refusal of a number adds when the file writes decimals with a comma
    (empty otherwise)."""
    if decimal_of(frame) != ",":
        return ""
    return _(
        " (the file is delimited by ';': write its numbers with a decimal comma and no"
        " thousands separator, as 1500 or 1,5)"
    )


def finite_number(text: str, decimal: str = ".") -> float | None:
    """The finite number ``text`` spells (Python's ``float`` syntax, with ``decimal`` as
    its decimal sign), else None: the reading of every number in an argument or a
    targets file."""
    if decimal == ",":
        if "." in text:
            return None
        text = text.replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def json_number(value: float) -> float | None:
    """A number for the JSON output: None (``null``) where it is not finite."""
    return float(value) if math.isfinite(value) else None


def number_pair(text: str) -> tuple[float, float]:
    """``LO,HI``: two finite numbers with ``LO < HI`` (bounds of weights or factors)."""
    parts = text.split(",")
    lo = finite_number(parts[0]) if len(parts) == 2 else None
    hi = finite_number(parts[1]) if len(parts) == 2 else None
    if lo is None or hi is None:
        raise argparse.ArgumentTypeError(
            _("expected LO,HI (two numbers), got %(text)s", text=repr(text))
        )
    if not lo < hi:
        raise argparse.ArgumentTypeError(_("need LO < HI, got %(text)s", text=repr(text)))
    return lo, hi


def add_design_arguments(parser: argparse.ArgumentParser) -> None:
    """The design options ``--weights --strata --ids --fpc --nest --lonely-psu``, as
    :func:`design_from_args` reads them (R's ``svydesign`` arguments)."""
    parser.add_argument("--weights", required=True, metavar="COL", help=_("sample weights"))
    parser.add_argument("--strata", metavar="COL", help=_("strata"))
    parser.add_argument(
        "--ids", type=columns, metavar="COL[,COL...]", help=_("cluster ids per stage")
    )
    parser.add_argument("--fpc", type=columns, metavar="COL[,COL...]", help=_("fpc per stage"))
    parser.add_argument(
        "--nest", action="store_true", help=_("cluster ids are reused across strata")
    )
    parser.add_argument(
        "--lonely-psu",
        default="fail",
        choices=LONELY_PSU_RULES,
        help=_("variance of a stratum with one PSU, as R's survey.lonely.psu"),
    )


def design_from_args(frame: pd.DataFrame, args: argparse.Namespace) -> Design:
    """The :class:`Design` described by the options of :func:`add_design_arguments`."""
    return Design.from_frame(
        frame,
        weights=args.weights,
        strata=args.strata,
        ids=args.ids,
        fpc=args.fpc,
        nest=args.nest,
        lonely_psu=args.lonely_psu,
    )


def read_bytes(path: str | Path, limit: int = -1) -> bytes:
    """The file's bytes (its first ``limit`` bytes when given); ``ValueError`` naming
    the file when there is none to read."""
    try:
        with Path(path).open("rb") as file:
            return file.read(limit)
    except FileNotFoundError:
        raise ValueError(_("%(path)s: no such file", path=path)) from None
    except IsADirectoryError:
        raise ValueError(_("%(path)s: is a directory, not a CSV file", path=path)) from None
    except OSError as exc:
        raise ValueError(
            _("%(path)s: cannot be read (%(reason)s)", path=path, reason=exc.strerror)
        ) from None


def decoded(path: str | Path, data: bytes) -> str:
    """The text of a CSV file's bytes (:func:`analysis.csv_dialect.decode`)."""
    try:
        return csv_dialect.decode(data)
    except csv_dialect.NotTextError as exc:
        raise ValueError(
            _("%(path)s: not a readable CSV file (%(reason)s)", path=path, reason=exc)
        ) from None


def read_text_csv(path: str | Path) -> pd.DataFrame:
    """A CSV file with every cell as text (empty cells ``""``, spaces after a delimiter
    dropped), in the encodings and with the delimiters spreadsheet programs write
    (:mod:`analysis.csv_dialect`); ``frame.attrs["decimal"]`` is its decimal sign, which
    :func:`numeric_column` and :func:`finite_number` read. ``ValueError`` naming the
    file when it cannot be read."""
    text = decoded(path, read_bytes(path))
    sep = csv_dialect.delimiter(text)
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValueError(
            _("%(path)s: not a readable CSV file (%(reason)s)", path=path, reason=exc)
        ) from None
    frame.attrs["decimal"] = csv_dialect.decimal_sign(sep)
    return frame


def decimal_of(frame: pd.DataFrame) -> str:
    """The decimal sign of the file ``frame`` was read from (``.`` unless it says)."""
    return str(frame.attrs.get("decimal", "."))
