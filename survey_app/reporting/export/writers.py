"""The export formats: CSV, XLSX (data and codebook sheets) and SPSS ``.sav``."""

from __future__ import annotations

import io
import os
import tempfile
from datetime import datetime

from survey_app import spreadsheets
from survey_app.reporting.export.codebook import codebook_rows
from survey_app.reporting.export.rows import DATETIME, STRING, Microdata, records


def to_csv(data: Microdata) -> bytes:
    """UTF-8 with a byte-order mark (Excel opens Vietnamese text correctly); ISO dates."""
    return spreadsheets.csv_bytes(
        [
            [v.name for v in data.variables],
            *(
                [v.isoformat(sep=" ") if isinstance(v, datetime) else v for v in record]
                for record in records(data)
            ),
        ]
    )


def codebook_csv(data: Microdata, filename: str | None = None) -> bytes:
    return spreadsheets.csv_bytes(codebook_rows(data, filename))


def workbook(data: Microdata | None, codebook: Microdata, filename: str | None = None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    if data is not None:
        sheet.title = "data"
        spreadsheets.append_row(sheet, [v.name for v in data.variables])
        for record in records(data):
            spreadsheets.append_row(sheet, record)
        for column, variable in enumerate(data.variables, start=1):
            if variable.type == DATETIME:
                for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
                    cell.number_format = "yyyy-mm-dd hh:mm:ss"
        sheet.freeze_panes = "A2"
        sheet = book.create_sheet("codebook")
    else:
        sheet.title = "codebook"
    for row in codebook_rows(codebook, filename):
        spreadsheets.append_row(sheet, row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_xlsx(data: Microdata) -> bytes:
    return workbook(data, data, f"{data.wave.code}.xlsx")


def codebook_xlsx(data: Microdata, filename: str | None = None) -> bytes:
    return workbook(None, data, filename)


def to_sav(data: Microdata) -> bytes:
    """SPSS file with variable labels, value labels and measurement levels (pyreadstat)."""
    import pyreadstat

    frame = data.frame.copy()
    for v in data.variables:
        if v.type == STRING:  # the same neutralised text as in the CSV and XLSX files
            frame[v.name] = frame[v.name].map(
                lambda x: "" if x is None else spreadsheets.safe_text(str(x))
            )
    handle, path = tempfile.mkstemp(suffix=".sav")
    os.close(handle)
    try:
        pyreadstat.write_sav(
            frame,
            path,
            column_labels=[spreadsheets.safe_text(v.label) for v in data.variables],
            variable_value_labels={
                v.name: {
                    float(k): spreadsheets.safe_text(label) for k, label in v.value_labels.items()
                }
                for v in data.variables
                if v.value_labels
            },
            variable_measure={v.name: v.measure for v in data.variables},
        )
        with open(path, "rb") as handle_in:
            return handle_in.read()
    finally:
        os.unlink(path)
