"""Spreadsheets in and out: safe cells for every download, bounded reading of uploads.

Writing
-------
Every CSV and XLSX the app offers passes its cells through :func:`safe_cell`
(:func:`csv_bytes` and :func:`append_row` do it for the writer). A text cell that
begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (or the full-width
``＝ ＋ － ＠`` some spreadsheet programs also accept) would be read as a formula by
Excel, LibreOffice or Google Sheets; it gets a leading single quote, as the OWASP
"CSV Injection" guidance recommends, so it is shown as text and never evaluated.
Numbers (``int``, ``float``, ``Decimal``) are written as numbers, negative ones
included; dates stay dates. Characters no XLSX file may hold (C0 controls other than
tab, line feed and carriage return, lone surrogates, U+FFFE/U+FFFF) are replaced by
U+FFFD, so data stored before they were refused cannot make a download fail.

Reading
-------
:func:`read_sheet` reads the first sheet of an XLSX workbook or a CSV file within
:class:`Limits` on rows, columns, characters per cell and unpacked workbook size.
Everything that can be checked before the rows are read is checked first: the
unpacked size of the workbook's parts (a zip bomb) and the sheet's declared
``<dimension>`` (a 5 KB file can declare 1,048,576 x 16,384 cells). Rows are then
read lazily (openpyxl's read-only mode, the CSV reader as a stream) and reading stops
at the first row past the limit. Control characters (C0 except tab, line feed and
carriage return; DEL; C1; lone surrogates; U+FFFE/U+FFFF) are refused with the row
and column of each cell. Every refusal is a :class:`SpreadsheetError` listing
:class:`Problem` items in the user's language. CSV files may be UTF-8, UTF-16 with its
BOM or Windows-1258 (:func:`decode_text`); the delimiter is detected (``,`` ``;`` or tab).
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import LazyString, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl.utils import get_column_letter

from analysis import csv_dialect

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
QUOTE = "'"
# Characters an XLSX (XML 1.0) file cannot hold, or that cannot be encoded as UTF-8.
_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Characters refused in uploads: C0 except tab/LF/CR, DEL, C1, surrogates, non-characters.
_REFUSED = csv_dialect.CONTROL
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # old .xls
MAX_PROBLEMS = 50


# ----------------------------------------------------------------------------- writing


def safe_text(text: str) -> str:
    """``text`` with characters no spreadsheet file can hold replaced, and a leading
    quote when it would otherwise start a formula."""
    text = _UNWRITABLE.sub("\ufffd", text)
    return QUOTE + text if text.startswith(FORMULA_TRIGGERS) else text


def safe_cell(value: Any) -> Any:
    """A value as a download cell: numbers, dates and None unchanged, text neutralised.

    ``bool`` is kept (openpyxl writes a boolean cell, CSV ``True``/``False``); any other
    object is written as its text.
    """
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, datetime | date | time):
        return value
    return safe_text(value if isinstance(value, str) else str(value))


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in values]


def csv_bytes(rows: Iterable[Iterable[Any]]) -> bytes:
    """Rows as UTF-8 CSV with a byte-order mark (Excel then reads Vietnamese text
    correctly); None is an empty cell, every cell passes :func:`safe_cell`.

    Lines end with CRLF (RFC 4180). The csv module quotes a field only when it holds
    a character of the line terminator: with a bare ``\n`` terminator a carriage
    return inside a text would go out unquoted, and readers would start a new row
    there, its first cell unprotected.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if v is None else v for v in safe_row(row)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def append_row(sheet: Any, values: Iterable[Any]) -> None:
    """``sheet.append`` with every cell passed through :func:`safe_cell`."""
    sheet.append(safe_row(values))


def sheet_title(text: str, default: str = "Sheet") -> str:
    """A valid worksheet name: no ``\\ / ? * [ ] :``, no control characters, no quote
    at either end, at most 31 characters."""
    cleaned = "".join(c for c in _REFUSED.sub("", text) if c not in "\\/?*[]:")
    return cleaned[:31].strip("' ") or default


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Limits:
    """Bounds on an upload. ``rows`` counts data rows, after ``header_rows``."""

    rows: int
    columns: int
    cell_chars: int
    header_rows: int = 1
    unpacked_bytes: int = 16 * 1024 * 1024

    max_bytes: int | None = None  # besides the app's MAX_CONTENT_LENGTH

    def description(self) -> LazyString:
        """The limits in words, for the upload form (evaluated in the request's locale)."""
        return _l(
            "At most %(size)s MB, %(rows)s data rows, %(columns)s columns and %(chars)s "
            "characters per cell; control characters are refused.",
            size=LazyString(self._megabytes),
            rows=LazyString(_number, self.rows),
            columns=LazyString(_number, self.columns),
            chars=LazyString(_number, self.cell_chars),
        )

    def _megabytes(self) -> str:
        sizes = [current_app.config.get("MAX_CONTENT_LENGTH"), self.max_bytes]
        largest = min(size for size in sizes if size) if any(sizes) else None
        if largest is None:
            return "—"
        return str(format_decimal(round(largest / (1024 * 1024), 1)))


