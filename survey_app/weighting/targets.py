"""Reading uploaded target files (CSV or XLSX).

The formats are those of ``python -m analysis weight`` (:mod:`analysis.cli_weight`):

- *long* (margins and calibration totals): columns ``variable, level, target``;
- *cells* (post-stratification targets): one column per cell variable and ``target``.

Columns named ``label`` and ``respondents`` (which the templates of
:func:`survey_app.weighting.console.template_rows` add to help whoever fills them
in) are ignored. This module only turns a file into text cells with their
row numbers; checking them against a wave is :mod:`survey_app.weighting.console`'s
job. Nothing here touches the database.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from survey_app import spreadsheets

LONG_COLUMNS = ("variable", "level", "target")
INFO_COLUMNS = ("label", "respondents")
TARGET = "target"
MAX_ROWS = 20_000
LIMITS = spreadsheets.Limits(
    rows=MAX_ROWS, columns=50, cell_chars=1000, unpacked_bytes=8 * 1024 * 1024
)


class FileFormatError(ValueError):
    """The upload is not a readable CSV or XLSX table; the message says why, and
    ``problems`` lists each problem with its row and column where it has them."""

    def __init__(
        self, message: str, problems: Sequence[spreadsheets.Problem] | None = None
    ) -> None:
        super().__init__(message)
        self.problems = tuple(problems or (spreadsheets.Problem(None, None, message),))


@dataclass(frozen=True)
class Table:
    """An uploaded table: lower-cased header names and rows of text cells.

    Attributes
    ----------
    header : tuple of str
        Column names as written (stripped), in file order.
    rows : tuple of (int, tuple of str)
        Each non-empty data row with its row number in the file (the header is row 1),
        one text cell per header column ("" when empty).
    """

    header: tuple[str, ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]

    def column(self, name: str) -> int | None:
        lowered = [h.lower() for h in self.header]
        return lowered.index(name) if name in lowered else None

    @property
    def is_long(self) -> bool:
        return all(self.column(c) is not None for c in LONG_COLUMNS)


def _cell_text(value: Any) -> str:
    """A cell as text; whole numbers written by a spreadsheet lose their ``.0``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    return str(value).strip()


def read_table(data: bytes, filename: str) -> Table:
    """Read the first sheet of an XLSX workbook, or a CSV file (UTF-8, ``,`` ``;`` or tab),
    within :data:`LIMITS` (:func:`survey_app.spreadsheets.read_sheet`).

    Raises
    ------
    FileFormatError
        Empty file, unreadable workbook, text that is not UTF-8, no header, beyond the
        limits, or control characters; ``problems`` names rows and columns.
    """
    if not data.strip():
        raise FileFormatError(_("The file is empty."))
    try:
        raw = spreadsheets.read_sheet(data, filename, LIMITS)
    except spreadsheets.SpreadsheetError as error:
        raise FileFormatError(str(error), error.problems) from None
    if not raw or not any(_cell_text(c) for c in raw[0]):
        raise FileFormatError(_("The file has no header row."))
    header = tuple(_cell_text(c) for c in raw[0])
    while header and header[-1] == "":
        header = header[:-1]
    rows = []
    for number, values in enumerate(raw[1:], start=2):
        cells = [_cell_text(c) for c in values]
        if not any(cells):
            continue
        cells = (cells + [""] * len(header))[: len(header)]
        rows.append((number, tuple(cells)))
    return Table(header, tuple(rows))
