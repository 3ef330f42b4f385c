"""Reading uploaded target files (CSV or XLSX).

The formats are those of ``python -m analysis weight`` (:mod:`analysis.cli_weight`):

- *long* (margins and calibration totals): columns ``variable, level, target``;
- *cells* (post-stratification targets): one column per cell variable and ``target``.

Columns named ``label`` and ``respondents`` (which the templates of
:func:`survey_app.services.weighting.template_rows` add to help whoever fills them
in) are ignored. This module only turns a file into text cells with their
row numbers; checking them against a wave is :mod:`survey_app.services.weighting`'s
job. Nothing here touches the database.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

LONG_COLUMNS = ("variable", "level", "target")
INFO_COLUMNS = ("label", "respondents")
TARGET = "target"
XLSX_MAGIC = b"PK\x03\x04"
MAX_ROWS = 20_000


class FileFormatError(ValueError):
    """The upload is not a readable CSV or XLSX table; the message says why."""


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
    """Read the first sheet of an XLSX workbook, or a CSV file (UTF-8, ``,`` ``;`` or tab).

    Raises
    ------
    FileFormatError
        Empty file, unreadable workbook, text that is not UTF-8, no header, or more
        than :data:`MAX_ROWS` rows.
    """
    if not data.strip():
        raise FileFormatError(_("The file is empty."))
    name = filename.lower()
    if data.startswith(XLSX_MAGIC) or name.endswith(".xlsx"):
        raw = _read_xlsx(data)
    elif name.endswith(".xls") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileFormatError(
            _("Old Excel files (.xls) are not supported: save the sheet as .xlsx or CSV.")
        )
    else:
        raw = _read_csv(data)
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
    if len(rows) > MAX_ROWS:
        raise FileFormatError(_("The file has more than %(max)s rows.", max=MAX_ROWS))
    return Table(header, tuple(rows))


def _read_xlsx(data: bytes) -> list[Sequence[Any]]:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise FileFormatError(_("The file is not a readable Excel workbook (.xlsx).")) from None
    try:
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        return [tuple(row) for row in itertools.islice(rows, MAX_ROWS + 2)]
    finally:
        workbook.close()


def _read_csv(data: bytes) -> list[Sequence[Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileFormatError(
            _("The file is not UTF-8 text: save it as “CSV UTF-8” or as an Excel workbook.")
        ) from None
    if "\x00" in text:
        raise FileFormatError(_("The file is not a CSV text file."))
    first = text.splitlines()[0] if text.splitlines() else ""
    delimiter = max((",", ";", "\t"), key=first.count)
    try:
        return list(csv.reader(io.StringIO(text), delimiter=delimiter, skipinitialspace=True))
    except csv.Error as exc:
        raise FileFormatError(_("The CSV file cannot be read: %(error)s", error=str(exc))) from None