def _number(value: int) -> str:
    return str(format_decimal(value))


@dataclass(frozen=True)
class Problem:
    """One problem of an upload: its sheet row and 1-based column (None: whole file)."""

    row: int | None
    column: int | None
    message: str

    @property
    def cell(self) -> str | None:
        if self.row is None or self.column is None:
            return None
        return f"{get_column_letter(self.column)}{self.row}"

    def __str__(self) -> str:
        if self.cell is not None:
            return _("Cell %(cell)s: %(message)s", cell=self.cell, message=self.message)
        if self.row is not None:
            return _("Row %(row)s: %(message)s", row=self.row, message=self.message)
        return self.message


@dataclass(frozen=True)
class RowError:
    """One problem with the content of an uploaded file (units, targets, paper answers):
    its row in the file (the header is row 1; None: the whole file), the column's name
    (None: the whole row), the message, and the cell (e.g. ``"F7"``) where it is known.

    :class:`Problem` is the reader's own (a cell by row and column number, before any
    column has a meaning); everything after the reading reports a ``RowError``.
    """

    row: int | None
    column: str | None
    message: str
    cell: str | None = None

    def __str__(self) -> str:
        if self.row is None:
            return self.message
        if not self.column:
            return _("Row %(row)s: %(message)s", row=self.row, message=self.message)
        return _(
            "Row %(row)s, column %(column)s: %(message)s",
            row=self.row,
            column=self.column,
            message=self.message,
        )


