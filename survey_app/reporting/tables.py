"""Tables of the dashboard as CSV and XLSX downloads.

CSV is UTF-8 with a byte-order mark (so spreadsheet programs read Vietnamese
correctly), comma-separated, with plain machine numbers (decimal point); XLSX keeps
numbers as numbers, with a one-decimal format on percentage columns. Every cell goes
through :mod:`survey_app.spreadsheets`, so no text can start a formula.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Font

from survey_app import spreadsheets

CSV_MIMETYPE = "text/csv"  # Werkzeug adds "; charset=utf-8" to a text/* type
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Table:
    """A table for download: a title, column headers and rows of plain values."""

    name: str  # file name stem
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]
    percent_columns: frozenset[int] = frozenset()


def to_csv(table: Table) -> bytes:
    return spreadsheets.csv_bytes([table.headers, *table.rows])


def to_xlsx(table: Table) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = spreadsheets.sheet_title(table.title, "Table")
    spreadsheets.append_row(sheet, table.headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in table.rows:
        spreadsheets.append_row(sheet, row)
    for column in table.percent_columns:
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column + 1, max_col=column + 1):
            cell.number_format = "0.0"
    for index, header in enumerate(table.headers, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = max(10, min(40, len(str(header)) + 2))
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