class SpreadsheetError(ValueError):
    """The upload was refused; ``problems`` says why, by row and column where it can."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


def _refuse(message: str, row: int | None = None, column: int | None = None) -> SpreadsheetError:
    return SpreadsheetError([Problem(row, column, message)])


def is_xlsx(data: bytes, filename: str) -> bool:
    return data.startswith(XLSX_MAGIC) or filename.lower().endswith(".xlsx")


def read_sheet(data: bytes, filename: str, limits: Limits) -> list[list[Any]]:
    """The first sheet of an XLSX workbook, or a CSV file, as rows of cells.

    Row ``i`` of the result is row ``i + 1`` of the sheet (blank rows included, so
    row numbers stay those the user sees). XLSX cells keep their types (numbers,
    dates, text); CSV cells are text. A text cell written by :func:`safe_text` (a
    quote before a formula character) is read back without the quote.

    Raises
    ------
    SpreadsheetError
        Not a readable workbook or UTF-8 text, beyond the limits, or cells holding
        control characters; each problem names its row and column where it has one.
    """
    if data.startswith(OLE_MAGIC) or filename.lower().endswith(".xls"):
        raise _refuse(
            _("Old Excel files (.xls) are not supported: save the sheet as .xlsx or CSV.")
        )
    if is_xlsx(data, filename):
        rows: Generator[Sequence[Any]] = _xlsx_rows(data, limits)
    else:
        rows = _csv_rows(data, limits)
    with closing(rows):  # a refusal mid-way closes the workbook at once
        return _checked(rows, limits)


def _too_many_rows(limits: Limits) -> str:
    return _("The file has more than %(count)s data rows.", count=_number(limits.rows))


def _too_many_columns(limits: Limits) -> str:
    return _("The file has more than %(count)s columns.", count=_number(limits.columns))


def _checked(rows: Iterator[Sequence[Any]], limits: Limits) -> list[list[Any]]:
    """Consume ``rows`` within the limits, collecting every bad cell."""
    out: list[list[Any]] = []
    problems: list[Problem] = []
    last_row = limits.header_rows + limits.rows
    # blank rows past the limit are tolerated (spreadsheets keep formatted empty rows)
    # until this far, then reading stops whatever follows
    hard_stop = last_row + max(1000, limits.rows)
    for number, row in enumerate(rows, start=1):
        cells = list(row)
        while cells and _blank(cells[-1]):
            cells.pop()
        if number > last_row:
            if cells:
                raise _refuse(_too_many_rows(limits), number)
            if number > hard_stop:
                raise _refuse(_too_many_rows(limits), number)
            continue
        if len(cells) > limits.columns:
            raise _refuse(_too_many_columns(limits), number, limits.columns + 1)
        for column, value in enumerate(cells, start=1):
            if not isinstance(value, str):
                continue
            if len(value) > limits.cell_chars:
                problems.append(
                    Problem(
                        number,
                        column,
                        _(
                            "The cell holds %(length)s characters; at most %(count)s are allowed.",
                            length=_number(len(value)),
                            count=_number(limits.cell_chars),
                        ),
                    )
                )
            elif found := _REFUSED.search(value):
                problems.append(
                    Problem(
                        number,
                        column,
                        _(
                            "The cell holds a control character (%(code)s), which is not allowed.",
                            code=f"U+{ord(found.group()):04X}",
                        ),
                    )
                )
            elif value.startswith(QUOTE) and value[1:].startswith(FORMULA_TRIGGERS):
                cells[column - 1] = value[1:]
            if len(problems) >= MAX_PROBLEMS:
                raise SpreadsheetError(problems)
        out.append(cells)
    if problems:
        raise SpreadsheetError(problems)
    while out and not out[-1]:
        out.pop()
    return out


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _unreadable_workbook() -> SpreadsheetError:
    return _refuse(_("The file is not a readable Excel workbook (.xlsx)."))


def _xlsx_rows(data: bytes, limits: Limits) -> Generator[Sequence[Any]]:
    """Rows of the first sheet, after the unpacked size and declared dimension passed."""
    from openpyxl import load_workbook

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _unreadable_workbook() from None
    if unpacked > limits.unpacked_bytes:
        raise _refuse(
            _(
                "The workbook unpacks to more than %(size)s MB: save only the data sheet, "
                "or save it as CSV.",
                size=_number(limits.unpacked_bytes // (1024 * 1024)),
            )
        )
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on a damaged file
        raise _unreadable_workbook() from None
    try:
        if not book.worksheets:
            raise _unreadable_workbook()
        sheet = book.worksheets[0]
        _check_dimension(sheet, limits)
        rows = sheet.iter_rows(max_col=limits.columns + 1, values_only=True)
        try:
            yield from rows
        except SpreadsheetError:
            raise
        except Exception:
            raise _unreadable_workbook() from None
    finally:
        book.close()


def _check_dimension(sheet: Any, limits: Limits) -> None:
    """Refuse a sheet whose declared used range (``<dimension ref=…>``) is too large,
    before a single row is read."""
    max_row, max_column = sheet.max_row, sheet.max_column
    if max_row is None or max_column is None:
        return  # no dimension declared: the row-by-row limits still hold
    declared = _(
        "The sheet declares %(rows)s rows and %(columns)s columns (%(range)s); at most "
        "%(max_rows)s data rows and %(max_columns)s columns are accepted. Delete the "
        "empty rows and columns after the data, or save the sheet as CSV.",
        rows=_number(max_row),
        columns=_number(max_column),
        range=f"A1:{get_column_letter(max_column)}{max_row}",
        max_rows=_number(limits.rows),
        max_columns=_number(limits.columns),
    )
    if max_row > limits.header_rows + limits.rows or max_column > limits.columns:
        raise _refuse(declared)


def read_text(text: str, limits: Limits) -> list[list[str]]:
    """CSV text (already decoded) as rows of cells, as :func:`read_sheet` reads a CSV."""
    rows = _text_rows(text.removeprefix("\ufeff"), limits)
    with closing(rows):
        return _checked(rows, limits)


def decode_text(data: bytes) -> str:
    """The text of an uploaded CSV file: UTF-8, UTF-16 with its BOM or Windows-1258
    (normalised to NFC), as :func:`analysis.csv_dialect.decode` reads every CSV file;
    anything else is refused in the reader's language."""
    try:
        return csv_dialect.decode(data)
    except csv_dialect.NotTextError:
        raise _not_text() from None


def _not_text() -> SpreadsheetError:
    return _refuse(_("The file is not UTF-8 text: save it as “CSV UTF-8” or as an Excel workbook."))


def _csv_rows(data: bytes, limits: Limits) -> Generator[list[str]]:
    yield from _text_rows(decode_text(data), limits)


def _text_rows(text: str, limits: Limits) -> Generator[list[str]]:
    """CSV rows read as a stream; the delimiter (``,`` ``;`` or tab) is the one the
    first line uses most (:func:`analysis.csv_dialect.delimiter`)."""
    delimiter = csv_dialect.delimiter(text)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, skipinitialspace=True)
    for number in itertools.count(1):  # records, as a spreadsheet program numbers rows
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            # a field over csv.field_size_limit() (131,072 characters) or a stray NUL
            raise _refuse(
                _(
                    "A cell is longer than %(count)s characters, or the row is not valid CSV.",
                    count=_number(limits.cell_chars),
                ),
                number,
            ) from None
        yield row
